import Foundation
import SquashFS
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Faults of the file tree and of the output (issue 4): an unreadable file
/// or directory, a source that changes while it is read, a file of 4 GiB
/// and more, a directory of 100,000 entries, an output that cannot be
/// written or runs out of space, an image that exists already. Every
/// failure must be one line with the path and the fix, exit 1, and leave
/// neither the image nor the writer's temporary file behind.
///
/// Needs root for the tmpfs (disk full) and fanotify (changing source)
/// cases and `setpriv` for the permission cases; each skips with the
/// reason printed when that is not available.
final class FaultTests: PackTestCase {
    override class var temporaryPrefix: String { "faults" }

    /// A directory the unprivileged user may write.
    func openDirectory(_ name: String) throws -> RawPath {
        let d = tmp.sub(RawPath(name))
        try Posix.mkdir(d)
        try Posix.chmod(d, 0o777)
        return d
    }

    // MARK: unreadable trees

    func testUnreadableSourceAsUnprivilegedUser() throws {
        try Unprivileged.require()
        let out = try openDirectory("out")
        let cases: [(String, (TreeBuilder) throws -> Void, [String])] = [
            ("file mode 000", { t in try t.file("secret", "s3cret\n", mode: 0o000) },
             ["/src-0/secret: permission denied reading this file; make it readable (e.g. chmod a+r) for the user that runs the write"]),
            ("directory mode 000", { t in try t.dir("locked/inner"); try t.file("locked/inner/f", "x"); try t.chmod("locked", 0o000) },
             ["/src-1/locked: permission denied listing this directory; make it readable and searchable (e.g. chmod a+rx) for the user that runs the write"]),
            ("directory without search permission", { t in try t.file("blind/f", "x"); try t.chmod("blind", 0o644) },
             ["/src-2/blind: permission denied searching this directory; make it searchable (e.g. chmod a+x) for the user that runs the write"]),
        ]
        for (i, (label, make, fragments)) in cases.enumerated() {
            let t = try TreeBuilder(root: tmp.sub(RawPath("src-\(i)")))
            try t.file("a-readable-file", TestData.text(9000, seed: UInt64(i)))
            try make(t)
            let image = out.appending(RawPath("image-\(i).sqfs"))
            let (exe, args) = try Unprivileged.command(binaryCopyIn: tmp.path, ["pack", "--comp", "gzip", "--block-size", "4K", t.root.string, image.string])
            let r = try runLimited(exe, args, environment: ["SOURCE_DATE_EPOCH": nil])
            assertCleanFailure(r, prefix: packPrefix, fragments, images: [image], directories: [out], label: label)
        }

        // Two unlistable directories, one deep and first in path order, one
        // shallow: the scan lists breadth first, and whatever thread meets
        // a failure first, the one reported is the same at any --jobs.
        let t = try TreeBuilder(root: tmp.sub("src-two"))
        try t.file("a/b/locked-deep/f", "x")
        try t.file("z-locked/f", "y")
        try t.chmod("a/b/locked-deep", 0o000)
        try t.chmod("z-locked", 0o000)
        for jobs in ["1", "4"] {
            let image = out.appending(RawPath("image-two-\(jobs).sqfs"))
            let (exe, args) = try Unprivileged.command(binaryCopyIn: tmp.path, ["pack", "--jobs", jobs, "--comp", "gzip", t.root.string, image.string])
            let r = try runLimited(exe, args, environment: ["SOURCE_DATE_EPOCH": nil])
            assertCleanFailure(r, prefix: packPrefix, ["/src-two/z-locked: permission denied listing this directory"],
                               images: [image], directories: [out], label: "two locked directories, --jobs \(jobs)")
        }

        // The builder on a store path holding an unreadable file.
        let fx = try BuilderFixture(prefix: "faults-builder")
        defer { fx.remove() }
        try Posix.chmod(fx.tmp.path, 0o755)
        try Posix.writeFile(RawPath(fx.pkg + "/share/secret"), Array("s3cret".utf8), mode: 0o000)
        try Posix.writeFile(fx.attrsFile, Array(fx.json().utf8))
        try Posix.mkdir(fx.out)
        try Posix.chmod(fx.out, 0o777)
        let (exe, args) = try Unprivileged.command(binaryCopyIn: fx.tmp.path, ["build", "--attrs", fx.attrsFile.string, "--out", fx.out.string])
        let r = try runLimited(exe, args, environment: fx.environment())
        assertCleanFailure(r, ["mkportable: error: \(fx.pkg)/share/secret: permission denied reading this file"],
                           images: [fx.image()], directories: [fx.out], label: "builder")
    }

    // MARK: the output

    func testOutputNotWritable() throws {
        let src = try TreeBuilder(root: tmp.sub("src"))
        try src.file("f", "contents\n")

        // As root: an output path that is a file, a missing directory.
        let fx = try BuilderFixture(prefix: "faults-out")
        defer { fx.remove() }
        try Posix.chmod(fx.tmp.path, 0o755)
        try Posix.writeFile(fx.out, Array("not a directory".utf8))
        let notDir = try fx.build()
        assertCleanFailure(notDir, ["\(fx.out): the output path exists and is not a directory", "remove that file or choose another output"], label: "out is a file")
        XCTAssertEqual(try Posix.readFile(fx.out), Array("not a directory".utf8))
        Posix.removeTree(fx.out)

        let missing = tmp.sub("no/such/dir/image.sqfs")
        let m = try pack([src.root.string, missing.string])
        assertCleanFailure(m, prefix: packPrefix, ["\(missing): cannot create the image (No such file or directory); make sure \(tmp.path)/no/such/dir exists and is writable"], label: "pack into a missing directory")

        try Unprivileged.require()
        // Root-owned 0755 directories the unprivileged user cannot write.
        let ro = tmp.sub("read-only")
        try Posix.mkdir(ro)
        try Posix.chmod(ro, 0o755)
        let image = ro.appending("image.sqfs")
        let (exe, args) = try Unprivileged.command(binaryCopyIn: tmp.path, ["pack", "--comp", "gzip", src.root.string, image.string])
        let p = try runLimited(exe, args)
        if !Posix.isRoot { throw XCTSkip("the not-writable cases need root to make a directory the test user cannot write") }
        assertCleanFailure(p, prefix: packPrefix, ["\(image): cannot create the image (Permission denied); make sure \(ro) exists and is writable"],
                           images: [image], directories: [ro], label: "pack, directory not writable")

        try Posix.writeFile(fx.attrsFile, Array(fx.json().utf8))
        let newOut = ro.appending("out")
        let (e1, a1) = try Unprivileged.command(binaryCopyIn: tmp.path, ["build", "--attrs", fx.attrsFile.string, "--out", newOut.string])
        let b1 = try runLimited(e1, a1, environment: fx.environment())
        assertCleanFailure(b1, ["\(newOut): cannot create the output directory (Permission denied); make \(ro) writable for the user running the build, or choose another output directory"],
                           images: [newOut], label: "builder, $out cannot be made")

        let (e2, a2) = try Unprivileged.command(binaryCopyIn: tmp.path, ["build", "--attrs", fx.attrsFile.string, "--out", ro.string])
        let b2 = try runLimited(e2, a2, environment: fx.environment())
        assertCleanFailure(b2, ["\(ro)/demo_1.0.raw: cannot create the image (Permission denied); make sure \(ro) exists and is writable"],
                           directories: [ro], label: "builder, $out not writable")
    }

    func testExistingImageNeedsForce() throws {
        let src = try TreeBuilder(root: tmp.sub("src"))
        try src.file("f", "contents\n")
        let outDir = tmp.sub("out")
        try Posix.mkdir(outDir)
        let image = outDir.appending("image.sqfs")
        let original = Array("precious, not an image".utf8)
        try Posix.writeFile(image, original)
        let r = try pack(["--comp", "gzip", src.root.string, image.string])
        assertCleanFailure(r, prefix: packPrefix, ["\(image): already exists; pass --force to replace it"], label: "exists")
        XCTAssertEqual(try Posix.readFile(image), original, "the existing file was modified")
        XCTAssertEqual(imageLikeFiles(in: outDir), ["image.sqfs"], "no temporary beside it")

        let dirImage = outDir.appending("dir.sqfs")
        try Posix.mkdir(dirImage)
        for force in [[], ["--force"]] {
            let d = try pack(force + ["--comp", "gzip", src.root.string, dirImage.string])
            assertCleanFailure(d, prefix: packPrefix, ["\(dirImage): is a directory; give the path of the image file to write"], label: "directory \(force)")
        }

        let f = try pack(["--force", "--comp", "gzip", src.root.string, image.string])
        XCTAssertEqual(f.status, 0, f.summary)
        XCTAssertEqual(try Superblock.read(image).magic, 0x7371_7368, "--force replaced the file with an image")
        XCTAssertEqual(imageLikeFiles(in: outDir).sorted(), ["dir.sqfs", "image.sqfs"])
    }

    /// A file whose stat size understates its contents (procfs reports 0
    /// bytes): storing it empty would be silent data loss, so pack refuses.
    func testFileWithMoreDataThanItsSize() throws {
        guard Posix.isRoot else {
            print("note: /proc file test skipped: a bind mount needs root")
            throw XCTSkip("needs root")
        }
        let src = try TreeBuilder(root: tmp.sub("src"))
        try src.file("version", "")
        let target = src.root.appending("version")
        let m = try Shell.run("mount", ["--bind", "/proc/version", target.string])
        guard m.succeeded else {
            print("note: /proc file test skipped: bind mount refused: \(m.stderrText)")
            throw XCTSkip("bind mount refused")
        }
        defer { _ = try? Shell.run("umount", [target.string]) }
        XCTAssertEqual(try Posix.lstat(target).st_size, 0, "procfs reports size 0")
        let out = tmp.sub("out")
        try Posix.mkdir(out)
        let image = out.appending("image.sqfs")
        let r = try pack(["--comp", "gzip", src.root.string, image.string])
        assertCleanFailure(r, prefix: packPrefix,
                           ["version: has more data than its size of 0 bytes", "copy it into a regular file first"], label: "procfs")
        XCTAssertEqual(imageLikeFiles(in: out), [], "nothing may be left in the output directory")
    }

    /// ENOSPC in the middle of the image, on a 1 MiB tmpfs: one line with
    /// the image path, and the temporary file is gone (the tmpfs is empty
    /// again, so its space was given back too).
    func testDiskFillsUpMidImage() throws {
        guard Posix.isRoot else {
            print("note: disk-full test skipped: mounting a tmpfs needs root")
            throw XCTSkip("needs root")
        }
        let small = tmp.sub("small")
        try Posix.mkdir(small)
        let m = try Shell.run("mount", ["-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", small.string])
        guard m.succeeded else {
            print("note: disk-full test skipped: \(m.summary)")
            throw XCTSkip("mount refused: \(m.stderrText)")
        }
        defer {
            if !(try! Shell.run("umount", [small.string])).succeeded { _ = try? Shell.run("umount", ["-l", small.string]) }
        }
        func used() throws -> UInt64 {
            var s = statvfs()
            guard statvfs(small.string, &s) == 0 else { throw PosixError(operation: "statvfs", path: small, code: errno) }
            return UInt64(s.f_blocks - s.f_bfree) * UInt64(s.f_frsize)
        }
        let before = try used()

        // pack: 3 MiB of incompressible data into 1 MiB.
        let src = try TreeBuilder(root: tmp.sub("src"))
        for i in 0..<3 { try src.file(RawPath("random-\(i)"), TestData.random(1 << 20, seed: UInt64(100 + i))) }
        let image = small.appending("image.sqfs")
        let r = try pack(["--comp", "lz4", "--block-size", "64K", src.root.string, image.string])
        assertCleanFailure(r, prefix: packPrefix, ["\(image): no space left on the device after ", " bytes of image; free space there or write the image elsewhere"],
                           images: [image], directories: [small], label: "pack")
        XCTAssertEqual(try Posix.listDirectory(small), [], "the tmpfs must be empty again")
        XCTAssertEqual(try used(), before, "the temporary file's space must be given back")

        // The builder, with $out on the full disk.
        let fx = try BuilderFixture(prefix: "faults-enospc")
        defer { fx.remove() }
        try Posix.writeFile(RawPath(fx.pkg + "/share/random"), TestData.random(3 << 20, seed: 103))
        let out = small.appending("out")
        try Posix.writeFile(fx.attrsFile, Array(fx.json(["squash-compression": #""lz4""#]).utf8))
        let b = try fx.run(["build", "--attrs", fx.attrsFile.string, "--out", out.string])
        assertCleanFailure(b, ["\(out)/demo_1.0.raw: no space left on the device after ", "free space there or write the image elsewhere"],
                           images: [out.appending("demo_1.0.raw")], directories: [out, small], label: "builder")
        XCTAssertEqual(try Posix.listDirectory(out), [], "$out holds nothing")
    }

    // MARK: a source that changes while it is read

    /// Deterministic, in process: the tree says one size (as the scan saw
    /// it), the file on disk has another by the time the writer reads it.
    func testScannedSizeNoLongerMatches() throws {
        let dir = tmp.sub("in-process")
        try Posix.mkdir(dir)
        let cases: [(String, Int, Int, String)] = [
            ("shrank, full blocks", 300_000, 100_000, "file shrank while being read (expected 300000 bytes, found end of file at 100000); do not modify the source while the image is written"),
            ("shrank, tail only", 5000, 4000, "file shrank while being read (expected 5000 bytes, found end of file at 4000)"),
            ("shrank to nothing", 70_000, 0, "file shrank while being read (expected 70000 bytes, found end of file at 0)"),
            ("grew", 100_000, 300_000, "file changed size while being read (expected 100000 bytes, now 300000); do not modify the source while the image is written"),
            ("grew by a byte", 8192, 8193, "file changed size while being read (expected 8192 bytes, now 8193)"),
        ]
        for (label, scanned, actual, expected) in cases {
            let path = dir.appending(RawPath("source-\(scanned)-\(actual)"))
            try Posix.writeFile(path, TestData.random(actual, seed: UInt64(actual)))
            let root = Directory(mode: 0o755, entries: [
                Entry("before", .file(File(mode: 0o644, bytes: Array("fine".utf8)))),
                Entry("changing", .file(File(mode: 0o644, size: UInt64(scanned), source: .path(path.bytes)))),
            ])
            let image = dir.appending("image.sqfs")
            let options = ImageOptions(compressor: try parseCompressor("gzip", blockSize: 4096), blockSize: 4096, jobs: 2)
            // The writer writes into a descriptor it is given; naming (and
            // so what is left behind) is the caller's, tested through pack.
            let fd = open(image.string, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            XCTAssertGreaterThanOrEqual(fd, 0)
            defer { close(fd); unlink(image.string) }
            do {
                _ = try writeImage(root: root, to: fd, path: image.string, options: options)
                XCTFail("[\(label)] writeImage accepted a file of \(actual) bytes scanned as \(scanned)")
            } catch {
                XCTAssertTrue(error.message.hasPrefix("\(path): \(expected)"), "[\(label)] «\(error.message)»")
                XCTAssertFalse(error.message.contains("\n"))
            }
        }
    }

    /// The same through the executable, made deterministic with fanotify:
    /// the first time mkportable opens a source file (the scan is complete
    /// by then: it only stats), it is held while the test changes the
    /// *other* file, which mkportable has scanned but not yet opened.
    func testSourceChangedAfterTheScan() throws {
        let gate: FanotifyGate
        do { gate = try FanotifyGate() } catch {
            print("note: changing-source test skipped: \(error)")
            throw XCTSkip("\(error)")
        }
        defer { gate.close() }
        let prepared = tmp.sub("prepared")
        try Posix.mkdir(prepared)
        let scenarios: [(String, (RawPath, Int) throws -> Void, (RawPath, Int) -> [String])] = [
            ("truncated", { p, size in try Posix.truncate(p, size: UInt64(size / 2)) },
             { p, size in ["\(p): file shrank while being read (expected \(size) bytes, found end of file at \(size / 2))", "do not modify the source while the image is written"] }),
            ("extended", { p, size in try Posix.truncate(p, size: UInt64(size + 5000)) },
             { p, size in ["\(p): file changed size while being read (expected \(size) bytes, now \(size + 5000))"] }),
            ("replaced by a FIFO", { p, _ in
                let fifo = prepared.appending("fifo")
                try Posix.mkfifo(fifo)
                let rc = Posix.withCPath(fifo) { from in Posix.withCPath(p) { to in rename(from, to) } }
                if rc != 0 { throw PosixError(operation: "rename", path: p, code: errno) }
             },
             { p, _ in ["\(p): is no longer a regular file (it was replaced after the scan)"] }),
            ("deleted", { p, _ in try Posix.unlink(p) },
             { p, _ in ["\(p): the file disappeared after the scan"] }),
        ]
        for (i, (label, change, expected)) in scenarios.enumerated() {
            let src = try TreeBuilder(root: tmp.sub(RawPath("src-\(i)")))
            let sizes = ["a": 300 * 1024 + 7, "b": 200 * 1024 + 3]
            for (name, size) in sizes { try src.file(RawPath(name), TestData.random(size, seed: UInt64(size))) }
            let out = tmp.sub(RawPath("out-\(i)"))
            try Posix.mkdir(out)
            let image = out.appending("image.sqfs")
            var changed: (path: RawPath, size: Int)?
            try gate.arm(directory: src.root) { opened, _ in
                let other = opened.lastComponent == "a" ? "b" : "a"
                let p = src.root.appending(RawPath(other))
                try change(p, sizes[other]!)
                changed = (p, sizes[other]!)
            }
            let r = try pack(["--comp", "gzip", "--block-size", "4K", "--jobs", "2", src.root.string, image.string], timeout: 30)
            let gateError = gate.disarm()
            XCTAssertNil(gateError, "[\(label)] \(gateError ?? "")")
            guard let c = changed else {
                XCTFail("[\(label)] mkportable never opened a source file: \(r.summary)")
                continue
            }
            XCTAssertNotEqual(r.status, 124, "[\(label)] mkportable hung: \(r.summary)")
            assertCleanFailure(r, prefix: packPrefix, expected(c.path, c.size), images: [image], directories: [out], label: label)
        }
    }

    /// Issue 22.1: a directory swapped after the scan, for a symlink to
    /// another tree or for another directory, with the same names and
    /// sizes. The reader opens every file beneath the scanned root with no
    /// link followed and compares device and inode with the scan, so both
    /// fail, naming the file, and no image is left. Deterministic: the swap
    /// happens while mkportable's first open in `d1` is held (fanotify),
    /// before `d2` is read.
    func testDirectorySwappedAfterTheScanIsRefused() throws {
        let gate: FanotifyGate
        do { gate = try FanotifyGate() } catch {
            print("note: swapped-directory test skipped: \(error)")
            throw XCTSkip("\(error)")
        }
        defer { gate.close() }
        let scenarios: [(String, (RawPath, RawPath, RawPath) throws -> Void)] = [
            ("a symlink to another tree", { root, d2, elsewhere in
                try self.move(d2, root.appending("d2-orig"))
                try Posix.symlink(target: Array(elsewhere.string.utf8), at: d2)
            }),
            ("another directory", { root, d2, elsewhere in
                try self.move(d2, root.appending("d2-orig"))
                try self.move(elsewhere, d2)
            }),
        ]
        for (i, (label, swap)) in scenarios.enumerated() {
            let src = try TreeBuilder(root: tmp.sub(RawPath("swap-src-\(i)")))
            try src.file("d1/a", TestData.random(100_000, seed: 1))
            try src.file("d2/b", TestData.random(100_000, seed: 2))
            let elsewhere = try TreeBuilder(root: tmp.sub(RawPath("swap-else-\(i)")))
            try elsewhere.file("b", [UInt8](repeating: 0x41, count: 100_000))
            let out = tmp.sub(RawPath("swap-out-\(i)"))
            try Posix.mkdir(out)
            let image = out.appending("image.raw")
            let d2 = src.root.appending("d2")
            try gate.arm(directory: src.root.appending("d1")) { _, _ in try swap(src.root, d2, elsewhere.root) }
            let r = try pack(["--comp", "gzip", src.root.string, image.string], timeout: 30)
            XCTAssertNil(gate.disarm(), "[\(label)]")
            assertCleanFailure(r, prefix: packPrefix, ["\(d2.appending("b")): ", "after the scan; do not modify the source while the image is written"],
                               images: [image], directories: [out], label: label)
        }
    }

    private func move(_ from: RawPath, _ to: RawPath) throws {
        let rc = Posix.withCPath(from) { f in Posix.withCPath(to) { t in Glibc.rename(f, t) } }
        if rc != 0 { throw PosixError(operation: "rename", path: from, code: errno) }
    }

    /// Killed while writing (a build timeout, Ctrl-C): the temporary file
    /// goes too. SIGTERM is sent when mkportable first opens a source file,
    /// so the temporary image exists by then.
    func testInterruptedWriteLeavesNothing() throws {
        let gate: FanotifyGate
        do { gate = try FanotifyGate() } catch {
            print("note: interrupted-write test skipped: \(error)")
            throw XCTSkip("\(error)")
        }
        defer { gate.close() }
        for (i, sig) in [SIGTERM, SIGINT, SIGHUP].enumerated() {
            let src = try TreeBuilder(root: tmp.sub(RawPath("src-\(i)")))
            try src.file("a", TestData.random(300_000, seed: 7))
            let out = tmp.sub(RawPath("out-\(i)"))
            try Posix.mkdir(out)
            let image = out.appending("image.sqfs")
            var sawTemporary = false
            try gate.arm(directory: src.root) { _, pid in
                // The image being written: an unnamed (O_TMPFILE) file in
                // `out` that only the writer's descriptor names, or where
                // the file system lacks those, a `.tmp-` file there.
                sawTemporary = imageLikeFiles(in: out).contains { $0.contains(".tmp-") }
                    || openFiles(of: pid).contains { $0.hasPrefix(out.string + "/#") && $0.hasSuffix(" (deleted)") }
                kill(pid, sig)
            }
            let r = try pack(["--comp", "gzip", src.root.string, image.string], timeout: 30)
            XCTAssertNil(gate.disarm())
            XCTAssertTrue(sawTemporary, "[signal \(sig)] the temporary image did not exist while writing")
            XCTAssertEqual(r.status, 128 + sig, "[signal \(sig)] mkportable must die of the signal: \(r.summary)")
            XCTAssertEqual(imageLikeFiles(in: out), [], "[signal \(sig)] left behind")
        }
    }

    // MARK: big inputs

    /// A file of 4 GiB and more (sparse on disk) with data at the start,
    /// across the 4 GiB boundary and in the tail: packed, then extracted
    /// with unsquashfs and compared by size and bytes.
    func testFileOfFourGiBAndMore() throws {
        let size: UInt64 = (1 << 32) + 12345
        let start = TestData.random(64, seed: 1), boundary = TestData.random(64, seed: 2), tail = TestData.random(4096, seed: 3)
        let boundaryAt: UInt64 = (1 << 32) - 32
        let src = try TreeBuilder(root: tmp.sub("src"))
        try src.sparseFile("big", size: size, chunks: [(0, start), (boundaryAt, boundary), (size - 4096, tail)])
        try src.file("small", "after the big one\n")
        let image = tmp.sub("big.sqfs")
        let r = try pack(["--comp", "lz4", "--block-size", "1M", src.root.string, image.string], timeout: 600)
        XCTAssertEqual(r.status, 0, r.summary)
        let st = try Posix.lstat(image)
        XCTAssertLessThan(st.st_size, 1 << 20, "the zero blocks must be stored sparse")

        let listing = try Shell.check("unsquashfs", ["-lln", image.string]).stdoutText
        XCTAssertTrue(listing.contains(" \(size) 1970-01-01 00:00 squashfs-root/big"), listing)

        let ex = tmp.sub("extracted")
        try Shell.check("unsquashfs", ["-n", "-no-xattrs", "-d", ex.string, image.string])
        let big = ex.appending("big")
        XCTAssertEqual(UInt64(try Posix.lstat(big).st_size), size)
        func bytes(at offset: UInt64, _ count: Int) throws -> [UInt8] {
            let fd = try Posix.withCPath(big) { p -> Int32 in
                let fd = open(p, O_RDONLY)
                if fd < 0 { throw PosixError(operation: "open", path: big, code: errno) }
                return fd
            }
            defer { close(fd) }
            var b = [UInt8](repeating: 0xAA, count: count)
            let n = b.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
            XCTAssertEqual(n, count, "short read at \(offset)")
            return b
        }
        XCTAssertEqual(try bytes(at: 0, 64), start, "first bytes")
        XCTAssertEqual(try bytes(at: boundaryAt, 64), boundary, "bytes across the 4 GiB boundary")
        XCTAssertEqual(try bytes(at: size - 4096, 4096), tail, "tail")
        XCTAssertEqual(try bytes(at: (1 << 32) + 4096, 64), [UInt8](repeating: 0, count: 64), "zeros after the boundary")
        XCTAssertEqual(try bytes(at: 1 << 31, 64), [UInt8](repeating: 0, count: 64), "zeros in the middle")
        XCTAssertEqual(try Posix.readFile(ex.appending("small")), Array("after the big one\n".utf8))
    }

    /// One directory of 100,000 entries (files, some with contents, some
    /// directories and symlinks), read back with unsquashfs.
    func testDirectoryWith100000Entries() throws {
        let dir = tmp.sub("src/many")
        try Posix.makeDirectories(dir)
        var expected: [String: String] = [:]
        for i in 0..<100_000 {
            let name = String(format: "entry-%06d", i)
            let p = dir.appending(RawPath(name))
            switch i % 1000 {
            case 1:
                try Posix.mkdir(p)
                expected[name] = "d"
            case 2:
                try Posix.symlink(target: Array("entry-\(i - 2)".utf8), at: p)
                expected[name] = "l"
            case 3:
                try Posix.writeFile(p, Array("file \(i)\n".utf8))
                expected[name] = "f\(("file \(i)\n").utf8.count)"
            default:
                let fd = Posix.withCPath(p) { open($0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) }
                guard fd >= 0 else { throw PosixError(operation: "open", path: p, code: errno) }
                close(fd)
                expected[name] = "f0"
            }
        }
        let image = tmp.sub("many.sqfs")
        let r = try pack(["--comp", "lz4", "--block-size", "128K", tmp.sub("src").string, image.string], timeout: 600)
        XCTAssertEqual(r.status, 0, r.summary)

        let listing = try Shell.check("unsquashfs", ["-lln", image.string]).stdoutText
        var seen: [String: String] = [:]
        let prefix = "squashfs-root/many/"
        for line in listing.split(separator: "\n") {
            guard let range = line.range(of: prefix) else { continue }
            var name = String(line[range.upperBound...])
            if let arrow = name.range(of: " -> ") { name = String(name[..<arrow.lowerBound]) }
            if name.contains("/") { continue }
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            switch line.first {
            case "d": seen[name] = "d"
            case "l": seen[name] = "l"
            case "-": seen[name] = "f\(fields[2])"
            default: seen[name] = "?"
            }
        }
        XCTAssertEqual(seen.count, 100_000, "entries listed")
        let wrong = expected.filter { seen[$0.key] != $0.value }.keys.sorted()
        XCTAssertTrue(wrong.isEmpty, "\(wrong.count) entries differ, e.g. \(wrong.prefix(5).map { "\($0): \(seen[$0] ?? "missing") vs \(expected[$0]!)" })")
        // Contents of a sample, and a lookup by name through the index.
        let cat = try Shell.check("unsquashfs", ["-cat", image.string, "many/entry-099003"]).stdoutText
        XCTAssertEqual(cat, "file 99003\n")
    }
}

// MARK: - fanotify

/// Holds the first open of a file in one directory until a callback has
/// run (FAN_OPEN_PERM, root only). The callback must not open files in
/// that directory itself (its own open would wait for itself).
final class FanotifyGate: @unchecked Sendable {
    struct Unavailable: Error, CustomStringConvertible { var description: String }

    private typealias InitFn = @convention(c) (UInt32, UInt32) -> Int32
    private typealias MarkFn = @convention(c) (Int32, UInt32, UInt64, Int32, UnsafePointer<CChar>?) -> Int32
    private static let FAN_CLOEXEC: UInt32 = 0x01, FAN_CLASS_CONTENT: UInt32 = 0x04
    private static let FAN_MARK_ADD: UInt32 = 0x01, FAN_MARK_REMOVE: UInt32 = 0x02
    private static let FAN_OPEN_PERM: UInt64 = 0x0001_0000, FAN_EVENT_ON_CHILD: UInt64 = 0x0800_0000
    private static let FAN_ALLOW: UInt32 = 0x01

    private let fd: Int32
    private let mark: MarkFn
    private let lock = NSLock()
    private var thread: Thread?
    private var stop = false
    private var done = DispatchSemaphore(value: 0)
    private var directory: RawPath?
    private var failure: String?

    init() throws {
        guard Posix.isRoot else { throw Unavailable(description: "fanotify permission events need root (CAP_SYS_ADMIN)") }
        guard let h = dlopen(nil, RTLD_NOW), let i = dlsym(h, "fanotify_init"), let m = dlsym(h, "fanotify_mark") else {
            throw Unavailable(description: "fanotify_init/fanotify_mark not in the C library")
        }
        let initFn = unsafeBitCast(i, to: InitFn.self)
        mark = unsafeBitCast(m, to: MarkFn.self)
        fd = initFn(Self.FAN_CLOEXEC | Self.FAN_CLASS_CONTENT, UInt32(O_RDONLY | O_CLOEXEC))
        if fd < 0 { throw Unavailable(description: "fanotify_init: \(String(cString: strerror(errno)))") }
    }

    /// Watches `dir`; on the first open of a file in it, runs `body` with
    /// that file's path, then lets the open proceed. Later opens proceed
    /// at once.
    /// `when`, if given, picks the open to hold: earlier ones proceed.
    func arm(directory dir: RawPath, when: ((RawPath) -> Bool)? = nil, _ body: @escaping (_ opened: RawPath, _ pid: Int32) throws -> Void) throws {
        let rc = Posix.withCPath(dir) { mark(fd, Self.FAN_MARK_ADD, Self.FAN_OPEN_PERM | Self.FAN_EVENT_ON_CHILD, AT_FDCWD, $0) }
        if rc != 0 { throw Unavailable(description: "fanotify_mark \(dir): \(String(cString: strerror(errno)))") }
        lock.lock()
        directory = dir
        stop = false
        failure = nil
        done = DispatchSemaphore(value: 0)
        lock.unlock()
        let t = Thread { [self] in self.serve(when ?? { _ in true }, body) }
        thread = t
        t.start()
    }

    /// Stops watching; returns what went wrong in the callback, if anything.
    func disarm() -> String? {
        lock.lock()
        stop = true
        let dir = directory
        lock.unlock()
        done.wait()
        if let dir { _ = Posix.withCPath(dir) { mark(fd, Self.FAN_MARK_REMOVE, Self.FAN_OPEN_PERM | Self.FAN_EVENT_ON_CHILD, AT_FDCWD, $0) } }
        lock.lock()
        defer { lock.unlock() }
        return failure
    }

    func close() { _ = Glibc.close(fd) }

    private func serve(_ when: (RawPath) -> Bool, _ body: (RawPath, Int32) throws -> Void) {
        defer { done.signal() }
        var fired = false
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            lock.lock()
            let stopping = stop
            lock.unlock()
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, 20)
            if ready <= 0 {
                if stopping { return }
                continue
            }
            let n = read(fd, buffer, 4096)
            if n <= 0 { continue }
            var offset = 0
            while offset + 24 <= n {
                let eventLength = Int(buffer.load(fromByteOffset: offset, as: UInt32.self))
                let eventFd = buffer.load(fromByteOffset: offset + 16, as: Int32.self)
                let pid = buffer.load(fromByteOffset: offset + 20, as: Int32.self)
                if eventFd >= 0 {
                    var target = [CChar](repeating: 0, count: 4096)
                    let len = fired ? 0 : readlink("/proc/self/fd/\(eventFd)", &target, 4096)
                    let opened = RawPath(len > 0 ? target[..<len].map { UInt8(bitPattern: $0) } : [])
                    if !fired && when(opened) {
                        fired = true
                        do { try body(opened, pid) } catch {
                            lock.lock()
                            failure = "the change failed: \(error)"
                            lock.unlock()
                        }
                    }
                    var response = (eventFd, Self.FAN_ALLOW)
                    _ = withUnsafeBytes(of: &response) { write(fd, $0.baseAddress, 8) }
                    _ = Glibc.close(eventFd)
                }
                offset += max(eventLength, 24)
            }
        }
    }
}

/// Where the open descriptors of process `pid` lead (readlink of
/// /proc/PID/fd/N; an unnamed O_TMPFILE file reads "DIR/#INODE (deleted)").
func openFiles(of pid: Int32) -> [String] {
    guard let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { return [] }
    return fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)") }
}
