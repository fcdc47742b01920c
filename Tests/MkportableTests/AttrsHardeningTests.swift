import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Issue 22, defects 4, 12 and 14, and their siblings: what the builder
/// and pack read is bounded and compared as bytes, and a symlink object is
/// judged by where it leads, not by how it is spelled. Each case asserts
/// the exit status, the one line and what is left on disk.
final class AttrsHardeningTests: XCTestCase {
    var fx: BuilderFixture!

    override func setUpWithError() throws { fx = try BuilderFixture(prefix: "attrs-harden") }
    override func tearDown() {
        fx?.remove()
        fx = nil
    }

    /// Defect 4: a 60 MB attributes file holding a list of 30 million
    /// zeros, under a 1 GB address-space limit, crashed allocating 822 MB.
    /// Now the parser holds at most 4,194,304 values and says so.
    func testAHugeListFailsWithTheLimitNotACrash() throws {
        let zeros = 30_000_000
        var text = Array(#"{"pname": "demo", "junk": ["#.utf8)
        text.reserveCapacity(zeros * 2 + 64)
        for i in 0..<zeros { text.append(UInt8(ascii: "0")); if i + 1 < zeros { text.append(UInt8(ascii: ",")) } }
        text += Array("]}\n".utf8)
        try Posix.writeFile(fx.attrsFile, text)
        let bin = try MkportableBinary.path()
        let r = try runLimited("/bin/sh", ["-c", "ulimit -v 1000000; exec \"$0\" build --attrs \"$1\" --out \"$2\"",
                                           bin, fx.attrsFile.string, fx.out.string],
                               environment: fx.environment(), timeout: 300)
        assertCleanFailure(r, ["more than 4194304 values", "the most this reader holds in memory"],
                           directories: [fx.out], label: "30 million zeros under ulimit -v 1000000")
        XCTAssertTrue(r.stderrText.contains("1:"), "the message names where: \(r.stderrText)")
    }

    /// Defect 12: `demo\u{600}.raw` ends in the bytes ".raw", but as Swift
    /// Characters the mark and the '.' are one, so pack --verity refused
    /// it. Bytes now: the image and its sidecars are written.
    func testRawSuffixIsCheckedAsBytes() throws {
        let src = fx.tmp.sub("src")
        try Posix.mkdir(src)
        try Posix.writeFile(src.appending("f"), Array("data\n".utf8))
        try Posix.mkdir(fx.out)
        let image = fx.out.string + "/demo\u{600}.raw"
        let r = try fx.run(["pack", "--verity", src.string, image])
        XCTAssertEqual(r.status, 0, r.summary)
        for name in ["demo\u{600}.raw", "demo\u{600}.verity", "demo\u{600}.roothash"] {
            XCTAssertNotNil(try Posix.lstatIfExists(fx.out.appending(RawPath(name))), "\(name) missing: \(imageLikeFiles(in: fx.out))")
        }
        let listed = try Shell.check("unsquashfs", ["-lc", image]).stdoutText
        XCTAssertTrue(listed.contains("squashfs-root/f"), listed)

        // A name whose last bytes are not ".raw" is still refused, in one line.
        let bad = fx.out.string + "/demo.ra\u{301}w"
        let b = try fx.run(["pack", "--verity", src.string, bad])
        assertCleanFailure(b, prefix: "mkportable pack: error: ", ["verity sidecars need an image named NAME.raw"], images: [RawPath(bad)], label: "not .raw")
    }

    /// Defect 12 in the builder: version "1.0\u{D4E}" passed the attribute
    /// checks and failed late with pack's advice to rename the image. It is
    /// refused at the attribute check now, as Nix refuses it (its
    /// derivation name may not hold it), and nothing is written.
    func testVersionIsCheckedAsBytesAtTheAttributeCheck() throws {
        for (version, shown) in [("1.0\u{D4E}", "'\u{D4E}' (U+0D4E)"), ("1.0\u{600}", "the invisible format character U+0600"),
                                 ("1~rc1", "'~'"), ("é", "'é' (U+00E9)")] {
            let r = try fx.build(["version": BuilderFixture.js(version)])
            let fragments = version.contains("\u{600}")
                ? ["attribute version: \"\(version)\" contains \(shown); the image is named ${pname}_${version}.raw"]
                : ["attribute version: \"\(version)\" contains \(shown), which Nix does not allow in the derivation name ${pname}-img-${version}; use letters, digits and + - . _ ? ="]
            assertCleanFailure(r, fragments, directories: [fx.out], label: "version \(version)")
            XCTAssertFalse(r.stderrText.contains("rename the image"), r.stderrText)
        }
        let ok = try fx.build(["version": #""1.0+git.2_b?x=y""#])
        XCTAssertEqual(ok.status, 0, ok.summary)
        XCTAssertNotNil(try Posix.lstatIfExists(fx.image("demo_1.0+git.2_b?x=y.raw")))
    }

    /// Defect 14: a symlink object into a store path outside the closure
    /// was accepted when spelled `STORE//H-x/…`, `STORE/./H-x/…`,
    /// relatively from the link's directory, or through another of the
    /// image's links. Every spelling leads to the same place and is
    /// refused alike; inside the closure, every spelling is accepted.
    func testSymlinkObjectsAreJudgedByWhereTheyLead() throws {
        let other = fx.storePath("other", seed: 70)
        try Posix.mkdir(RawPath(other))
        try Posix.writeFile(RawPath(other + "/secret"), Array("not in the closure\n".utf8))
        let base = (other as NSString).lastPathComponent
        let store = fx.store
        let depth = store.split(separator: "/").count
        let up = String(repeating: "../", count: depth + 1)  // from /bin/x, past the root (the kernel stays there)
        let spellings: [(String, [(String, String)])] = [
            ("double slash", [("\(store)//\(base)/secret", "/bin/x")]),
            ("dot", [("\(store)/./\(base)/secret", "/bin/x")]),
            ("relative", [("..\(store)/\(base)/secret", "/bin/x")]),
            ("relative past the root", [(up + String(store.dropFirst()) + "/\(base)/secret", "/bin/x")]),
            ("through another link", [(store, "/s"), ("/s/\(base)/secret", "/bin/x")]),
            ("relative through another link", [(store, "/s"), ("../s/./\(base)/secret", "/bin/x")]),
        ]
        for (label, links) in spellings {
            let json = "[" + links.map { "{\"object\": \(BuilderFixture.js($0.0)), \"symlink\": \(BuilderFixture.js($0.1))}" }.joined(separator: ", ") + "]"
            let r = try fx.build(["symlinks": json])
            let at = links.count - 1
            assertCleanFailure(r, ["attribute symlinks[\(at)].object: \(BuilderFixture.js(links[at].0)) leads outside the closure: it leads into \"\(other)\", which is not in the closure",
                                   "point the link at a path inside a store path of the closure"],
                               directories: [fx.out], label: label)
        }
        let pkgName = (fx.pkg as NSString).lastPathComponent
        for (label, object) in [("double slash", "\(store)//\(pkgName)/bin/tool"), ("relative", "..\(store)/\(pkgName)/./bin/tool")] {
            let r = try fx.build(["symlinks": "[{\"object\": \(BuilderFixture.js(object)), \"symlink\": \"/bin/x\"}]"])
            XCTAssertEqual(r.status, 0, "\(label): \(r.summary)")
            let listed = try Shell.check("unsquashfs", ["-lln", fx.image().string, "bin/x"]).stdoutText
            XCTAssertTrue(listed.contains("-> \(object)"), "\(label): \(listed)")
            Posix.removeTree(fx.out)
        }
    }
}
