import Foundation
import TestSupport
import XCTest

/// `inspect` and `diff` on erofs images (issue 20's reader): the same
/// entries as for a squashfs image of the same tree, `sameContent` across
/// the two file systems, erofs in a DDI, and one-line refusals of damaged
/// and unsupported erofs images.
final class ErofsInspectTests: PackTestCase {
    override class var temporaryPrefix: String { "erofs-inspect" }

    /// InspectTests' tree, changed by `edit`.
    func makeSource(_ name: RawPath = "src", _ edit: (TreeBuilder) throws -> Void = { _ in }) throws -> RawPath {
        let t = try TreeBuilder(root: tmp.sub(name))
        try Posix.chmod(t.root, 0o755)
        try InspectTests.fill(t)
        try edit(t)
        return t.root
    }

    func inspect(_ image: RawPath) throws -> [String: Any] {
        let r = try runLimited(try MkportableBinary.path(), ["inspect", "--json", image.string])
        XCTAssert(r.succeeded, r.summary)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.summary)
    }

    /// The entries as JSON text, one per line, without `mtime` when asked.
    static func entries(_ top: [String: Any], times: Bool = true) throws -> [String] {
        try XCTUnwrap(top["entries"] as? [[String: Any]]).map { e in
            var e = e
            if !times { e["mtime"] = nil }
            return String(decoding: try JSONSerialization.data(withJSONObject: e, options: [.sortedKeys]), as: UTF8.self)
        }
    }

    func testInspectOfErofsListsWhatSquashfsOfTheSameTreeLists() throws {
        let source = try makeSource()
        let squashfs = tmp.sub("a.raw"), erofs = tmp.sub("b.raw")
        XCTAssert(try pack([source.string, squashfs.string]).succeeded)
        let made = try pack(["--filesystem", "erofs", "--comp", "lz4hc", source.string, erofs.string])
        XCTAssert(made.succeeded, made.summary)
        let a = try inspect(squashfs), b = try inspect(erofs)
        XCTAssertEqual(b["filesystem"] as? String, "erofs")
        XCTAssertEqual((b["settings"] as? [String: Any])?["blockSize"] as? Int, 4096)
        XCTAssertEqual(try Self.entries(b), try Self.entries(a))
        let listed = try Self.entries(a).count
        XCTAssertEqual(listed, try Manifest.scan(directory: source).paths.count)
        guard let mkfs = ReferenceTools.path("mkfs.erofs") else { return }
        for options in [["-zlzma", "-Eall-fragments,dedupe"], ["-zzstd", "-C65536", "-Eztailpacking"], ["-zdeflate"]] {
            let image = tmp.sub(RawPath("mkfs-\(options[0]).raw"))
            try Shell.check(mkfs, ["--quiet", "-T0", "--all-root"] + options + [image.string, source.string])
            XCTAssertEqual(try Self.entries(try inspect(image), times: false), try Self.entries(a, times: false), "mkfs.erofs \(options)")
        }
    }

    func testDiffOfSquashfsAndErofsOfTheSameTreeSaysSameContent() throws {
        let source = try makeSource()
        let squashfs = tmp.sub("a.raw"), erofs = tmp.sub("b.raw"), changed = tmp.sub("c.raw")
        XCTAssert(try pack(["--comp", "zstd", source.string, squashfs.string]).succeeded)
        XCTAssert(try pack(["--filesystem", "erofs", "--comp", "lzma", source.string, erofs.string]).succeeded)
        let other = try makeSource("src2") { t in
            var text = TestData.text(140_000, seed: 2)
            text[100_000] ^= 1
            _ = try t.file("nix/store/aaa-demo/share/text", text)
        }
        XCTAssert(try pack(["--filesystem", "erofs", other.string, changed.string]).succeeded)
        let same = try runLimited(try MkportableBinary.path(), ["diff", "--json", squashfs.string, erofs.string])
        XCTAssertEqual(same.status, 1, same.summary)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: same.stdout) as? [String: Any])
        XCTAssertEqual(json["sameContent"] as? Bool, true, same.summary)
        let differ = try runLimited(try MkportableBinary.path(), ["diff", "--json", erofs.string, changed.string])
        XCTAssertEqual(differ.status, 1, differ.summary)
        let d = try XCTUnwrap(try JSONSerialization.jsonObject(with: differ.stdout) as? [String: Any])
        XCTAssertEqual(d["sameContent"] as? Bool, false)
        let differences = try XCTUnwrap(d["differences"] as? [[String: Any]])
        XCTAssertEqual(differences.map { "\($0["path"]!):\($0["kind"]!)" }, ["/nix/store/aaa-demo/share/text:content"])
        XCTAssertEqual(differences.first?["offset"] as? Int, 100_000)
        let itself = try runLimited(try MkportableBinary.path(), ["diff", erofs.string, erofs.string])
        XCTAssertEqual(itself.status, 0, itself.summary)
    }

    /// Two erofs images of one tree made to differ in exactly one way
    /// (mkfs.erofs's time, its compressor): each difference is classified,
    /// and the first differing byte after the superblock is named.
    func testErofsEncodingDifferencesAreClassified() throws {
        guard let mkfs = ReferenceTools.path("mkfs.erofs") else { throw XCTSkip("mkfs.erofs 1.9.3 is not at hand") }
        let source = try makeSource()
        func make(_ name: String, _ options: [String]) throws -> RawPath {
            let image = tmp.sub(RawPath(name))
            try Shell.check(mkfs, ["--quiet", "--all-root", "-Uclear"] + options + [image.string, source.string])
            return image
        }
        let a = try make("a.raw", ["-T0", "-zlz4hc"]), time = try make("t.raw", ["-T7", "-zlz4hc"])
        let lzma = try make("l.raw", ["-T0", "-zlzma"])
        func encoding(_ x: RawPath, _ y: RawPath) throws -> (Set<String>, [String: Any]) {
            let r = try runLimited(try MkportableBinary.path(), ["diff", "--json", x.string, y.string])
            XCTAssertEqual(r.status, 1, r.summary)
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
            XCTAssertEqual(json["sameContent"] as? Bool, true, r.summary)
            return (Set((json["encoding"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }), json)
        }
        let (byTime, timeJSON) = try encoding(a, time)
        XCTAssertEqual(byTime, ["timestamps"])
        XCTAssertEqual((timeJSON["firstDifference"] as? [String: Any])?["a"] as? String, "the superblock's checksum field")
        let (byCompressor, _) = try encoding(a, lzma)
        XCTAssert(byCompressor.isSuperset(of: ["compressor", "flags", "size"]), "\(byCompressor)")
        let changed = try makeSource("src2") { t in _ = try t.file("nix/store/bbb-lib/empty", "now one line\n") }
        let c = tmp.sub("c.raw")
        try Shell.check(mkfs, ["--quiet", "--all-root", "-Uclear", "-T0", "-zlz4hc", c.string, changed.string])
        let r = try runLimited(try MkportableBinary.path(), ["diff", "--json", a.string, c.string])
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.summary)
        let after = try XCTUnwrap(json["firstDifferenceAfterSuperblock"] as? [String: Any], r.summary)
        // The file's new inline data moves the inodes after it, so the
        // first change after the superblock is a directory entry's nid or
        // an inode; either way it is named by path.
        let named = after["a"] as? String ?? ""
        XCTAssert(named.contains("the directory /") || named.contains("inode of /"), "\(after)")
    }

    func testInspectOfAnErofsDDIReadsItsRootPartition() throws {
        let source = try makeSource()
        let image = tmp.sub("demo_1.0.raw")
        let made = try pack(["--filesystem", "erofs", "--ddi", source.string, image.string])
        XCTAssert(made.succeeded, made.summary)
        let top = try inspect(image)
        XCTAssertEqual(top["filesystem"] as? String, "erofs")
        XCTAssertEqual((top["container"] as? [String: Any])?["type"] as? String, "ddi")
        XCTAssertEqual((top["verity"] as? [String: Any])?["status"] as? String, "ok")
        XCTAssertEqual((top["osRelease"] as? [String: Any])?["ID"] as? String, "nixos")
        XCTAssertEqual(try Self.entries(top).count, try Manifest.scan(directory: source).paths.count)
    }

    /// A damaged image and one with a feature this reader does not know:
    /// exit status 1 and one line naming what and where.
    func testDamagedAndUnsupportedErofsImagesAreRefusedOnOneLine() throws {
        let source = try makeSource()
        let image = tmp.sub("x.raw")
        XCTAssert(try pack(["--filesystem", "erofs", source.string, image.string]).succeeded)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: image.string)))
        let cases: [(String, (inout [UInt8]) -> Void, String)] = [
            ("unknown", { $0[1024 + 80 + 1] |= 0x80 }, "unsupported erofs image: superblock: unknown incompatible features 0x8000"),
            ("blocksize", { $0[1024 + 12] = 30 }, "damaged erofs image: superblock: blkszbits 30"),
            ("truncated", { $0.removeLast($0.count / 2) }, "damaged erofs image: superblock:"),
        ]
        for (name, damage, expected) in cases {
            var copy = bytes
            damage(&copy)
            let path = tmp.sub(RawPath(name + ".raw"))
            try Data(copy).write(to: URL(fileURLWithPath: path.string))
            let r = try runLimited(try MkportableBinary.path(), ["inspect", path.string])
            XCTAssertEqual(r.status, 1, r.summary)
            XCTAssert(r.stderrText.contains(expected), "\(name): \(r.stderrText)")
            XCTAssertEqual(r.stderrText.filter { $0 == "\n" }.count, 1, r.stderrText)
        }
        bytes.removeAll()
    }
}
