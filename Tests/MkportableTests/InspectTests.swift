import Foundation
import TestSupport
import XCTest

/// `mkportable inspect --json` against unsquashfs and the source tree: for
/// images by every writer at hand (mkportable, mksquashfs 4.5.1, mksquashfs
/// 4.7.5 from the reference tools (Tests/TestSupport/ReferenceTools.swift), gensquashfs) and every compressor, the entries
/// must be exactly the source tree's, with each file's sha256.
final class InspectTests: PackTestCase {
    override class var temporaryPrefix: String { "inspect" }

    static let compressors = ["gzip", "xz", "zstd", "lz4", "lzo"]

    /// A tree with every entry type, files of zero, one and several blocks
    /// (128 KiB blocks for the mksquashfs images), a hole, odd modes.
    func makeSource() throws -> RawPath {
        let t = try TreeBuilder(root: tmp.sub("src"))
        try Self.fill(t)
        return t.root
    }

    /// The source's entries (the erofs tests use it too).
    static func fill(_ t: TreeBuilder) throws {
        _ = try t.dir("etc/systemd/system")
        _ = try t.file("etc/os-release", "ID=nixos\nPORTABLE_PREFIXES=demo\nPRETTY_NAME=\"Nix \\\"OS\\\"\"\n")
        _ = try t.file("etc/systemd/system/demo.service", "[Service]\nExecStart=/bin/true\n")
        _ = try t.file("etc/systemd/system/demo-helper.socket", "[Socket]\n")
        _ = try t.file("etc/systemd/system/other.service", "[Service]\n")
        _ = try t.file("nix/store/aaa-demo/bin/demo", TestData.machineCode(300_000, seed: 1), mode: 0o555)
        _ = try t.file("nix/store/aaa-demo/share/text", TestData.text(140_000, seed: 2))
        _ = try t.file("nix/store/aaa-demo/share/random", TestData.random(70_000, seed: 3), mode: 0o600)
        _ = try t.file("nix/store/bbb-lib/empty", [UInt8]())
        _ = try t.sparseFile("nix/store/bbb-lib/sparse", size: 600_000, chunks: [(offset: 300_000, bytes: Array("x".utf8))])
        _ = try t.symlink("bin/sh", to: "/nix/store/aaa-demo/bin/demo")
        _ = try t.fifo("run/fifo")
        _ = try t.charDevice("dev/null", major: 1, minor: 3)
        _ = try t.blockDevice("dev/big", major: 259, minor: 70000)
        _ = try t.dir("setgid", mode: 0o2775)
    }

    /// The writers at hand, each as (name, arguments to make IMAGE from
    /// SOURCE with COMPRESSOR).
    static func writers() -> [(String, (String, String, String) -> (String, [String]))] {
        var w: [(String, (String, String, String) -> (String, [String]))] = []
        if let mk = try? MkportableBinary.path() {
            w.append(("mkportable", { src, img, comp in (mk, ["pack", "--comp", comp, src, img]) }))
        }
        let tools: [(String, String?)] = [("mksquashfs 4.5.1", "/usr/bin/mksquashfs"), ("mksquashfs 4.7.5", ReferenceTools.path("mksquashfs"))]
        for case let (name, path?) in tools where FileManager.default.isExecutableFile(atPath: path) {
            w.append((name, { src, img, comp in (path, [src, img, "-comp", comp, "-noappend", "-quiet", "-no-progress"]) }))
        }
        if let gen = Shell.which("gensquashfs") {
            w.append(("gensquashfs", { src, img, comp in (gen, ["--pack-dir", src, "-c", comp, "-f", "-q", img]) }))
        }
        return w
    }

    func testInspectListsExactlyTheSourceTreeForEveryWriterAndCompressor() throws {
        let source = try makeSource()
        let expected = try Manifest.scan(directory: source)
        let writers = Self.writers()
        XCTAssertGreaterThanOrEqual(writers.count, 3, "mkportable, mksquashfs and gensquashfs must all be at hand")
        for (name, command) in writers {
            for comp in Self.compressors {
                let image = tmp.sub(RawPath("\(name.replacingOccurrences(of: " ", with: "-"))-\(comp).raw"))
                let (tool, args) = command(source.string, image.string, comp)
                let made = try runLimited(tool, args)
                XCTAssert(made.succeeded, made.summary)
                let listed = try inspectJSON(image)
                // squashfs-tools (4.5.1 and 4.7.5) cannot read gensquashfs
                // 1.2.0's lz4 images ("failed to read id table block");
                // squashfs-tools-ng's own reader is the independent one there.
                let reader: ImageReader = name == "gensquashfs" && comp == "lz4" ? .sqfs2tar : .unsquashfsPseudo
                let unsquashfs = try reader.read(image: image, scratch: tmp.path).manifest
                let what = "\(name), \(comp)"
                XCTAssertEqual(listed.keys.sorted(), expected.paths, "\(what): paths differ from the source's")
                XCTAssertEqual(listed.keys.sorted(), unsquashfs.paths, "\(what): paths differ from unsquashfs's")
                for (path, entry) in listed {
                    compare(entry, with: unsquashfs[path], what: "\(what) \(path) vs unsquashfs", owner: true)
                    compare(entry, with: expected[path], what: "\(what) \(path) vs the source", owner: false)
                }
            }
        }
    }

    /// Parses `inspect --json IMAGE` into manifest entries by relative path.
    func inspectJSON(_ image: RawPath) throws -> [RawPath: ManifestEntry] {
        let r = try runLimited(try MkportableBinary.path(), ["inspect", "--json", image.string])
        XCTAssert(r.succeeded, r.summary)
        let top = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
        XCTAssertEqual(top["filesystem"] as? String, "squashfs")
        var out: [RawPath: ManifestEntry] = [:]
        for case let e as [String: Any] in try XCTUnwrap(top["entries"] as? [Any]) {
            let path = try XCTUnwrap(e["path"] as? String)
            XCTAssertNil(out[RawPath(String(path.dropFirst()))], "\(path) listed twice")
            out[RawPath(String(path.dropFirst()))] = try Self.entry(e)
        }
        return out
    }

    static func entry(_ e: [String: Any]) throws -> ManifestEntry {
        let kinds: [String: EntryKind] = ["file": .regular, "directory": .directory, "symlink": .symlink, "char": .characterDevice,
                                          "block": .blockDevice, "fifo": .fifo, "socket": .socket]
        var m = ManifestEntry(kind: try XCTUnwrap(kinds[e["type"] as? String ?? ""]))
        m.mode = UInt32(try XCTUnwrap(e["mode"] as? String), radix: 8)
        m.uid = (e["uid"] as? Int).map(UInt32.init)
        m.gid = (e["gid"] as? Int).map(UInt32.init)
        m.size = (e["size"] as? Int).map(UInt64.init)
        m.digest = e["sha256"] as? String
        m.target = (e["target"] as? String).map { Array($0.utf8) }
        if let major = e["major"] as? Int, let minor = e["minor"] as? Int {
            m.device = DeviceNumber(major: UInt32(major), minor: UInt32(minor))
        }
        return m
    }

    func compare(_ got: ManifestEntry, with want: ManifestEntry?, what: String, owner: Bool) {
        guard let want else { return XCTFail("\(what): missing") }
        XCTAssertEqual(got.kind, want.kind, "\(what): type")
        XCTAssertEqual(got.mode, want.mode, "\(what): mode")
        if owner {
            XCTAssertEqual(got.uid, want.uid, "\(what): uid")
            XCTAssertEqual(got.gid, want.gid, "\(what): gid")
        }
        if got.kind == .regular {
            XCTAssertEqual(got.size, want.size, "\(what): size")
            XCTAssertEqual(got.digest, want.digest, "\(what): sha256")
            XCTAssertEqual(got.digest?.count, 64, "\(what): sha256 is 64 hex digits")
        }
        XCTAssertEqual(got.target, want.target, "\(what): target")
        XCTAssertEqual(got.device, want.device, "\(what): device")
    }

    func testInspectNamesThePortableServiceParts() throws {
        let source = try makeSource()
        let image = tmp.sub("demo_1.0.raw")
        let made = try pack([source.string, image.string])
        XCTAssert(made.succeeded, made.summary)
        let r = try runLimited(try MkportableBinary.path(), ["inspect", "--json", image.string])
        let top = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.summary)
        let os = try XCTUnwrap(top["osRelease"] as? [String: String])
        XCTAssertEqual(os["PRETTY_NAME"], "Nix \"OS\"")
        XCTAssertEqual(os["ID"], "nixos")
        XCTAssertEqual(top["units"] as? [String], ["demo-helper.socket", "demo.service", "other.service"])
        XCTAssertEqual(top["attachedUnits"] as? [String], ["demo-helper.socket", "demo.service"], "portablectl's prefix rule for demo_1.0.raw")
        XCTAssertEqual(top["storePaths"] as? [String], ["/nix/store/aaa-demo", "/nix/store/bbb-lib"])
        let settings = try XCTUnwrap(top["settings"] as? [String: Any])
        XCTAssertEqual(settings["compressor"] as? String, "xz -Xbcj x86")
        XCTAssertEqual(settings["blockSize"] as? Int, 1 << 20)
        XCTAssertEqual((top["verity"] as? [String: Any])?["status"] as? String, "none")
    }

    func testInspectOfAVerityImageReportsVerifysResult() throws {
        let source = try makeSource()
        let image = tmp.sub("demo_1.0.raw")
        let made = try pack(["--verity", source.string, image.string])
        XCTAssert(made.succeeded, made.summary)
        let ok = try runLimited(try MkportableBinary.path(), ["inspect", image.string])
        XCTAssert(ok.stdoutText.contains("verity: ok: "), ok.summary)
        // One flipped byte in the hash tree: inspect still reads the image,
        // and says the verity data does not match.
        let verity = tmp.sub("demo_1.0.verity")
        var tree = try Data(contentsOf: URL(fileURLWithPath: verity.string))
        tree[tree.count - 1] ^= 1
        try tree.write(to: URL(fileURLWithPath: verity.string))
        let bad = try runLimited(try MkportableBinary.path(), ["inspect", image.string])
        XCTAssertEqual(bad.status, 0, bad.summary)
        XCTAssert(bad.stdoutText.contains("verity: mismatch: "), bad.summary)
    }

    func testInspectOfADDIReadsItsRootPartition() throws {
        let source = try makeSource()
        let image = tmp.sub("demo_1.0.raw")
        let made = try pack(["--ddi", source.string, image.string])
        XCTAssert(made.succeeded, made.summary)
        let r = try runLimited(try MkportableBinary.path(), ["inspect", "--json", image.string])
        let top = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.summary)
        XCTAssertEqual((top["container"] as? [String: Any])?["type"] as? String, "ddi")
        XCTAssertEqual((top["verity"] as? [String: Any])?["status"] as? String, "ok")
        let listed = try inspectJSON(image)
        XCTAssertEqual(listed.keys.sorted(), try Manifest.scan(directory: source).paths)
    }

    /// The signer of a signed image, sidecar and DDI: the subject of the
    /// certificate in the signature.
    func testInspectNamesTheSigner() throws {
        let source = try makeSource()
        let key = tmp.sub("k.pem").string, cert = tmp.sub("c.pem").string
        try Shell.check("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                                    "-subj", "/CN=inspect signer", "-days", "30"])
        for form in ["--verity", "--ddi"] {
            let dir = tmp.sub(RawPath(String(form.dropFirst(2))))
            try FileManager.default.createDirectory(atPath: dir.string, withIntermediateDirectories: false)
            let image = dir.appending("demo_1.0.raw")
            let made = try pack([form, source.string, image.string])
            XCTAssert(made.succeeded, made.summary)
            let unsigned = try runLimited(try MkportableBinary.path(), ["inspect", "--json", image.string])
            let plain = try XCTUnwrap(try JSONSerialization.jsonObject(with: unsigned.stdout) as? [String: Any], unsigned.summary)
            XCTAssert((plain["verity"] as? [String: Any])?["signature"] is NSNull, "\(form): unsigned")
            let out = dir.appending("signed")
            let signed = try runLimited(try MkportableBinary.path(), ["sign", "--key", key, "--cert", cert, "--out", out.string, image.string])
            XCTAssert(signed.succeeded, signed.summary)
            let r = try runLimited(try MkportableBinary.path(), ["inspect", "--json", out.appending("demo_1.0.raw").string])
            let top = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any], r.summary)
            let signature = try XCTUnwrap((top["verity"] as? [String: Any])?["signature"] as? [String: Any], "\(form): \(top)")
            XCTAssertEqual(signature["signer"] as? String, "/CN=inspect signer", form)
        }
    }

    /// Hard links share one inode: a tiny image may name one large sparse
    /// file thousands of times (here 3,000 links to 64 MiB, 190 GiB if each
    /// name were read). `inspect` reads each inode's content once, so it
    /// ends as fast as sqfs2tar and unsquashfs, which write the data once.
    func testInspectReadsAHardLinkedFileOnce() throws {
        let t = try TreeBuilder(root: tmp.sub("links"))
        let big = try t.sparseFile("big", size: 64 << 20, chunks: [(offset: 1 << 20, bytes: Array("x".utf8))])
        for i in 0..<3000 { _ = try t.hardLink(RawPath("d/l\(i)"), to: big) }
        let want = try SHA256Digest.file(t.root.appending(big)).digest
        var images = [tmp.sub("links.sq")]
        try Shell.check("mksquashfs", [t.root.string, images[0].string, "-noappend", "-quiet", "-no-progress"])
        if let mkfs = ReferenceTools.path("mkfs.erofs") {
            images.append(tmp.sub("links.erofs"))
            try Shell.check(mkfs, ["--quiet", "-zlz4hc", images[1].string, t.root.string])
        }
        for image in images {
            let r = try runLimited(try MkportableBinary.path(), ["inspect", "--json", image.string], timeout: 60)
            XCTAssert(r.succeeded, r.summary)
            let top = try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
            let digests = try XCTUnwrap(top["entries"] as? [[String: Any]]).filter { $0["type"] as? String == "file" }.map { $0["sha256"] as? String }
            XCTAssertEqual(digests.count, 3001, image.string)
            XCTAssertEqual(Set(digests), [want], image.string)
        }
    }

    /// An image path that names a FIFO: opening it must not wait for a
    /// writer (inspect and diff hung there), and the refusal says what it is.
    func testInspectAndDiffRefuseAFIFOWithoutWaiting() throws {
        let t = try TreeBuilder(root: tmp.sub("fifo"))
        let fifo = t.root.appending(try t.fifo("image.raw")).string
        for arguments in [["inspect", fifo], ["diff", fifo, fifo]] {
            let r = try runLimited(try MkportableBinary.path(), arguments, timeout: 20)
            XCTAssertEqual(r.status, arguments[0] == "diff" ? 2 : 1, r.summary)
            XCTAssert(r.stderrText.contains("\(fifo)") && r.stderrText.contains("not a regular file"), r.summary)
        }
    }

    func testInspectRefusesWhatIsNotAnImageWithExitStatus1And2() throws {
        let junk = tmp.sub("junk.raw")
        try Data(repeating: 7, count: 8192).write(to: URL(fileURLWithPath: junk.string))
        let r = try runLimited(try MkportableBinary.path(), ["inspect", junk.string])
        XCTAssertEqual(r.status, 1, r.summary)
        XCTAssertEqual(r.stderrText, "mkportable inspect: error: \(junk.string): neither a squashfs nor an erofs image (no \"hsqs\" magic at byte 0, no erofs magic at byte 1024)\n")
        let usage = try runLimited(try MkportableBinary.path(), ["inspect"])
        XCTAssertEqual(usage.status, 2, usage.summary)
    }
}
