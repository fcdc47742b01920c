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
