import Foundation
import XCTest

/// `pack --ddi` and `mkportable verify`, read back by the tools that must
/// agree: sfdisk --json, sfdisk --verify, fdisk -l, blkid on each
/// partition of a loop device, the kernel mounting the root partition,
/// systemd-dissect, veritysetup verify, and every squashfs reader (the root
/// partition holds exactly the image `pack` writes without --ddi).
final class DDITests: ImageTestCase {
    /// A minimal portable service tree.
    func portableTree() throws -> TreeBuilder {
        let src = try newSource()
        try src.file("etc/os-release", "ID=nixos\nPORTABLE_PREFIXES=svc\n")
        try src.file("etc/systemd/system/svc.service", "[Service]\nExecStart=/bin/true\n")
        for d in ["proc", "sys", "dev", "run", "tmp", "var/tmp"] { try src.dir(RawPath(d)) }
        var bytes = [UInt8](repeating: 0, count: 900_000)
        var x: UInt32 = 12345
        for i in bytes.indices { x = x &* 1_103_515_245 &+ 12345; bytes[i] = UInt8(truncatingIfNeeded: x >> 16) }
        try src.file("usr/bin/blob", bytes, mode: 0o755)
        try src.symlink("bin", to: "usr/bin")
        return src
    }

    func json(_ data: Data) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func mkportable(_ args: [String]) throws -> CommandResult {
        try Shell.run(try MkportableBinary.path(), args)
    }

    func testDDIIsReadByEveryTool() throws {
        let src = try portableTree()
        var options = PackOptions(comp: "zstd", blockSize: "128K")
        let plain = try pack(src.root, options: options, name: "plain.raw")
        options.verity = true
        try pack(src.root, options: options, name: "side_1.raw")
        let image = work.sub("svc_1.0.raw")
        let ddi = try mkportable(["pack", "--ddi", "--arch", "x86_64", "--comp", "zstd", "--block-size", "128K", src.root.string, image.string])
        XCTAssertTrue(ddi.succeeded, ddi.summary)
        let roothash = String(decoding: try Posix.readFile(work.sub("svc_1.0.roothash")), as: UTF8.self)
        XCTAssertEqual(roothash.count, 65)
        XCTAssertEqual(roothash, String(decoding: try Posix.readFile(work.sub("side_1.roothash")), as: UTF8.self),
                       "the DDI's root hash differs from the sidecar image's (same tree, same seed)")
        let hash = String(roothash.dropLast())

        // sfdisk: the table as we meant it.
        try Shell.require("sfdisk")
        let table = try XCTUnwrap(try json(Shell.check("sfdisk", ["--json", image.string]).stdout)["partitiontable"] as? [String: Any])
        XCTAssertEqual(table["label"] as? String, "gpt")
        XCTAssertEqual(table["firstlba"] as? Int, 34)
        let parts = try XCTUnwrap(table["partitions"] as? [[String: Any]])
        XCTAssertEqual(parts.count, 2)
        let types = parts.compactMap { ($0["type"] as? String)?.lowercased() }
        XCTAssertEqual(types, ["4f68bce3-e8cd-4db1-96e7-fbcaf984b709", "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5"])
        let uuids = parts.compactMap { ($0["uuid"] as? String)?.lowercased().replacingOccurrences(of: "-", with: "") }
        XCTAssertEqual(uuids, [String(hash.prefix(32)), String(hash.suffix(32))], "partition UUIDs are not the root hash halves")
        XCTAssertEqual(parts.compactMap { $0["name"] as? String }, ["root-x86-64", "root-x86-64-verity"])
        XCTAssertEqual(parts.compactMap { $0["attrs"] as? String }, ["GUID:60", "GUID:60"])
        let v = try Shell.run("sfdisk", ["--verify", image.string])
        XCTAssertTrue(v.succeeded && v.stdoutText.contains("No errors detected"), "sfdisk --verify: \(v.stdoutText) \(v.stderrText)")
        let fdisk = try Shell.check("fdisk", ["-l", image.string]).stdoutText
        XCTAssertTrue(fdisk.contains("Linux root (x86-64)") && fdisk.contains("Linux root verity (x86-64)"), fdisk)
        XCTAssertFalse(fdisk.lowercased().contains("corrupt") || fdisk.lowercased().contains("mismatch"), fdisk)

        // The root partition is the plain image, byte for byte; the verity
        // partition is the sidecar .verity, byte for byte.
        let bytes = try Posix.readFile(image)
        let rootStart = (parts[0]["start"] as! Int) * 512, rootSize = (parts[0]["size"] as! Int) * 512
        let verStart = (parts[1]["start"] as! Int) * 512, verSize = (parts[1]["size"] as! Int) * 512
        let plainBytes = try Posix.readFile(plain)
        XCTAssertTrue(Array(bytes[rootStart..<(rootStart + rootSize)]) == plainBytes, "root partition != pack's image")
        XCTAssertTrue(Array(bytes[verStart..<(verStart + verSize)]) == (try Posix.readFile(work.sub("side_1.verity"))),
                      "root-verity partition != the sidecar .verity")
        // So every squashfs reader reads the root partition:
        try packAndVerify(src.root, options: PackOptions(comp: "zstd", blockSize: "128K"), label: "DDI root partition", name: "again.raw")

        if let vs = Shell.which("veritysetup") {
            let r = work.sub("root.part"), h = work.sub("verity.part")
            try Posix.writeFile(r, Array(bytes[rootStart..<(rootStart + rootSize)]))
            try Posix.writeFile(h, Array(bytes[verStart..<(verStart + verSize)]))
            XCTAssertEqual(try Shell.run(vs, ["verify", r.string, h.string, hash]).status, 0, "veritysetup verify of the partitions")
        }

        XCTAssertTrue(try mkportable(["verify", image.string]).succeeded)
        try checkLoopPartitions(image: image, hash: hash)
        try checkDissect(image: image)
    }

    /// blkid on each partition of a loop device, and the kernel mounting
    /// the root partition as `fsType`.
    func checkLoopPartitions(image: RawPath, hash: String, fsType: String = "squashfs") throws {
        if let reason = KernelMount.unavailableReason {
            try RequiredGuest.unavailable("the DDI's partitions on a loop device", because: reason)
        }
        guard Shell.which("losetup") != nil, Shell.which("blkid") != nil else {
            try RequiredGuest.unavailable("the DDI's partitions on a loop device", because: "losetup or blkid not found (install util-linux)")
        }
        let l = try Shell.run("losetup", ["-P", "-r", "-f", "--show", image.string])
        guard l.succeeded else { print("note: skipping loop partitions: \(l.summary)"); return }
        let dev = l.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? Shell.run("partx", ["-d", dev]); _ = try? Shell.run("losetup", ["-d", dev]) }
        // This kernel does not scan GPT itself: let partx add the partitions
        // (BLKPG) when -P found none.
        if (try Posix.lstatIfExists(RawPath(dev + "p1"))) == nil { _ = try Shell.run("partx", ["-a", dev]) }
        for _ in 0..<20 where (try Posix.lstatIfExists(RawPath(dev + "p2"))) == nil { usleep(100_000) }
        let b1 = try Shell.check("blkid", ["-p", "-o", "export", dev + "p1"]).stdoutText
        let b2 = try Shell.check("blkid", ["-p", "-o", "export", dev + "p2"]).stdoutText
        XCTAssertTrue(b1.contains("TYPE=\(fsType)\n"), b1)
        XCTAssertTrue(b1.contains("PART_ENTRY_NAME=root-x86-64\n"), b1)
        XCTAssertTrue(b1.contains("PART_ENTRY_UUID=\(uuid(String(hash.prefix(32))))"), b1)
        XCTAssertTrue(b2.contains("TYPE=DM_verity_hash"), b2)
        XCTAssertTrue(b2.contains("PART_ENTRY_UUID=\(uuid(String(hash.suffix(32))))"), b2)
        let mnt = work.sub("mnt")
        try Posix.makeDirectories(mnt)
        let m = try Shell.run("mount", ["-t", fsType, "-o", "ro", dev + "p1", mnt.string])
        XCTAssertTrue(m.succeeded, "kernel mount of the root partition: \(m.summary)")
        if m.succeeded {
            XCTAssertEqual(try Posix.readFile(mnt.appending("etc/os-release")), Array("ID=nixos\nPORTABLE_PREFIXES=svc\n".utf8))
            _ = try Shell.run("umount", [mnt.string])
        }
    }

    func uuid(_ h: String) -> String {
        let c = Array(h)
        return [c[0..<8], c[8..<12], c[12..<16], c[16..<20], c[20..<32]].map { String($0) }.joined(separator: "-")
    }

    /// systemd's own dissection: a portable service, root (of `fsType`)
    /// with verity.
    func checkDissect(image: RawPath, fsType: String = "squashfs") throws {
        let dissect = try KernelMount.dissector(for: "systemd-dissect of a DDI")
        let r = try Shell.run(dissect, ["--no-pager", "--no-legend", image.string])
        guard r.succeeded else { XCTFail("systemd-dissect: \(r.summary)"); return }
        let out = r.stdoutText
        XCTAssertTrue(out.contains("✓ portable service"), out)
        let rootLine = out.split(separator: "\n").first { $0.contains(" root ") && $0.contains(fsType) }
        XCTAssertNotNil(rootLine, out)
        XCTAssertTrue(rootLine.map { $0.contains("x86-64") && $0.contains(" yes ") } ?? false, "root is not x86-64 with verity: \(out)")
        XCTAssertTrue(out.contains("root-verity") && out.contains("DM_verity_hash"), out)
    }

    /// Issue 20: `pack --filesystem erofs` with `--verity` and `--ddi`.
    /// The DDI's root partition is the sidecar image byte for byte (which
    /// fsck.erofs 1.9.3 extracts to the source), the verity partition is
    /// the .verity; veritysetup, blkid (TYPE=erofs),
    /// the kernel (the root partition on a loop device) and systemd-dissect
    /// (an erofs root with verity, a portable service) read them; `verify`
    /// passes both and refuses each with one flipped data byte.
    func testErofsSidecarsAndDDIAreReadByEveryToolAndTamperingIsCaught() throws {
        let src = try portableTree()
        let side = work.sub("side_1.raw"), ddi = work.sub("svc_1.0.raw")
        for (args, image) in [(["--verity"], side), (["--ddi", "--arch", "x86_64"], ddi)] {
            let r = try mkportable(["pack", "--filesystem", "erofs"] + args + [src.root.string, image.string])
            XCTAssertTrue(r.succeeded, r.summary)
        }
        let sideBytes = try Posix.readFile(side)
        XCTAssertEqual(Array(sideBytes[1024..<1028]), [0xE2, 0xE1, 0xF5, 0xE0], "no erofs magic at byte 1024")
        try checkErofsExtraction(side, source: src.root)
        let roothash = String(decoding: try Posix.readFile(work.sub("side_1.roothash")), as: UTF8.self)
        XCTAssertEqual(roothash, String(decoding: try Posix.readFile(work.sub("svc_1.0.roothash")), as: UTF8.self),
                       "the erofs DDI's root hash differs from the sidecar image's")
        let hash = String(roothash.dropLast())
        let parts = try XCTUnwrap((try json(Shell.check("sfdisk", ["--json", ddi.string]).stdout)["partitiontable"] as? [String: Any])?["partitions"] as? [[String: Any]])
        XCTAssertEqual(parts.compactMap { ($0["type"] as? String)?.lowercased() },
                       ["4f68bce3-e8cd-4db1-96e7-fbcaf984b709", "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5"])
        let bytes = try Posix.readFile(ddi)
        let range = { (p: [String: Any]) in ((p["start"] as! Int) * 512)..<((p["start"] as! Int) * 512 + (p["size"] as! Int) * 512) }
        XCTAssertTrue(Array(bytes[range(parts[0])]) == sideBytes, "the erofs DDI's root partition != the --verity image")
        XCTAssertTrue(Array(bytes[range(parts[1])]) == (try Posix.readFile(work.sub("side_1.verity"))), "root-verity partition != the sidecar .verity")
        if let vs = Shell.which("veritysetup") {
            XCTAssertEqual(try Shell.run(vs, ["verify", side.string, work.sub("side_1.verity").string, hash]).status, 0, "veritysetup verify of the erofs sidecars")
        }
        try checkLoopPartitions(image: ddi, hash: hash, fsType: "erofs")
        try checkDissect(image: ddi, fsType: "erofs")
        for (image, stem, at) in [(side, "side_1", 300_000), (ddi, "svc_1.0", range(parts[0]).lowerBound + 300_000)] {
            XCTAssertTrue(try mkportable(["verify", image.string]).succeeded, "verify of \(image)")
            let dir = work.sub(RawPath("tampered-" + stem))
            try Posix.makeDirectories(dir)
            for ext in [".raw", ".verity", ".roothash"] where (try Posix.lstatIfExists(work.sub(RawPath(stem + ext)))) != nil {
                try Posix.writeFile(dir.appending(RawPath(stem + ext)), try Posix.readFile(work.sub(RawPath(stem + ext))))
            }
            let copy = dir.appending(RawPath(stem + ".raw"))
            try Posix.writeAt(copy, offset: UInt64(at), [try Posix.readFile(copy)[at] ^ 0x01])
            let r = try mkportable(["verify", copy.string])
            XCTAssertNotEqual(r.status, 0, "verify accepts \(image) with byte \(at) flipped")
            XCTAssertEqual(r.stderrText.split(separator: "\n").count, 1, r.stderrText)
            XCTAssertTrue(r.stderrText.contains("data block"), "expected 'data block': \(r.stderrText)")
        }
    }

    /// fsck.erofs 1.9.3 extracts `image` to what `source` holds: type,
    /// permissions, size, content and link target of every path below the
    /// root.
    func checkErofsExtraction(_ image: RawPath, source: RawPath) throws {
        guard let fsck = ReferenceTools.path("fsck.erofs") else { return print("note: fsck.erofs 1.9.3 missing; the erofs image is not read back") }
        let out = work.sub("extracted")
        let problem = try ErofsExtraction.extract(fsck, image: image.string, to: out.string)
        XCTAssertNil(problem, problem ?? "")
        let fields: ManifestFields = [.kind, .mode, .size, .content, .target, .device]
        XCTAssertEqual(Manifest.differences(expected: try Manifest.scan(directory: source), actual: try Manifest.scan(directory: out),
                                            coverage: { path, _ in path.isRoot ? nil : fields }), [])
    }

    func testDDIIsReproducibleAndFollowsArch() throws {
        let src = try portableTree()
        let a = work.sub("a_1.raw"), b = work.sub("b_1.raw"), c = work.sub("c_1.raw")
        XCTAssertTrue(try mkportable(["pack", "--ddi", "--jobs", "1", src.root.string, a.string]).succeeded)
        XCTAssertTrue(try mkportable(["pack", "--ddi", "--jobs", "2", src.root.string, b.string]).succeeded)
        XCTAssertTrue(try Posix.readFile(a) == Posix.readFile(b), "--jobs changed the DDI")
        XCTAssertTrue(try mkportable(["pack", "--ddi", "--arch", "aarch64-linux", src.root.string, c.string]).succeeded)
        let parts = try XCTUnwrap((try json(Shell.check("sfdisk", ["--json", c.string]).stdout)["partitiontable"] as? [String: Any])?["partitions"] as? [[String: Any]])
        XCTAssertEqual(parts.compactMap { ($0["type"] as? String)?.lowercased() },
                       ["b921b045-1df0-41c3-af44-4c6f280d3fae", "df3300ce-d69f-4c92-978c-9bfb0f38d820"])
        XCTAssertEqual(parts.compactMap { $0["name"] as? String }, ["root-arm64", "root-arm64-verity"])
    }

    /// verify catches what dm-verity would, for sidecars and DDIs.
    func testVerifyCatchesTampering() throws {
        let src = try portableTree()
        var options = PackOptions()
        options.verity = true
        let side = try pack(src.root, options: options, name: "s_1.raw")
        let ddi = work.sub("d_1.raw")
        XCTAssertTrue(try mkportable(["pack", "--ddi", src.root.string, ddi.string]).succeeded)
        for image in [side, ddi] {
            let ok = try mkportable(["verify", image.string])
            XCTAssertTrue(ok.succeeded && ok.stdoutText.contains("OK"), ok.summary)
            let size = try Posix.lstat(image).st_size
            let isDDI = image == ddi
            // A data byte (in the squashfs), the superblock, and for a DDI
            // the partition table.
            var offsets: [(UInt64, String)] = [(UInt64(isDDI ? 20480 + 300_000 : 300_000), "data block"),
                                               (UInt64(isDDI ? 20480 + 40 : 40), "")]
            if isDDI { offsets += [(512 + 60, "CRC32"), (UInt64(size) - 512 + 60, "backup")] }
            for (offset, word) in offsets {
                let copy = work.sub("t_1.raw")
                try Posix.writeFile(copy, try Posix.readFile(image))
                if !isDDI {
                    for ext in [".verity", ".roothash"] {
                        try Posix.writeFile(work.sub(RawPath("t_1" + ext)), try Posix.readFile(work.sub(RawPath("s_1" + ext))))
                    }
                } else {
                    try Posix.writeFile(work.sub("t_1.roothash"), try Posix.readFile(work.sub("d_1.roothash")))
                }
                let b = try Posix.readFile(copy)[Int(offset)]
                try Posix.writeAt(copy, offset: offset, [b ^ 0x01])
                let r = try mkportable(["verify", copy.string])
                XCTAssertNotEqual(r.status, 0, "verify accepts \(image) with byte \(offset) flipped")
                XCTAssertEqual(r.stderrText.split(separator: "\n").count, 1, r.stderrText)
                if !word.isEmpty { XCTAssertTrue(r.stderrText.contains(word), "expected '\(word)': \(r.stderrText)") }
                XCTAssertLessThan(offset, UInt64(size))
            }
        }
        // Sidecars too large to be what pack wrote are refused unread.
        let goodRootHash = try Posix.readFile(work.sub("s_1.roothash"))
        let goodTree = try Posix.readFile(work.sub("s_1.verity"))
        for (ext, bytes) in [(".roothash", goodRootHash + [UInt8](repeating: 0x20, count: 2 << 20)),
                             (".verity", goodTree + [UInt8](repeating: 0, count: goodTree.count + 8192))] {
            try Posix.writeFile(work.sub(RawPath("s_1" + ext)), bytes)
            let big = try mkportable(["verify", side.string])
            XCTAssertNotEqual(big.status, 0, "verify accepts an oversized \(ext)")
            XCTAssertEqual(big.stderrText.split(separator: "\n").count, 1, big.stderrText)
            XCTAssertTrue(big.stderrText.contains("s_1" + ext) && big.stderrText.contains("more than"), big.stderrText)
        }
        try Posix.writeFile(work.sub("s_1.roothash"), goodRootHash)
        try Posix.writeFile(work.sub("s_1.verity"), goodTree)
        XCTAssertTrue(try mkportable(["verify", side.string]).succeeded)
        // A different .roothash, a missing .verity.
        try Posix.writeFile(work.sub("s_1.roothash"), Array((String(repeating: "ab", count: 32) + "\n").utf8))
        var r = try mkportable(["verify", side.string])
        XCTAssertTrue(r.status != 0 && r.stderrText.contains("s_1.roothash"), r.summary)
        Posix.removeTree(work.sub("s_1.verity"))
        r = try mkportable(["verify", side.string])
        XCTAssertTrue(r.status != 0 && r.stderrText.contains("no ") && r.stderrText.contains("s_1.verity"), r.summary)
    }

    func testDDIBadInputLeavesNothing() throws {
        let src = try portableTree()
        let out = work.sub("out")
        try Posix.makeDirectories(out)
        for (args, word) in [(["--ddi"], "NAME.raw"), (["--ddi", "--arch", "vax"], "--arch vax"), (["--arch", "x86_64"], "--ddi")] {
            let name = word == "NAME.raw" ? "x.img" : "x.raw"
            let r = try mkportable(["pack"] + args + [src.root.string, out.appending(RawPath(name)).string])
            XCTAssertNotEqual(r.status, 0)
            XCTAssertEqual(r.stderrText.split(separator: "\n").count, 1, r.stderrText)
            XCTAssertTrue(r.stderrText.contains(word), r.stderrText)
            XCTAssertEqual(try Posix.listDirectory(out), [])
        }
    }
}

/// The Nix builder's side of `verity = true` and `format = "ddi"`: the same
/// files as `pack`, every one checked by `mkportable verify`, and bad
/// values refused with one line and no output.
final class BuilderVerityTests: XCTestCase {
    var fx: BuilderFixture!

    override func setUpWithError() throws { fx = try BuilderFixture(prefix: "builder-verity") }
    override func tearDown() { fx?.remove() }

    func listing() throws -> [String] {
        (try? Posix.listDirectory(fx.out).map(\.string).sorted()) ?? []
    }

    func testVeritySidecarsAndDDIFromAttributes() throws {
        var r = try fx.build(["verity": "true"])
        XCTAssertTrue(r.succeeded, r.summary)
        XCTAssertEqual(try listing(), ["demo_1.0.raw", "demo_1.0.roothash", "demo_1.0.verity"])
        let sidecarImage = try Posix.readFile(fx.image())
        let sidecarHash = try Posix.readFile(fx.out.appending("demo_1.0.roothash"))
        XCTAssertTrue(try fx.run(["verify", fx.image().string]).succeeded)
        Posix.removeTree(fx.out)

        r = try fx.build([:])
        XCTAssertTrue(r.succeeded, r.summary)
        XCTAssertEqual(try listing(), ["demo_1.0.raw"])
        XCTAssertTrue(try Posix.readFile(fx.image()) == sidecarImage, "verity = true changed the image")
        Posix.removeTree(fx.out)

        r = try fx.build(["format": #""ddi""#, "system": #""x86_64-linux""#])
        XCTAssertTrue(r.succeeded, r.summary)
        XCTAssertEqual(try listing(), ["demo_1.0.raw", "demo_1.0.roothash"])
        XCTAssertEqual(try Posix.readFile(fx.out.appending("demo_1.0.roothash")), sidecarHash, "DDI and sidecars disagree on the root hash")
        let v = try fx.run(["verify", fx.image().string])
        XCTAssertTrue(v.succeeded && v.stdoutText.contains("DDI (root-x86-64)"), v.summary)
        if Shell.which("sfdisk") != nil {
            let t = try Shell.check("sfdisk", ["--json", fx.image().string]).stdoutText
            XCTAssertTrue(t.contains("root-x86-64-verity"), t)
        }
        Posix.removeTree(fx.out)
        r = try fx.build(["format": #""ddi""#, "system": #""aarch64-linux""#])
        XCTAssertTrue(r.succeeded, r.summary)
        XCTAssertTrue(try fx.run(["verify", fx.image().string]).stdoutText.contains("root-arm64"))
    }

    func testBadVerityAndFormatLeaveNothing() throws {
        for (overrides, word) in [(["verity": #""yes""#], "attribute verity: expected true or false, found a string"),
                                  (["format": #""qcow2""#], #"attribute format: "qcow2" is not a known format"#),
                                  (["format": #""ddi""#, "system": #""vax-linux""#], #"attribute system: "vax-linux""#),
                                  (["format": #""ddi""#, "system": #""x86_64-linux""#, "imageSystem": #""vax-linux""#], #"attribute imageSystem: "vax-linux""#)] {
            Posix.removeTree(fx.out)
            let r = try fx.build(overrides)
            XCTAssertNotEqual(r.status, 0)
            XCTAssertEqual(r.stderrText.split(separator: "\n").count, 1, r.stderrText)
            XCTAssertTrue(r.stderrText.contains(word), r.stderrText)
            XCTAssertEqual(try listing(), [])
        }
    }
}
