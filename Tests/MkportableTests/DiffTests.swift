import Foundation
import XCTest

/// `mkportable diff`: every kind of tree change is named by path; the same
/// tree by another compressor or tool is `sameContent`; each encoding
/// classification is shown on images made to differ in exactly that way;
/// exit status as diff(1).
final class DiffTests: PackTestCase {
    override class var temporaryPrefix: String { "diff" }

    func makeTree(_ name: RawPath, _ edit: (TreeBuilder) throws -> Void = { _ in }) throws -> RawPath {
        let t = try TreeBuilder(root: tmp.sub(name))
        try Posix.chmod(t.root, 0o755)
        _ = try t.file("etc/os-release", "ID=nixos\n")
        _ = try t.file("bin/exe", TestData.machineCode(200_000, seed: 7), mode: 0o755)
        _ = try t.file("data/random", TestData.random(200_000, seed: 8))
        _ = try t.file("data/text", TestData.text(90_000, seed: 9))
        _ = try t.file("data/small", "small\n")
        _ = try t.symlink("bin/sh", to: "exe")
        _ = try t.charDevice("dev/null", major: 1, minor: 3)
        _ = try t.file("gone", "removed in B\n")
        _ = try t.file("kind", "a file in A\n")
        try edit(t)
        return t.root
    }

    func image(_ source: RawPath, _ name: String, _ options: [String] = []) throws -> RawPath {
        let out = tmp.sub(RawPath(name))
        let r = try pack(["--block-size", "64K"] + options + [source.string, out.string])
        XCTAssert(r.succeeded, r.summary)
        return out
    }

    func mksquashfs(_ source: RawPath, _ name: String, _ options: [String] = []) throws -> RawPath {
        let out = tmp.sub(RawPath(name))
        try Shell.check("mksquashfs", [source.string, out.string, "-noappend", "-quiet", "-no-progress", "-mkfs-time", "0", "-all-time", "0"] + options)
        return out
    }

    /// `diff --json A B`: the exit status and the parsed object.
    func diff(_ a: RawPath, _ b: RawPath) throws -> (status: Int32, json: [String: Any]) {
        let r = try runLimited(try MkportableBinary.path(), ["diff", "--json", a.string, b.string])
        XCTAssert(r.status == 0 || r.status == 1, r.summary)
        return (r.status, try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.summary))
    }

    static func kinds(_ json: [String: Any], _ key: String) -> [String] {
        (json[key] as? [[String: Any]] ?? []).map { ($0["path"] as? String ?? "") + ":" + ($0["kind"] as? String ?? "") }
    }

    static func encodingKinds(_ json: [String: Any]) -> Set<String> {
        Set((json["encoding"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String })
    }

    func testEveryKindOfTreeChangeIsNamedByPath() throws {
        let a = try image(try makeTree("a"), "a.raw")
        let b = try image(try makeTree("b") { t in
            var text = TestData.text(90_000, seed: 9)
            text[70_000] ^= 0x20
            _ = try t.file("data/text", text)
            try Posix.chmod(t.full("etc/os-release"), 0o600)
            try Posix.unlink(t.full("bin/sh"))
            _ = try t.symlink("bin/sh", to: "other")
            try Posix.unlink(t.full("gone"))
            _ = try t.file("new", "added in B\n")
            try Posix.unlink(t.full("kind"))
            _ = try t.dir("kind")
            _ = try t.file("data/small", "small, and longer\n")
            try Posix.unlink(t.full("dev/null"))
            _ = try t.charDevice("dev/null", major: 1, minor: 5)
        }, "b.raw")
        let (status, json) = try diff(a, b)
        XCTAssertEqual(status, 1)
        XCTAssertEqual(json["identical"] as? Bool, false)
        XCTAssertEqual(json["sameContent"] as? Bool, false)
        XCTAssertEqual(Self.kinds(json, "differences"), [
            "/bin/sh:target", "/data/small:size", "/data/text:content", "/dev/null:device", "/etc/os-release:mode",
            "/gone:removed", "/kind:type", "/new:added",
        ])
        let content = (json["differences"] as? [[String: Any]])?.first { $0["kind"] as? String == "content" }
        XCTAssertEqual(content?["offset"] as? Int, 70_000, "the first differing byte inside the file")
    }

    /// Another block size: the files are compared as streams, and the
    /// first differing byte is still found.
    func testContentIsComparedAcrossBlockSizes() throws {
        let a = try image(try makeTree("a"), "a.raw")
        let b = try image(try makeTree("b") { t in
            var random = TestData.random(200_000, seed: 8)
            random[150_001] ^= 4
            _ = try t.file("data/random", random)
        }, "b.raw", ["--block-size", "128K"])
        let (status, json) = try diff(a, b)
        XCTAssertEqual(status, 1)
        XCTAssertEqual(Self.kinds(json, "differences"), ["/data/random:content"])
        XCTAssertEqual((json["differences"] as? [[String: Any]])?.first?["offset"] as? Int, 150_001)
        XCTAssert(Self.encodingKinds(json).contains("blockSize"), "\(json)")
    }

    func testOwnersAreCompared() throws {
        let source = try makeTree("a")
        let a = try mksquashfs(source, "a.raw")
        let b = try mksquashfs(source, "b.raw", ["-force-uid", "7"])
        let (status, json) = try diff(a, b)
        XCTAssertEqual(status, 1)
        XCTAssert(Self.kinds(json, "differences").contains("/data/text:owner"), "\(json)")
        XCTAssert(Self.kinds(json, "differences").allSatisfy { $0.hasSuffix(":owner") }, "\(json)")
    }

    func testTheSameTreeByAnotherCompressorOrToolIsSameContent() throws {
        let source = try makeTree("a")
        let mine = try image(source, "a.raw")
        var others = [try image(source, "zstd.raw", ["--comp", "zstd"]), try mksquashfs(source, "mksquashfs.raw", ["-comp", "gzip"])]
        if let gen = Shell.which("gensquashfs") {
            let out = tmp.sub("gensquashfs.raw")
            try Shell.check(gen, ["--pack-dir", source.string, "-c", "lzo", "-f", "-q", out.string])
            others.append(out)
        }
        for other in others {
            let (status, json) = try diff(mine, other)
            XCTAssertEqual(status, 1, other.string)
            XCTAssertEqual(json["sameContent"] as? Bool, true, "\(other.string): \(json)")
            XCTAssertEqual(Self.kinds(json, "differences"), [], other.string)
            XCTAssert(Self.encodingKinds(json).contains("compressor"), "\(other.string): \(json)")
        }
    }

    func testIdenticalBytesExitZeroAndTroubleExitsTwo() throws {
        let a = try image(try makeTree("a"), "a.raw")
        let b = try image(try makeTree("b"), "b.raw")
        let (status, json) = try diff(a, b)
        XCTAssertEqual(status, 0)
        XCTAssertEqual(json["identical"] as? Bool, true)
        let missing = try runLimited(try MkportableBinary.path(), ["diff", a.string, tmp.sub("none.raw").string])
        XCTAssertEqual(missing.status, 2, missing.summary)
        XCTAssert(missing.stderrText.hasPrefix("mkportable diff: error: "), missing.summary)
        let usage = try runLimited(try MkportableBinary.path(), ["diff", a.string])
        XCTAssertEqual(usage.status, 2, usage.summary)
    }

    /// Each encoding difference on its own: (kind, how A and B are made).
    func testEachEncodingDifferenceIsClassified() throws {
        let source = try makeTree("a")
        let sortFile = tmp.sub("sort")
        try Data("data/random 10\nbin/exe -10\n".utf8).write(to: URL(fileURLWithPath: sortFile.string))
        let cases: [(String, () throws -> (RawPath, RawPath))] = [
            ("compressor", { (try self.image(source, "c1.raw", ["--comp", "zstd"]), try self.image(source, "c2.raw", ["--comp", "gzip"])) }),
            ("blockSize", { (try self.image(source, "b1.raw"), try self.image(source, "b2.raw", ["--block-size", "128K"])) }),
            ("timestamps", { (try self.image(source, "t1.raw"), try self.image(source, "t2.raw", ["--mtime", "1000"])) }),
            // The same settings and options block, other compressed bytes:
            // what another release of the compression library gives.
            ("compressedBytes", { (try self.image(source, "x1.raw"), try self.image(source, "x2.raw", ["--comp", "xz -Xbcj x86"])) }),
            ("dataOrder", { (try self.mksquashfs(source, "o1.raw"), try self.mksquashfs(source, "o2.raw", ["-sort", sortFile.string])) }),
            ("fragments", { (try self.mksquashfs(source, "f1.raw"), try self.mksquashfs(source, "f2.raw", ["-no-fragments"])) }),
            ("metadata", { (try self.mksquashfs(source, "m1.raw"), try self.mksquashfs(source, "m2.raw", ["-noI"])) }),
        ]
        for (kind, make) in cases {
            let (a, b) = try make()
            let (status, json) = try diff(a, b)
            XCTAssertEqual(status, 1, kind)
            XCTAssertEqual(json["sameContent"] as? Bool, true, "\(kind): \(json)")
            let found = Self.encodingKinds(json)
            XCTAssert(found.contains(kind), "\(kind) not found in \(found)")
            if kind != "compressor" { XCTAssertFalse(found.contains("compressor"), "\(kind): \(found)") }
            if kind != "compressedBytes" { XCTAssertFalse(found.contains("compressedBytes"), "\(kind): \(found)") }
            if kind != "timestamps" { XCTAssertFalse(found.contains("timestamps"), "\(kind): \(found)") }
            if kind != "blockSize" { XCTAssertFalse(found.contains("blockSize"), "\(kind): \(found)") }
        }
    }

    func testTheFirstDifferingByteIsNamedInTheFormatsTerms() throws {
        // Incompressible data is stored raw: one byte changed in its third
        // 64 KiB block changes only that block.
        let a = try image(try makeTree("a"), "a.raw")
        let b = try image(try makeTree("b") { t in
            var random = TestData.random(200_000, seed: 8)
            random[140_000] ^= 1
            _ = try t.file("data/random", random)
        }, "b.raw")
        let (_, json) = try diff(a, b)
        let first = try XCTUnwrap(json["firstDifference"] as? [String: Any])
        XCTAssert((first["a"] as? String ?? "").hasPrefix("data block 2 of /data/random"), "\(first)")
        // A mode: the inode table's block holding that inode.
        let c = try image(try makeTree("c") { t in try Posix.chmod(t.full("data/small"), 0o600) }, "c.raw")
        let (_, modeJSON) = try diff(a, c)
        let where_ = (modeJSON["firstDifferenceAfterSuperblock"] as? [String: Any] ?? modeJSON["firstDifference"] as? [String: Any])?["a"] as? String ?? ""
        XCTAssert(where_.hasPrefix("the inode table, metadata block at byte"), where_)
        XCTAssert(where_.contains("/data/small"), where_)
    }
}
