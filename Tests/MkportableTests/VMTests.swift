import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Images of `mkportable pack` attached by the real portablectl of systemd
/// 252 (Debian 12) and 257 (Debian 13), each in a qemu VM with the
/// release's own kernel, where dm-verity works (this host's kernel has no
/// device-mapper, so nspawn cannot show it). One boot per version
/// (scripts/lib/systemd-check --backend vm, check script
/// scripts/lib/attach-cases-check; the two VMs run at the same time) runs
/// these cases in turn:
///
///     1-plain      a plain image: attaches, its busybox service runs from it
///     2-verity     `pack --verity`: image + .verity + .roothash attach, the
///                  service runs with / on `<roothash>-verity`
///     3-tampered   the same files with one byte of data block 0 flipped:
///                  the start fails with the kernel's verity error (and
///                  `mkportable verify` on the host refuses it first)
///     4-ddi        `pack --ddi`: a GPT disk (root + root-verity partitions)
///                  and its .roothash attach, the service runs on dm-verity
///     5-ddi-tampered  the DDI with one byte of the root partition's data
///                  block 0 flipped: the start fails with the verity error
///
/// and on 257 only (root hash signatures checked against /etc/verity.d
/// need systemd 254+):
///
///     6-signed     2-verity signed by `mkportable sign` (.roothash.p7s),
///                  its certificate in /etc/verity.d: the kernel's keyring
///                  does not know it, systemd validates the signature in
///                  user space and the service runs on dm-verity
///     7-signed-untrusted  the same without the certificate: the signature
///                  validates nowhere and systemd refuses to start it
///                  (226/NAMESPACE, "Required key not available")
///
/// and on both, erofs images (`pack --filesystem erofs`, the default
/// compression) put through the same verity cases:
///
///     8a-erofs-verity         `--verity`: runs with / on dm-verity, erofs
///     8b-erofs-tampered       one byte of its data block 0 flipped: refused
///     8c-erofs-ddi            `--ddi`: runs on dm-verity, erofs
///     8d-erofs-ddi-tampered   one byte of its root partition flipped: refused
///
/// Before the cases, the guest's kernel mounts an erofs image of every
/// compression the writer has (in/mounts, `mount -t erofs -o loop`) and
/// reads a file back from each: which of them Debian's kernels can read
/// (all on 6.12; on 6.1 all but lzma).
///
/// 1-plain runs on 252 only (nspawn tests attach plain images on both).
///
/// The first run on a machine pays debootstrap and the kernel download
/// (2-4 min, cached under /var/cache/mkportable); a run then takes 1-3 min
/// (TCG emulation; more when the host is busy).
final class VMTests: XCTestCase {
    /// The service's marker line carries this token, so its output cannot
    /// come from anything but this image.
    static let token = "vmcheck-\(UInt64.random(in: 0...UInt64.max))"

    struct Run {
        var out: RawPath
        var status: Int32
        var log: String
        var roothash: String
        var ddiRoothash: String
        var erofsRoothash: String
        var seconds: Double

        func text(_ path: String) -> String {
            (try? Posix.readFile(out.appending(RawPath(path)))).map { String(decoding: $0, as: UTF8.self) } ?? ""
        }

        /// `systemctl show` of a case, as a dictionary.
        func show(_ c: String) -> [String: String] {
            var d: [String: String] = [:]
            for line in text("\(c)/show").split(separator: "\n") {
                if let eq = line.firstIndex(of: "=") { d[String(line[..<eq])] = String(line[line.index(after: eq)...]) }
            }
            return d
        }

        func trimmed(_ path: String) -> String { text(path).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// The systemd versions booted, and the cases only a version runs.
    static let versions = ["252", "257"]
    static let signedCases = ["6-signed", "7-signed-untrusted"]

    nonisolated(unsafe) static var outcomes: [String: Result<Run, Error>]?
    nonisolated(unsafe) static var work: TemporaryDirectory?
    static let lock = NSLock()

    override class func tearDown() {
        if let work {
            if ProcessInfo.processInfo.environment["MKPORTABLE_TEST_KEEP"] != nil {
                print("note: MKPORTABLE_TEST_KEEP: keeping \(work.path) (VM cases and results)")
            } else {
                work.remove()
            }
        }
        work = nil
        super.tearDown()
    }

    /// Why the VM cannot run here, or nil.
    static func unavailableReason() -> String? {
        if ProcessInfo.processInfo.environment["MKPORTABLE_TEST_NO_VM"] != nil { return "MKPORTABLE_TEST_NO_VM is set" }
        guard Posix.isRoot else { return "not running as root (debootstrap and the VM's disk image need root)" }
        for tool in ["qemu-system-x86_64", "debootstrap", "mkfs.ext4", "depmod", "veritysetup", "openssl"] where Shell.which(tool) == nil {
            return "\(tool) not found (scripts/install-deps installs it)"
        }
        #if arch(x86_64)
        return nil
        #else
        return "the VM backend runs x86-64 guests only"
        #endif
    }

    /// Boots the VMs once for all tests of this class; the run of `version`.
    func vmRun(_ version: String) throws -> Run {
        if let reason = Self.unavailableReason() { try RequiredGuest.unavailable("the VM", because: reason) }
        Self.lock.lock()
        defer { Self.lock.unlock() }
        if Self.outcomes == nil {
            do {
                let inputs = try Self.makeCases()
                var results: [String: Result<Run, Error>] = [:]
                let resultLock = NSLock()
                // Both VMs at once: each emulated CPU is one host thread.
                DispatchQueue.concurrentPerform(iterations: Self.versions.count) { i in
                    let v = Self.versions[i]
                    let r = Result { try Self.boot(version: v, inputs: inputs) }
                    resultLock.lock(); results[v] = r; resultLock.unlock()
                }
                Self.outcomes = results
            } catch {
                Self.outcomes = Dictionary(uniqueKeysWithValues: Self.versions.map { ($0, Result<Run, Error>.failure(error)) })
            }
        }
        return try Self.outcomes![version]!.get()
    }

    struct Inputs { var work: TemporaryDirectory; var roothash: String; var ddiRoothash: String; var erofsRoothash: String }

    /// The images and case folders: work/in-VERSION/cases/CASE.
    static func makeCases() throws -> Inputs {
        let work = try TemporaryDirectory(prefix: "mkportable-VMTests")
        Self.work = work
        let binary = try MkportableBinary.path()

        // The image: the scaffold a portable service needs, a static busybox
        // and a service that prints the token and the image's IMAGE_ID, then
        // sleeps (so its mounts can be inspected while it runs).
        let src = try TreeBuilder(root: work.sub("src"))
        for d in ["dev", "proc", "run", "sys", "tmp", "var/tmp", "var/lib", "var/cache", "var/log", "bin"] {
            try src.dir(RawPath(d))
        }
        try src.file("bin/busybox", try Posix.readFile(RawPath(try Shell.require("busybox"))), mode: 0o755)
        try src.file("etc/os-release", "ID=vmcheck\nPORTABLE_PREFIXES=vmcheck\nIMAGE_ID=vmcheck\nIMAGE_VERSION=1.0\n")
        try src.file("etc/resolv.conf", "")
        try src.file("etc/machine-id", "")
        try src.file("etc/vmcheck-token", token + "\n")
        try src.file("etc/systemd/system/vmcheck.service", """
            [Unit]
            Description=mkportable VM check service

            [Service]
            ExecStart=/bin/busybox sh -c 'echo "ready $(/bin/busybox cat /etc/vmcheck-token) $(/bin/busybox grep ^IMAGE_ID= /etc/os-release)"; exec /bin/busybox sleep 600'

            """)

        let cases = work.sub("in-252/cases")
        let plain = cases.appending("1-plain")
        let verity = cases.appending("2-verity")
        let tampered = cases.appending("3-tampered")
        let ddi = cases.appending("4-ddi")
        let ddiTampered = cases.appending("5-ddi-tampered")
        for c in [plain, verity, tampered, ddi, ddiTampered] {
            try Posix.makeDirectories(c)
            try Posix.writeFile(c.appending("unit"), Array("vmcheck.service\n".utf8))
        }
        try Shell.check(binary, ["pack", src.root.string, plain.appending("vmcheck_1.0.raw").string])
        try Shell.check(binary, ["pack", "--verity", src.root.string, verity.appending("vmcheck_1.0.raw").string])
        // Independent readers agree with what was packed before any VM sees it.
        let listing = try Shell.check("unsquashfs", ["-lls", plain.appending("vmcheck_1.0.raw").string]).stdoutText
        XCTAssertTrue(listing.contains("squashfs-root/etc/systemd/system/vmcheck.service"), "unsquashfs -lls: \(listing)")
        let roothash = String(decoding: try Posix.readFile(verity.appending("vmcheck_1.0.roothash")), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let good = ["raw", "verity", "roothash"].map { verity.appending(RawPath("vmcheck_1.0.\($0)")).string }
        try Shell.check("veritysetup", ["verify", good[0], good[1], roothash])

        // The tampered copy: one byte of data block 0 flipped, past the
        // 96-byte squashfs superblock, so the file system still probes as
        // squashfs and only dm-verity can tell.
        for ext in ["raw", "verity", "roothash"] {
            let name = RawPath("vmcheck_1.0.\(ext)")
            try Posix.writeFile(tampered.appending(name), try Posix.readFile(verity.appending(name)))
        }
        let bad = tampered.appending("vmcheck_1.0.raw")
        var bytes = try Posix.readFile(bad)
        bytes[2048] ^= 0x01
        try Posix.writeFile(bad, bytes)
        let refused = try Shell.run("veritysetup", ["verify", bad.string, tampered.appending("vmcheck_1.0.verity").string, roothash])
        XCTAssertFalse(refused.succeeded, "veritysetup verify accepted the tampered image: \(refused.summary)")
        // mkportable verify: what a user runs before attaching (252 copies
        // unit files out of an image without verity).
        XCTAssertTrue(try Shell.run(binary, ["verify", good[0]]).succeeded, "mkportable verify rejects the good image")
        let caught = try Shell.run(binary, ["verify", bad.string])
        XCTAssertTrue(!caught.succeeded && caught.stderrText.contains("data block 0"), "mkportable verify: \(caught.summary)")

        // The DDI, and a copy with one byte flipped in data block 0 of its
        // root partition (found with sfdisk, an independent reader).
        try Shell.check(binary, ["pack", "--ddi", "--arch", "x86_64", src.root.string, ddi.appending("vmcheck_1.0.raw").string])
        try Shell.check(binary, ["verify", ddi.appending("vmcheck_1.0.raw").string])
        // Same tree, so the same root hash as the sidecars.
        XCTAssertEqual(try Posix.readFile(ddi.appending("vmcheck_1.0.roothash")), try Posix.readFile(verity.appending("vmcheck_1.0.roothash")))
        let ddiRoothash = String(decoding: try Posix.readFile(ddi.appending("vmcheck_1.0.roothash")), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let table = try Shell.check("sfdisk", ["--json", ddi.appending("vmcheck_1.0.raw").string]).stdoutText
        let rootStart = try rootPartitionStart(sfdiskJSON: table)
        for ext in ["raw", "roothash"] {
            let name = RawPath("vmcheck_1.0.\(ext)")
            try Posix.writeFile(ddiTampered.appending(name), try Posix.readFile(ddi.appending(name)))
        }
        let badDDI = ddiTampered.appending("vmcheck_1.0.raw")
        var ddiBytes = try Posix.readFile(badDDI)
        ddiBytes[rootStart * 512 + 2048] ^= 0x01
        try Posix.writeFile(badDDI, ddiBytes)
        let erofsRoothash = try makeErofsCases(src.root, cases: cases, binary: binary)
        try makeErofsMounts(src.root, mounts: work.sub("in-252/mounts"), binary: binary)

        // 257 gets the same cases plus the signed ones: a key and a
        // self-signed certificate made here, `mkportable sign` of 2-verity.
        try Shell.check("cp", ["-a", work.sub("in-252").string, work.sub("in-257").string])
        Posix.removeTree(work.sub("in-257/cases/1-plain"))
        let keys = work.sub("keys")
        try Posix.makeDirectories(keys)
        try Shell.check("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", "/CN=mkportable VM test",
                                    "-keyout", keys.appending("key.pem").string, "-out", keys.appending("cert.pem").string])
        let signed = work.sub("signed")
        try Shell.check(binary, ["sign", "--key", keys.appending("key.pem").string, "--cert", keys.appending("cert.pem").string,
                                 "--out", signed.string, verity.appending("vmcheck_1.0.raw").string])
        for c in signedCases {
            let dir = work.sub(RawPath("in-257/cases/\(c)"))
            try Posix.makeDirectories(dir)
            try Posix.writeFile(dir.appending("unit"), Array("vmcheck.service\n".utf8))
            try Posix.writeFile(dir.appending("log-level"), Array("debug\n".utf8))
            for ext in ["raw", "verity", "roothash", "roothash.p7s"] {
                let name = RawPath("vmcheck_1.0.\(ext)")
                try Posix.writeFile(dir.appending(name), try Posix.readFile(signed.appending(name)))
            }
        }
        let trust = work.sub("in-257/cases/6-signed/verity.d")
        try Posix.makeDirectories(trust)
        try Posix.writeFile(trust.appending("mkportable-vm-test.crt"), try Posix.readFile(keys.appending("cert.pem")))
        return Inputs(work: work, roothash: roothash, ddiRoothash: ddiRoothash, erofsRoothash: erofsRoothash)
    }

    static let erofsCases = ["8a-erofs-verity", "8b-erofs-tampered", "8c-erofs-ddi", "8d-erofs-ddi-tampered"]

    /// The erofs cases: `pack --filesystem erofs --verity` and `--ddi` of
    /// `src` (default compression), each read back by fsck.erofs (or
    /// checked by veritysetup and `mkportable verify`) first, and copies
    /// with one byte of data block 0 of the file system flipped. Returns
    /// the root hash (the same for both forms).
    static func makeErofsCases(_ src: RawPath, cases: RawPath, binary: String) throws -> String {
        let dirs = erofsCases.map { cases.appending(RawPath($0)) }
        for d in dirs {
            try Posix.makeDirectories(d)
            try Posix.writeFile(d.appending("unit"), Array("vmcheck.service\n".utf8))
        }
        let name = { (ext: String) in RawPath("vmcheck_1.0.\(ext)") }
        try Shell.check(binary, ["pack", "--filesystem", "erofs", "--verity", src.string, dirs[0].appending(name("raw")).string])
        try Shell.check(binary, ["pack", "--filesystem", "erofs", "--ddi", "--arch", "x86_64", src.string, dirs[2].appending(name("raw")).string])
        if let fsck = ReferenceTools.path("fsck.erofs") {
            let r = try Shell.run(fsck, [dirs[0].appending(name("raw")).string])
            XCTAssertTrue(r.succeeded, "fsck.erofs 1.9.3 on the erofs --verity image: \(r.summary)")
        }
        let roothash = String(decoding: try Posix.readFile(dirs[0].appending(name("roothash"))), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try Shell.check("veritysetup", ["verify", dirs[0].appending(name("raw")).string, dirs[0].appending(name("verity")).string, roothash])
        try Shell.check(binary, ["verify", dirs[2].appending(name("raw")).string])
        XCTAssertEqual(try Posix.readFile(dirs[2].appending(name("roothash"))), try Posix.readFile(dirs[0].appending(name("roothash"))),
                       "the erofs DDI and sidecars of one tree must have one root hash")
        let table = try Shell.check("sfdisk", ["--json", dirs[2].appending(name("raw")).string]).stdoutText
        let flips: [(from: RawPath, to: RawPath, exts: [String], at: Int)] = [
            (dirs[0], dirs[1], ["raw", "verity", "roothash"], 2048),
            (dirs[2], dirs[3], ["raw", "roothash"], try rootPartitionStart(sfdiskJSON: table) * 512 + 2048),
        ]
        for f in flips {
            for ext in f.exts { try Posix.writeFile(f.to.appending(name(ext)), try Posix.readFile(f.from.appending(name(ext)))) }
            var bytes = try Posix.readFile(f.to.appending(name("raw")))
            bytes[f.at] ^= 0x01
            try Posix.writeFile(f.to.appending(name("raw")), bytes)
        }
        let caught = try Shell.run(binary, ["verify", dirs[1].appending(name("raw")).string])
        XCTAssertTrue(!caught.succeeded && caught.stderrText.contains("data block 0"), "mkportable verify: \(caught.summary)")
        return roothash
    }

    /// One erofs image of `src` per compression the writer has, for the
    /// guest's kernel to mount: mounts/erofs-NAME.raw.
    static let erofsMountCompressions = ["none", "lz4", "lz4hc", "lzma", "deflate", "zstd"]

    /// Their tree is `src` plus `share/a.txt` and `share/b.txt`, the same
    /// 8.9 MB of text, b's behind 1000 more bytes: segments of b equal to a's
    /// are stored once (`SegmentDedupe`), so the guest's kernel reads two
    /// files through shared pclusters, which Linux 6.1 must support.
    static func makeErofsMounts(_ src: RawPath, mounts: RawPath, binary: String) throws {
        try Posix.makeDirectories(mounts)
        let tree = mounts.appending("src")
        try Shell.check("cp", ["-a", src.string, tree.string])
        try Posix.makeDirectories(tree.appending("share"))
        func size(_ name: RawPath) throws -> Int {
            let image = mounts.appending(name)
            try Shell.check(binary, ["pack", "--filesystem", "erofs", "--comp", "lz4hc", "--force", tree.string, image.string])
            defer { try? FileManager.default.removeItem(atPath: image.string) }
            return try Posix.readFile(image).count
        }
        let without = try size("without-a.img")
        try Posix.writeFile(tree.appending("share/a.txt"), sharedRuns)
        let withA = try size("with-a.img")
        try Posix.writeFile(tree.appending("share/b.txt"), Array(repeating: UInt8(ascii: "x"), count: 1000) + sharedRuns)
        for z in erofsMountCompressions {
            try Shell.check(binary, ["pack", "--filesystem", "erofs", "--comp", z, tree.string, mounts.appending(RawPath("erofs-\(z).raw")).string])
        }
        let withB = try Posix.readFile(mounts.appending("erofs-lz4hc.raw")).count
        XCTAssertLessThan(withB - withA, (withA - without) / 2,
                          "b.txt's runs equal to a.txt's were not stored once (lz4hc: \(without), \(withA), \(withB) bytes)")
        Posix.removeTree(tree)
    }

    /// 8.9 MB of varied, compressible text, the same on every run.
    static let sharedRuns: [UInt8] = {
        var text = ""
        var x: UInt64 = 88172645463325252
        for i in 0..<250_000 {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            text += "record \(i): \(x % 1_000_003) \(["alpha", "beta", "gamma", "delta"][Int(x % 4)]) \(x >> 40)\n"
        }
        return Array(text.utf8)
    }()

    /// Boots systemd `version` in the VM on work/in-VERSION.
    static func boot(version: String, inputs: Inputs) throws -> Run {
        let out = inputs.work.sub(RawPath("out-\(version)"))
        let script = MkportableBinary.packageRoot.appendingPathComponent("scripts/lib/systemd-check").path
        let check = MkportableBinary.packageRoot.appendingPathComponent("scripts/lib/attach-cases-check").path
        let start = Date()
        let r = try Shell.run(script, ["--systemd", version, "--backend", "vm", "--check", check,
                                       "--in", inputs.work.sub(RawPath("in-\(version)")).string, "--out", out.string, "--timeout", "1200"])
        let seconds = Date().timeIntervalSince(start)
        let run = Run(out: out, status: r.status, log: r.stderrText, roothash: inputs.roothash, ddiRoothash: inputs.ddiRoothash,
                      erofsRoothash: inputs.erofsRoothash, seconds: seconds)
        let timing = run.text("timing").split(separator: "\n").joined(separator: "; ")
        print("note: VM run of systemd \(version) took \(Int(seconds)) s (guest uptime at each step: \(timing)); \(r.stderrText.split(separator: "\n").last ?? "")")
        guard r.status == 0 else {
            throw CommandFailed(result: CommandResult(commandLine: r.commandLine, status: r.status, stdout: r.stdout,
                                                      stderr: Data((r.stderrText + "\ncheck.log: " + run.text("check.log")).utf8)))
        }
        return run
    }

    /// The first sector of the DDI's x86-64 root partition, from `sfdisk --json`.
    static func rootPartitionStart(sfdiskJSON: String) throws -> Int {
        struct Table: Decodable {
            struct PT: Decodable { var partitions: [Part] }
            struct Part: Decodable { var start: Int; var type: String }
            var partitiontable: PT
        }
        let t = try JSONDecoder().decode(Table.self, from: Data(sfdiskJSON.utf8))
        guard let p = t.partitiontable.partitions.first(where: { $0.type.lowercased() == "4f68bce3-e8cd-4db1-96e7-fbcaf984b709" }) else {
            throw CommandFailed(result: CommandResult(commandLine: "sfdisk --json (no x86-64 root partition)", status: 1, stdout: Data(sfdiskJSON.utf8), stderr: Data()))
        }
        return p.start
    }

    /// Assertions every case that started makes.
    func assertAttachedAndDetached(_ run: Run, _ c: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(run.trimmed("\(c)/attach.rc"), "0", "[\(c)] portablectl attach: \(run.text("\(c)/attach.txt"))", file: file, line: line)
        XCTAssertTrue(run.text("\(c)/attach.txt").contains("vmcheck.service"), "[\(c)] attach did not install vmcheck.service: \(run.text("\(c)/attach.txt"))", file: file, line: line)
        XCTAssertEqual(run.show(c)["RootImage"], "/var/lib/portables/vmcheck_1.0.raw", "[\(c)] the unit's RootImage", file: file, line: line)
        XCTAssertEqual(run.trimmed("\(c)/detach.rc"), "0", "[\(c)] portablectl detach: \(run.text("\(c)/detach.txt"))", file: file, line: line)
    }

    func assertRan(_ run: Run, _ c: String, file: StaticString = #filePath, line: UInt = #line) {
        let show = run.show(c)
        XCTAssertEqual(run.trimmed("\(c)/start.rc"), "0", "[\(c)] systemctl start: \(run.text("\(c)/start.txt"))", file: file, line: line)
        XCTAssertEqual(show["ActiveState"], "active", "[\(c)] \(show); journal: \(run.text("\(c)/journal-all").suffix(3000))", file: file, line: line)
        XCTAssertEqual(show["SubState"], "running", "[\(c)] \(show)", file: file, line: line)
        XCTAssertTrue(run.text("\(c)/journal").contains("ready \(Self.token) IMAGE_ID=vmcheck"),
                      "[\(c)] the service did not print its marker from the image; journal: \(run.text("\(c)/journal"))", file: file, line: line)
    }

    /// The case's service ran with / on `<roothash>-verity`, a dm-verity
    /// target with that root hash whose data checked out (V).
    func assertOnVerity(_ run: Run, _ c: String, roothash: String, fsType: String = "squashfs",
                        file: StaticString = #filePath, line: UInt = #line) {
        let dm = "\(roothash)-verity"
        XCTAssertTrue(run.text("\(c)/dmsetup-ls").contains(dm), "[\(c)] dmsetup ls shows no \(dm): \(run.text("\(c)/dmsetup-ls"))", file: file, line: line)
        XCTAssertEqual(run.trimmed("\(c)/root-dm-name"), dm, "[\(c)] the service's / is not on the verity device; mountinfo: \(run.text("\(c)/root-mount"))", file: file, line: line)
        XCTAssertTrue(run.trimmed("\(c)/root-mount").contains(" - \(fsType) "), "[\(c)] / of the service: \(run.text("\(c)/root-mount"))", file: file, line: line)
        let table = run.text("\(c)/dmsetup-table")
        XCTAssertTrue(table.contains("\(dm): 0 ") && table.contains(" verity 1 ") && table.contains(" 4096 4096 ") && table.contains(" sha256 \(roothash) "),
                      "[\(c)] dmsetup table: \(table)", file: file, line: line)
        XCTAssertTrue(run.text("\(c)/dmsetup-status").contains("\(dm): 0 ") && run.text("\(c)/dmsetup-status").contains(" verity V"),
                      "[\(c)] dmsetup status: \(run.text("\(c)/dmsetup-status"))", file: file, line: line)
    }

    /// The case's start failed while setting up the service's mount
    /// namespace, because dm-verity refused data block 0.
    func assertRefusedByVerity(_ run: Run, _ c: String, file: StaticString = #filePath, line: UInt = #line) {
        let show = run.show(c)
        XCTAssertEqual(show["ActiveState"], "failed", "[\(c)] the tampered image started: \(show)", file: file, line: line)
        XCTAssertEqual(show["ExecMainStatus"], "226", "[\(c)] expected 226/NAMESPACE: \(show)", file: file, line: line)
        XCTAssertFalse(run.text("\(c)/journal").contains(Self.token), "[\(c)] the service ran: \(run.text("\(c)/journal"))", file: file, line: line)
        let journal = run.text("\(c)/journal-all")
        XCTAssertTrue(journal.contains("device-mapper: verity") && journal.contains("data block 0 is corrupted"),
                      "[\(c)] no dm-verity corruption error in the journal: \(journal.suffix(4000))", file: file, line: line)
        XCTAssertTrue(journal.contains("vmcheck.service: Failed to set up mount namespacing"),
                      "[\(c)] the failure is not at mount namespace set-up: \(journal.suffix(4000))", file: file, line: line)
        XCTAssertTrue(run.text("\(c)/pid1").contains("status=226/NAMESPACE"), "[\(c)] PID 1: \(run.text("\(c)/pid1"))", file: file, line: line)
    }

    func checkGuest(_ version: String) throws {
        let run = try vmRun(version)
        XCTAssertTrue(run.text("systemd-version").hasPrefix("systemd \(version) "), run.text("systemd-version"))
        XCTAssertTrue(run.trimmed("kernel").hasSuffix("-amd64"), "guest kernel: \(run.text("kernel"))")
        let host = (try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertNotEqual(run.trimmed("kernel"), host, "the guest runs the host's kernel")
    }

    func checkPlain(_ version: String) throws {
        let run = try vmRun(version)
        assertAttachedAndDetached(run, "1-plain")
        assertRan(run, "1-plain")
        // Plain images are loop-mounted, not put through device-mapper.
        XCTAssertTrue(run.trimmed("1-plain/root-mount").contains(" - squashfs "), "[1-plain] / of the service: \(run.text("1-plain/root-mount"))")
        XCTAssertTrue(run.trimmed("1-plain/root-dev").hasPrefix("7:"), "[1-plain] / is not on a loop device: \(run.text("1-plain/root-dev"))")
        XCTAssertFalse(run.text("1-plain/dmsetup-ls").contains("-verity"), "[1-plain] \(run.text("1-plain/dmsetup-ls"))")
    }

    func checkRunsOnVerity(_ version: String, _ c: String, ddi: Bool) throws {
        let run = try vmRun(version)
        assertAttachedAndDetached(run, c)
        assertRan(run, c)
        assertOnVerity(run, c, roothash: ddi ? run.ddiRoothash : run.roothash)
    }

    func checkRefused(_ version: String, _ c: String) throws {
        let run = try vmRun(version)
        assertAttachedAndDetached(run, c)
        assertRefusedByVerity(run, c)
    }

    func testGuestIsSystemd252WithItsOwnKernel() throws { try checkGuest("252") }
    func testPlainImageAttachesAndRuns252() throws { try checkPlain("252") }
    func testVerityImageRunsOnDmVerity252() throws { try checkRunsOnVerity("252", "2-verity", ddi: false) }
    func testTamperedVerityImageFailsToStart252() throws { try checkRefused("252", "3-tampered") }
    func testDDIRunsOnDmVerity252() throws { try checkRunsOnVerity("252", "4-ddi", ddi: true) }
    func testTamperedDDIFailsToStart252() throws { try checkRefused("252", "5-ddi-tampered") }

    func testGuestIsSystemd257WithItsOwnKernel() throws { try checkGuest("257") }
    func testVerityImageRunsOnDmVerity257() throws { try checkRunsOnVerity("257", "2-verity", ddi: false) }
    func testTamperedVerityImageFailsToStart257() throws { try checkRefused("257", "3-tampered") }
    func testDDIRunsOnDmVerity257() throws { try checkRunsOnVerity("257", "4-ddi", ddi: true) }
    func testTamperedDDIFailsToStart257() throws { try checkRefused("257", "5-ddi-tampered") }

    func checkErofs(_ version: String) throws {
        let run = try vmRun(version)
        for c in ["8a-erofs-verity", "8c-erofs-ddi"] {
            assertAttachedAndDetached(run, c)
            assertRan(run, c)
            assertOnVerity(run, c, roothash: run.erofsRoothash, fsType: "erofs")
        }
        for c in ["8b-erofs-tampered", "8d-erofs-ddi-tampered"] {
            assertAttachedAndDetached(run, c)
            assertRefusedByVerity(run, c)
        }
    }

    func testErofsVerityAndDDIRunAndTamperedAreRefused252() throws { try checkErofs("252") }
    func testErofsVerityAndDDIRunAndTamperedAreRefused257() throws { try checkErofs("257") }

    /// The erofs compressions the release's own kernel mounts, a file read
    /// through each with the source's bytes; and the ones it refuses:
    /// Debian 12's 6.1 is built without CONFIG_EROFS_FS_ZIP_LZMA (the VM
    /// cache's kernel-erofs-config), and erofs's deflate (Linux 6.6) and
    /// zstd (6.10) came after it, so those three are refused there, which
    /// is why the default compression is an lz4 one (docs/erofs.md).
    /// Debian 13's 6.12 has ZIP_LZMA, ZIP_DEFLATE and ZIP_ZSTD.
    static let erofsRefusedBy = ["252": ["lzma", "deflate", "zstd"], "257": []]

    func checkErofsMounts(_ version: String) throws {
        let run = try vmRun(version)
        let busybox = try Shell.check("sha256sum", [try Shell.require("busybox")]).stdoutText.prefix(64)
        let digests = try TemporaryDirectory(prefix: "mkportable-VMTests-shared")
        try Posix.writeFile(digests.sub("a"), Self.sharedRuns)
        try Posix.writeFile(digests.sub("b"), Array(repeating: UInt8(ascii: "x"), count: 1000) + Self.sharedRuns)
        let shared = try ["a", "b"].map { try Shell.check("sha256sum", [digests.sub(RawPath($0)).string]).stdoutText.prefix(64) }
        for z in Self.erofsMountCompressions {
            let m = "mounts/erofs-\(z)"
            if Self.erofsRefusedBy[version]!.contains(z) {
                XCTAssertNotEqual(run.trimmed("\(m).rc"), "0", "[\(version), \(z)] the kernel was expected to refuse it: \(run.text("\(m).txt"))")
                XCTAssertTrue(run.text("\(m).txt").contains("erofs"), "[\(version), \(z)] no word from erofs: \(run.text("\(m).txt"))")
                continue
            }
            XCTAssertEqual(run.trimmed("\(m).rc"), "0", "[\(version), \(z)] mount -t erofs: \(run.text("\(m).txt"))")
            XCTAssertTrue(run.text("\(m).txt").contains(Self.token) && run.text("\(m).txt").contains(busybox),
                          "[\(version), \(z)] what the kernel read: \(run.text("\(m).txt"))")
            XCTAssertTrue(shared.allSatisfy { run.text("\(m).txt").contains($0) },
                          "[\(version), \(z)] share/a.txt and b.txt (pclusters shared) as the kernel read them: \(run.text("\(m).txt"))")
        }
    }

    func testErofsCompressionsOnTheKernelOf252() throws { try checkErofsMounts("252") }
    func testErofsCompressionsOnTheKernelOf257() throws { try checkErofsMounts("257") }

    /// A root hash signature made by `mkportable sign`, trusted through
    /// /etc/verity.d on systemd 257: the kernel's keyring rejects it, user
    /// space validates it, and the service runs on dm-verity.
    func testSignedImageRunsWithCertificateInVerityD257() throws {
        try checkRunsOnVerity("257", "6-signed", ddi: false)
        let run = try vmRun("257")
        let journal = run.text("6-signed/journal-all")
        XCTAssertTrue(journal.contains("trying userspace validation instead") && journal.contains("Userspace PKCS#7 validation succeeded."),
                      "[6-signed] systemd did not validate the signature in user space: \(journal.suffix(6000))")
        XCTAssertFalse(journal.contains("worked neither via the kernel nor in userspace"),
                       "[6-signed] the signature was not accepted: \(journal.suffix(6000))")
    }

    /// Without the certificate the same signed image is refused.
    func testSignedImageWithoutCertificateIsRefused257() throws {
        let run = try vmRun("257")
        let c = "7-signed-untrusted"
        assertAttachedAndDetached(run, c)
        let show = run.show(c)
        XCTAssertEqual(show["ActiveState"], "failed", "[\(c)] an image signed by an unknown key started: \(show)")
        XCTAssertEqual(show["ExecMainStatus"], "226", "[\(c)] expected 226/NAMESPACE: \(show)")
        XCTAssertFalse(run.text("\(c)/journal").contains(Self.token), "[\(c)] the service ran: \(run.text("\(c)/journal"))")
        let journal = run.text("\(c)/journal-all")
        XCTAssertTrue(journal.contains("worked neither via the kernel nor in userspace") && journal.contains("Required key not available"),
                      "[\(c)] systemd did not refuse the signature it has no certificate for: \(journal.suffix(6000))")
    }
}
