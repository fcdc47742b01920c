import Foundation
import SquashFS
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Issue 13, "no crash, no read outside the closure, no clobbered file":
/// the output side. Each case asserts the exit status, the one line that
/// names the culprit, and what is left on disk.
///
/// - the destination: `--force` never replaces what is not a regular file;
///   without it, an image that appears while packing is kept (publishing
///   cannot replace); an empty IMAGE is refused before any work;
/// - deaths: SIGKILL and the file size limit leave nothing in the output
///   directory (the image is an unnamed O_TMPFILE file until complete);
/// - threads: a process limit gives fewer threads and a note, or one clean
///   error, never a crash; every source of the job count is capped;
/// - numbers: digits only, wherever they come from;
/// - the source: a symlink to a directory is followed; the image being
///   replaced is no part of the new one.
final class HardeningTests: PackTestCase {
    override class var temporaryPrefix: String { "harden" }

    func source(_ name: String = "src", bytes: Int = 4000) throws -> TreeBuilder {
        let t = try TreeBuilder(root: tmp.sub(RawPath(name)))
        try t.file("a", TestData.text(bytes, seed: 1))
        try t.file("d/b", TestData.random(bytes, seed: 2))
        try t.symlink("l", to: "d/b")
        return t
    }

    func fileType(_ p: RawPath) throws -> mode_t { try Posix.lstat(p).st_mode & S_IFMT }

    func sha256(_ p: RawPath) throws -> String {
        var h = SHA256Digest()
        h.update(try Posix.readFile(p))
        return h.finalizeHex()
    }

    /// The image's paths, as `unsquashfs -l` lists them.
    func listing(_ image: RawPath) throws -> [String] {
        let r = try Shell.run(try Shell.require("unsquashfs"), ["-l", "-d", "", image.string])
        XCTAssertTrue(r.succeeded, r.summary)
        return r.stdoutText.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("Parallel") && !$0.isEmpty }
    }

    // MARK: the destination

    /// `--force` replaced /dev/null by a regular file, and FIFOs likewise:
    /// now anything that exists and is not a regular file is refused,
    /// with or without --force, and left as it was.
    func testForceNeverReplacesWhatIsNotARegularFile() throws {
        let src = try source()
        let out = tmp.sub("out")
        try Posix.mkdir(out)
        var cases: [(RawPath, String, mode_t)] = []
        let fifo = out.appending("fifo.raw")
        try Posix.mkfifo(fifo)
        cases.append((fifo, "a FIFO", S_IFIFO))
        let link = out.appending("link.raw")
        try Posix.writeFile(out.appending("target"), Array("precious".utf8))
        try Posix.symlink(target: Array("target".utf8), at: link)
        cases.append((link, "a symlink", S_IFLNK))
        let sock = out.appending("sock.raw")
        try Posix.makeSocket(sock)
        cases.append((sock, "a socket", S_IFSOCK))
        if Posix.isRoot {
            let dev = out.appending("null.raw")
            try Posix.mknod(dev, type: S_IFCHR, mode: 0o666, major: 1, minor: 3)
            cases.append((dev, "a character device", S_IFCHR))
        } else {
            print("note: character-device destination skipped: mknod needs root")
        }
        for (path, kind, type) in cases {
            for force in [["--force"], []] {
                let r = try pack(force + ["--comp", "gzip", src.root.string, path.string])
                assertCleanFailure(r, prefix: packPrefix, ["\(path): is \(kind), not a regular file; an image only ever replaces a regular file"],
                                   label: "\(kind) \(force)")
                XCTAssertEqual(try fileType(path), type, "[\(kind)] the destination must be left as it was")
            }
        }
        XCTAssertEqual(try Posix.readFile(out.appending("target")), Array("precious".utf8), "the symlink's target is untouched")
        XCTAssertFalse(try Posix.listDirectory(out).contains { $0.string.contains(".tmp-") }, "no temporary left")

        // The builder replaces an image of its name, but only a regular file.
        let fx = try BuilderFixture(prefix: "harden-builder-dest")
        defer { fx.remove() }
        try Posix.mkdir(fx.out)
        try Posix.mkfifo(fx.image())
        let b = try fx.build()
        assertCleanFailure(b, ["\(fx.image()): is a FIFO, not a regular file"], label: "builder onto a FIFO")
        XCTAssertEqual(try fileType(fx.image()), S_IFIFO)
    }

    func testEmptyOrDirectoryLikeImagePathIsRefusedFirst() throws {
        let src = try source()
        let r = try pack(["--comp", "gzip", src.root.string, ""])
        assertCleanFailure(r, prefix: packPrefix, ["the image path is empty; give the path of the image file to write"], label: "empty")
        let d = try pack(["--comp", "gzip", src.root.string, tmp.sub("nodir").string + "/"])
        assertCleanFailure(d, prefix: packPrefix, ["nodir/: ends with '/'; give the path of the image file"], label: "trailing slash")
        // Nothing was written anywhere, not even in the current directory.
        XCTAssertEqual(imageLikeFiles(in: RawPath(FileManager.default.currentDirectoryPath)), [])
        XCTAssertNil(try Posix.lstatIfExists(tmp.sub("nodir")))
    }

    /// Two packs to one output: the check at the start passes for both,
    /// and the later one must not silently replace the first. Here the
    /// "other pack" is a file made while the writer is reading the source.
    func testImageThatAppearsWhilePackingIsKept() throws {
        let gate: FanotifyGate
        do { gate = try FanotifyGate() } catch {
            print("note: appeared-while-packing test skipped: \(error)")
            throw XCTSkip("\(error)")
        }
        defer { gate.close() }
        for force in [false, true] {
            let src = try source("src-\(force)", bytes: 300_000)
            let out = tmp.sub(RawPath("out-\(force)"))
            try Posix.mkdir(out)
            let image = out.appending("image.raw")
            let other = Array("the other pack's image".utf8)
            try gate.arm(directory: src.root.appending("d")) { _, _ in
                try Posix.writeFile(image, other)
            }
            let r = try pack((force ? ["--force"] : []) + ["--comp", "gzip", src.root.string, image.string])
            XCTAssertNil(gate.disarm())
            if force {
                XCTAssertEqual(r.status, 0, r.summary)
                XCTAssertEqual(try Superblock.read(image).magic, 0x7371_7368, "--force replaces what appeared")
            } else {
                assertCleanFailure(r, prefix: packPrefix, ["\(image): appeared while packing; it was left as it is and the new image discarded"],
                                   label: "appeared")
                XCTAssertEqual(try Posix.readFile(image), other, "what appeared is kept as it was")
            }
            XCTAssertEqual(try Posix.listDirectory(out).map(\.string), ["image.raw"], "[force \(force)] nothing else in the output directory")
        }
    }

    /// Where no unnamed file can be had (a file system without
    /// O_TMPFILE, or no /proc to name one by), the image goes to a named
    /// `.NAME.tmp-PID` file, published with RENAME_NOREPLACE (or link +
    /// unlink): the same guarantees, except after SIGKILL. No file system
    /// here lacks O_TMPFILE, so MKPORTABLE_NAMED_TEMPORARIES takes that path.
    func testNamedTemporaryFallbackKeepsTheGuarantees() throws {
        let gate: FanotifyGate
        do { gate = try FanotifyGate() } catch {
            print("note: named-temporary fallback test skipped: \(error)")
            throw XCTSkip("\(error)")
        }
        defer { gate.close() }
        func packNamed(_ args: [String]) throws -> CommandResult {
            try pack(args, env: ["MKPORTABLE_NAMED_TEMPORARIES": "1"], timeout: 60)
        }
        let src = try source(bytes: 300_000)
        let out = tmp.sub("out")
        try Posix.mkdir(out)
        let image = out.appending("image.raw")
        let reference = tmp.sub("reference.raw")
        XCTAssertEqual(try pack(["--comp", "gzip", src.root.string, reference.string]).status, 0)

        // It works, and the image is the same.
        let r = try packNamed(["--comp", "gzip", src.root.string, image.string])
        XCTAssertEqual(r.status, 0, r.summary)
        XCTAssertEqual(try sha256(image), try sha256(reference))
        try Posix.unlink(image)

        // The named temporary is there while writing; an image that
        // appears meanwhile is kept.
        var sawTemporary = false
        try gate.arm(directory: src.root.appending("d")) { _, _ in
            sawTemporary = imageLikeFiles(in: out).contains { $0.contains(".tmp-") }
            try Posix.writeFile(image, Array("other".utf8))
        }
        let a = try packNamed(["--comp", "gzip", src.root.string, image.string])
        XCTAssertNil(gate.disarm())
        XCTAssertTrue(sawTemporary, "the fallback writes to a named temporary file")
        assertCleanFailure(a, prefix: packPrefix, ["\(image): appeared while packing"], label: "fallback, appeared")
        XCTAssertEqual(try Posix.readFile(image), Array("other".utf8))
        XCTAssertEqual(try Posix.listDirectory(out).map(\.string), ["image.raw"])

        // SIGTERM removes it.
        try Posix.unlink(image)
        try gate.arm(directory: src.root.appending("d")) { _, pid in kill(pid, SIGTERM) }
        let t = try packNamed(["--comp", "gzip", src.root.string, image.string])
        XCTAssertNil(gate.disarm())
        XCTAssertEqual(t.status, 128 + SIGTERM, t.summary)
        XCTAssertEqual(try Posix.listDirectory(out), [], "SIGTERM left the named temporary")
    }

    /// The sidecars of --verity follow the image's rules: a sidecar that
    /// appears while packing is kept, and only what this run wrote is
    /// removed again.
    func testSidecarThatAppearsWhilePackingIsKept() throws {
        let gate: FanotifyGate
        do { gate = try FanotifyGate() } catch {
            print("note: sidecar test skipped: \(error)")
            throw XCTSkip("\(error)")
        }
        defer { gate.close() }
        let src = try source(bytes: 300_000)
        let out = tmp.sub("out")
        try Posix.mkdir(out)
        let image = out.appending("demo_1.0.raw"), roothash = out.appending("demo_1.0.roothash")
        let other = Array("someone else's root hash\n".utf8)
        try gate.arm(directory: src.root.appending("d")) { _, _ in try Posix.writeFile(roothash, other) }
        let r = try pack(["--verity", "--comp", "gzip", src.root.string, image.string])
        XCTAssertNil(gate.disarm())
        assertCleanFailure(r, prefix: packPrefix, ["\(roothash): appeared while packing; it was left as it is"], label: "sidecar appeared")
        XCTAssertEqual(try Posix.readFile(roothash), other, "the sidecar that appeared is kept")
        XCTAssertEqual(try Posix.listDirectory(out).map(\.string), ["demo_1.0.roothash"], "the image and .verity of this run are gone, nothing else")
    }

    // MARK: deaths

    /// SIGKILL at random moments of a write (from the scan to the
    /// publish): afterwards the output directory holds either nothing or
    /// the complete image, never a partial one or a temporary file,
    /// because the image has no name until it is complete.
    func testSIGKILLAtRandomPointsLeavesNothingOrTheWholeImage() throws {
        let src = try TreeBuilder(root: tmp.sub("src"))
        for i in 0..<40 { try src.file(RawPath("sub/f\(i)"), TestData.random(400_000, seed: UInt64(i))) }
        let reference = tmp.sub("reference.raw")
        let ref = try pack(["--comp", "gzip", "--block-size", "64K", src.root.string, reference.string])
        XCTAssertEqual(ref.status, 0, ref.summary)
        var rng = SystemRandomNumberGenerator()
        var killed = 0
        for round in 0..<8 {
            let out = tmp.sub(RawPath("out-\(round)"))
            try Posix.mkdir(out)
            let image = out.appending("image.raw")
            let p = Process()
            p.executableURL = URL(fileURLWithPath: try MkportableBinary.path())
            p.arguments = ["pack", "--comp", "gzip", "--block-size", "64K", src.root.string, image.string]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(UInt32.random(in: 0..<600_000, using: &rng))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let left = try Posix.listDirectory(out).map(\.string)
            if p.terminationReason == .uncaughtSignal {
                killed += 1
                XCTAssertTrue(left == [] || left == ["image.raw"], "[round \(round)] left: \(left)")
            } else {
                XCTAssertEqual(p.terminationStatus, 0, "[round \(round)]")
                XCTAssertEqual(left, ["image.raw"])
            }
            if left == ["image.raw"] {
                XCTAssertEqual(try sha256(image), try sha256(reference), "[round \(round)] a named image is the complete one")
            }
        }
        print("note: SIGKILL rounds: \(killed) of 8 killed mid-run")
    }

    /// SIGXFSZ used to kill the writer and leave its temporary file; and
    /// the message gave the buffered, not the written, byte count.
    func testFileSizeLimitIsACleanErrorWithTheRightCount() throws {
        let src = try source(bytes: 200_000)
        let out = tmp.sub("out")
        try Posix.mkdir(out)
        let image = out.appending("image.raw")
        let prlimit = try prlimitOrSkip("file-size-limit")
        let bin = try MkportableBinary.path()
        let r = try runLimited(prlimit, ["--fsize=20480", "--", bin, "pack", "--comp", "gzip", src.root.string, image.string],
                               environment: ["SOURCE_DATE_EPOCH": nil, "NIX_BUILD_CORES": "2"])
        // The limit is in bytes: the file reached exactly 20480 of them.
        assertCleanFailure(r, prefix: packPrefix, ["\(image): the file size limit (ulimit -f, RLIMIT_FSIZE) stopped the image after 20480 bytes"],
                           images: [image], directories: [out], label: "ulimit -f")
        XCTAssertEqual(try Posix.listDirectory(out), [])
    }

    /// Too few file descriptors (RLIMIT_NOFILE) gave "Too many open
    /// files" and no word of what to change: now one line that names the
    /// limit, and nothing left, for either file system.
    func testOpenFileLimitIsOneLineNamingTheLimit() throws {
        let prlimit = try prlimitOrSkip("open-file-limit")
        let src = try source(bytes: 100_000)
        let out = tmp.sub("out")
        try Posix.mkdir(out)
        for fs in ["squashfs", "erofs"] {
            let image = out.appending(RawPath("\(fs).raw"))
            let r = try runLimited(prlimit, ["--nofile=5", "--", try MkportableBinary.path(), "pack", "--filesystem", fs, src.root.string, image.string],
                                   environment: ["SOURCE_DATE_EPOCH": nil, "NIX_BUILD_CORES": "2"])
            assertCleanFailure(r, prefix: packPrefix, ["Too many open files; raise the open-file limit, ulimit -n"],
                               images: [image], directories: [out], label: "ulimit -n, \(fs)")
        }
        XCTAssertEqual(try Posix.listDirectory(out), [])
    }

    /// util-linux's prlimit, which sets one limit for one command; the
    /// test is skipped, with a note, where it is missing.
    private func prlimitOrSkip(_ test: String) throws -> String {
        guard let prlimit = Shell.which("prlimit") else {
            print("note: \(test) test skipped: prlimit (util-linux) not found")
            throw XCTSkip("prlimit not found")
        }
        return prlimit
    }

    // MARK: threads

    /// `pthread_create` failing used to trap (SIGILL, a 160,000-line
    /// backtrace, a temporary file left). Under a real RLIMIT_NPROC (an
    /// unprivileged user: root ignores the limit) the writer runs with
    /// the threads it gets and says so, or fails with one line.
    func testThreadLimitGivesFewerThreadsOrOneCleanError() throws {
        try Unprivileged.require()
        let prlimit = try prlimitOrSkip("thread-limit")
        let src = try source(bytes: 100_000)
        try Posix.chmod(src.root, 0o755)
        try Posix.chmod(src.full("d"), 0o755)
        let out = tmp.sub("out")
        try Posix.mkdir(out)
        try Posix.chmod(out, 0o777)
        let reference = out.appending("reference.raw")
        XCTAssertEqual(try pack(["--jobs", "1", "--comp", "gzip", src.root.string, reference.string]).status, 0)

        // Count the user's processes: the limit counts all of them.
        let others = (try? Shell.run("pgrep", ["-c", "-u", String(Unprivileged.uid)]).stdoutText)
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        for (limit, expectImage) in [(others + 3, true), (others + 1, false)] {
            let image = out.appending(RawPath("limited-\(limit).raw"))
            let (cmd, args) = try Unprivileged.command(binaryCopyIn: tmp.path,
                ["pack", "--jobs", "64", "--comp", "gzip", src.root.string, image.string])
            let r = try runLimited(prlimit, ["--nproc=\(limit)", "--", cmd] + args, environment: ["SOURCE_DATE_EPOCH": nil], timeout: 60)
            if expectImage {
                XCTAssertEqual(r.status, 0, r.summary)
                XCTAssertTrue(r.stderrText.hasPrefix("mkportable pack: note: started ") && r.stderrText.contains(" of 64 compression threads (Resource temporarily unavailable)"),
                              "one note: «\(r.stderrText)»")
                XCTAssertEqual(r.stderrText.filter { $0 == "\n" }.count, 1, "one line: «\(r.stderrText)»")
                XCTAssertEqual(try sha256(image), try sha256(reference), "fewer threads, the same image")
            } else {
                assertCleanFailure(r, prefix: packPrefix, ["cannot start a single compression thread (Resource temporarily unavailable)", "ulimit -u"],
                                   images: [image], label: "no thread at all")
            }
        }
        XCTAssertFalse(imageLikeFiles(in: out).contains { $0.contains(".tmp-") })
    }

    /// Memory limits (RLIMIT_AS, which binds root too) made Swift's
    /// allocator trap: now the writer runs fewer threads, with a note, or
    /// fails with one line, and leaves nothing.
    func testMemoryLimitGivesFewerThreadsOrOneCleanError() throws {
        let prlimit = try prlimitOrSkip("memory-limit")
        let src = try source(bytes: 100_000)
        let out = tmp.sub("out")
        try Posix.mkdir(out)
        let reference = out.appending("reference.raw")
        XCTAssertEqual(try pack(["--jobs", "1", "--comp", "gzip", src.root.string, reference.string]).status, 0)
        var sawNote = false, sawError = false
        for megabytes in [600, 300, 150, 80, 40] {
            let image = out.appending(RawPath("as-\(megabytes).raw"))
            let r = try runLimited(prlimit, ["--as=\(megabytes << 20)", "--", try MkportableBinary.path(), "pack", "--jobs", "64", "--comp", "gzip", src.root.string, image.string],
                                   environment: ["SOURCE_DATE_EPOCH": nil], timeout: 60)
            XCTAssertEqual(r.stderrText.filter { $0 == "\n" }.count, 1, "[\(megabytes) MB] one line: «\(r.stderrText)»")
            if r.status == 0 {
                sawNote = true
                XCTAssertTrue(r.stderrText.hasPrefix("mkportable pack: note: started "), "[\(megabytes) MB] «\(r.stderrText)»")
                XCTAssertEqual(try sha256(image), try sha256(reference), "[\(megabytes) MB] fewer threads, the same image")
            } else {
                sawError = true
                assertCleanFailure(r, prefix: packPrefix, ["ulimit -v"], images: [image], label: "\(megabytes) MB")
            }
        }
        XCTAssertTrue(sawNote && sawError, "the limits span both outcomes (note \(sawNote), error \(sawError))")
        XCTAssertFalse(imageLikeFiles(in: out).contains { $0.contains(".tmp-") })
    }

    /// NIX_BUILD_CORES=100000 ran `pack` for 140 s before it crashed: the
    /// builder's cap (1024) now applies to every source of the count.
    func testEverySourceOfTheJobCountIsCapped() throws {
        let src = try source()
        let a = tmp.sub("a.raw"), b = tmp.sub("b.raw")
        let start = Date()
        let r = try pack(["--comp", "gzip", src.root.string, a.string], env: ["NIX_BUILD_CORES": "100000"], timeout: 60)
        XCTAssertEqual(r.status, 0, r.summary)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30, "capped thread count")
        XCTAssertEqual(try pack(["--jobs", "1", "--comp", "gzip", src.root.string, b.string]).status, 0)
        XCTAssertEqual(try sha256(a), try sha256(b))
        let huge = try pack(["--comp", "gzip", src.root.string, tmp.sub("c.raw").string], env: ["NIX_BUILD_CORES": "99999999999999999999999"], timeout: 60)
        XCTAssertEqual(huge.status, 0, huge.summary)
        let j = try pack(["--jobs", "1025", "--comp", "gzip", src.root.string, tmp.sub("d.raw").string])
        assertCleanFailure(j, prefix: packPrefix, ["--jobs \"1025\": must be a whole number from 1 to 1024"], images: [tmp.sub("d.raw")], label: "--jobs 1025")
    }

    // MARK: deep trees

    /// Makes `depth` nested directories `dNN` under `root` with openat
    /// (their paths outgrow PATH_MAX), `mid.txt` halfway, and at the
    /// bottom `bottom.txt` and a symlink to it. Returns the bottom's fd
    /// path components.
    func makeDeepTree(_ root: RawPath, depth: Int) throws -> [String] {
        try Posix.mkdir(root)
        var fd = open(root.string, O_RDONLY | O_DIRECTORY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        var components: [String] = []
        for i in 0..<depth {
            let name = String(format: "d%02d", i % 100)
            XCTAssertEqual(mkdirat(fd, name, 0o755), 0)
            if i == depth / 2 {
                let f = openat(fd, "mid.txt", O_WRONLY | O_CREAT, 0o644)
                _ = write(f, "middle\n", 7)
                close(f)
            }
            let next = openat(fd, name, O_RDONLY | O_DIRECTORY)
            close(fd)
            fd = next
            components.append(name)
        }
        let f = openat(fd, "bottom.txt", O_WRONLY | O_CREAT, 0o644)
        let bytes = TestData.text(50_000, seed: 9)
        _ = bytes.withUnsafeBytes { write(f, $0.baseAddress, $0.count) }
        close(f)
        XCTAssertEqual(symlinkat("bottom.txt", fd, "link"), 0)
        close(fd)
        return components
    }

    /// Trees deeper than PATH_MAX could not be packed, and the error line
    /// was 4 KB long. Directories and files are now opened relative to a
    /// directory fd when their path is too long, and paths in messages
    /// are capped. The image is what a shallow walk would give: the names
    /// are sorted by the writer, whatever the walk.
    func testTreeDeeperThanPATH_MAX() throws {
        let root = tmp.sub("deep")
        let components = try makeDeepTree(root, depth: 1500)
        let image = tmp.sub("deep.raw")
        let r = try pack(["--comp", "gzip", root.string, image.string])
        XCTAssertEqual(r.status, 0, r.summary)
        let inner = components.joined(separator: "/")
        XCTAssertGreaterThan(inner.utf8.count, 4096)
        let list = try listing(image)
        for p in ["/\(inner)/bottom.txt", "/\(inner)/link", "/\(components.prefix(750).joined(separator: "/"))/mid.txt"] {
            XCTAssertTrue(list.contains(p), "unsquashfs -l lacks …\(p.suffix(60))")
        }
        XCTAssertEqual(list.count, 1500 + 3, "1500 directories and three files")
        // The bottom file's bytes, through sqfs2tar (tar has no PATH_MAX).
        if let sqfs2tar = Shell.which("sqfs2tar") {
            let tarFile = tmp.sub("deep.tar")
            let t = try Shell.run("/bin/sh", ["-c", "\"$0\" \"$1\" > \"$2\"", sqfs2tar, image.string, tarFile.string])
            XCTAssertTrue(t.succeeded, t.summary)
            let x = try Shell.run("tar", ["-xOf", tarFile.string, "\(inner)/bottom.txt"])
            XCTAssertTrue(x.succeeded, x.summary)
            XCTAssertEqual(Array(x.stdout), TestData.text(50_000, seed: 9), "the deepest file's contents")
        } else {
            print("note: deep-tree contents check skipped: sqfs2tar not found")
        }

        // A failure deep down names the path in a capped line.
        try Unprivileged.require()
        guard Posix.isRoot else { return }
        let blocked = tmp.sub("blocked")
        _ = try makeDeepTree(blocked, depth: 1500)
        let bottom = components.joined(separator: "/")
        XCTAssertEqual(chmod(tmp.sub("deep").string, 0o755), 0)
        // Make the bottom directory unreadable for the unprivileged user.
        var fd = open(blocked.string, O_RDONLY | O_DIRECTORY)
        for c in components.dropLast() { let n = openat(fd, c, O_RDONLY | O_DIRECTORY); close(fd); fd = n }
        XCTAssertEqual(fchmodat(fd, components.last!, 0o700, 0), 0)
        close(fd)
        let out = tmp.sub("out")
        try Posix.mkdir(out)
        try Posix.chmod(out, 0o777)
        let (cmd, args) = try Unprivileged.command(binaryCopyIn: tmp.path, ["pack", "--comp", "gzip", blocked.string, out.appending("x.raw").string])
        let u = try runLimited(cmd, args, environment: ["SOURCE_DATE_EPOCH": nil])
        assertCleanFailure(u, prefix: packPrefix, ["bytes left out)…", String(bottom.suffix(200)), ": permission denied listing this directory"],
                           directories: [out], label: "deep permission failure")
        XCTAssertLessThan(u.stderr.count, 1200, "a capped line, not 4 KB: «\(u.stderrText)»")
    }

    /// A chain `depth` directories deep of 100-byte names under `root`,
    /// made with mkdirat/openat (no path longer than a name), each level
    /// holding a file of a 100-byte name whose bytes say its level.
    func makeDeepChain(_ root: RawPath, depth: Int) throws {
        try Posix.mkdir(root)
        var fd = open(root.string, O_RDONLY | O_DIRECTORY)
        for level in 0..<depth {
            guard fd >= 0 else { throw PosixError(operation: "open", path: root, code: errno) }
            let f = openat(fd, Self.chainFile, O_WRONLY | O_CREAT | O_EXCL, 0o644)
            let bytes = Self.chainBytes(level)
            let written = bytes.withUnsafeBytes { write(f, $0.baseAddress, $0.count) }
            close(f)
            guard f >= 0, written == bytes.count, mkdirat(fd, Self.chainDirectory, 0o755) == 0 else {
                throw PosixError(operation: "make level \(level)", path: root, code: errno)
            }
            let next = openat(fd, Self.chainDirectory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
            close(fd)
            fd = next
        }
        close(fd)
    }

    static let chainDirectory = String(repeating: "d", count: 100)
    static let chainFile = String(repeating: "f", count: 100)
    static func chainBytes(_ level: Int) -> [UInt8] { Array("level \(level)\n".utf8) }

    /// What in the tree at `top` differs from `makeDeepChain`'s, walked
    /// with openat one name at a time (a mount's paths outgrow PATH_MAX
    /// too): nil when every level holds its file and the next directory
    /// and nothing else, down to an empty directory at `depth`.
    func deepChainMismatch(at top: RawPath, depth: Int) -> String? {
        var fd = open(top.string, O_RDONLY | O_DIRECTORY)
        defer { if fd >= 0 { close(fd) } }
        for level in 0...depth {
            guard fd >= 0 else { return "level \(level): cannot open the directory (errno \(errno))" }
            var names: [String] = []
            guard let dir = fdopendir(dup(fd)) else { return "level \(level): cannot list" }
            while let ent = readdir(dir) {
                let name = withUnsafeBytes(of: ent.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { names.append(name) }
            }
            closedir(dir)
            if level == depth { return names.isEmpty ? nil : "the bottom holds \(names)" }
            guard names.sorted() == [Self.chainDirectory, Self.chainFile] else { return "level \(level) holds \(names.count) entries, not d… and f…" }
            let f = openat(fd, Self.chainFile, O_RDONLY)
            var buffer = [UInt8](repeating: 0, count: 64)
            let n = buffer.withUnsafeMutableBytes { read(f, $0.baseAddress, $0.count) }
            close(f)
            guard n >= 0, Array(buffer.prefix(n)) == Self.chainBytes(level) else { return "level \(level): the file reads «\(String(decoding: buffer.prefix(max(0, n)), as: UTF8.self))»" }
            let next = openat(fd, Self.chainDirectory, O_RDONLY | O_DIRECTORY)
            close(fd)
            fd = next
        }
        return nil
    }

    /// The scan listed every directory deeper than PATH_MAX after opening
    /// its whole path again, and the reader walked one openat per component
    /// from the root for every file: opens in entries x depth (2,052,606 at
    /// 2,000 levels; 92 CPU seconds and 5.6 GB at 8,000, minutes of wall
    /// time: docs/performance.md). Now each deep directory and file opens
    /// relative to its parent's held descriptor. 8,000 levels with a file
    /// at each pack to both file systems well within a bound the old code
    /// could not meet (not a timing: seconds against minutes), equal to
    /// the source through the kernel; in process, the walks down from
    /// another directory (`walkOpenCount`: about one for each directory
    /// the cache let go before its file was read) stay within twice the
    /// depth, where a walk per entry would make 32 million; and under
    /// `ulimit -n 16`, which holds two directories, the image is the same.
    func testTreeDeeperThanPATH_MAXPacksInOpensLinearInEntries() throws {
        let depth = 8000
        let root = tmp.sub("chain")
        try makeDeepChain(root, depth: depth)
        var images: [String: RawPath] = [:]
        for fs in ["squashfs", "erofs"] {
            let image = tmp.sub(RawPath("chain.\(fs)"))
            let start = Date()
            let r = try pack(["--filesystem", fs, "--comp", fs == "squashfs" ? "gzip" : "lz4", root.string, image.string], timeout: 600)
            XCTAssertEqual(r.status, 0, r.summary)
            XCTAssertLessThan(Date().timeIntervalSince(start), 180, "\(fs): 8,000 levels in opens linear in entries")
            images[fs] = image
            guard KernelMount.unavailableReason == nil else {
                print("note: deep-chain kernel read-back skipped: \(KernelMount.unavailableReason ?? "")")
                continue
            }
            try KernelMount.withMounted(image: image, scratch: tmp.sub(RawPath("mnt-\(fs)")), type: fs) { mnt in
                XCTAssertNil(deepChainMismatch(at: mnt, depth: depth), "\(fs), through the kernel")
            }
        }

        guard case .directory(var directory) = try scanSource(path: root.string) else { return XCTFail("the chain is a directory") }
        var level = 0, table: SourceDirectories? = nil
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            var below: Directory? = nil
            for e in directory.entries {
                switch e.node {
                case .file(let f):
                    let reader = try SourceReader(f, displayPath: "level \(level)")
                    try reader.readLast(into: buffer, count: Int(f.size), at: 0)
                    XCTAssertEqual(Array(UnsafeRawBufferPointer(start: buffer, count: Int(f.size))), Self.chainBytes(level))
                    if case .entry(let d, _) = f.source { table = d.table }
                case .directory(let d): below = d
                default: XCTFail("level \(level): \(e.node.kindDescription)")
                }
            }
            guard let next = below else { break }
            directory = next
            level += 1
        }
        XCTAssertEqual(level, depth)
        let walks = table?.walkOpenCount ?? .max
        XCTAssertLessThanOrEqual(walks, 2 * depth, "walks down to a directory not held; one from the root per entry would be ~\(depth * depth / 2)")

        guard let prlimit = Shell.which("prlimit") else { return print("note: deep-chain open-file-limit check skipped: prlimit not found") }
        let limited = tmp.sub("chain-limited.squashfs")
        let r = try runLimited(prlimit, ["--nofile=16", "--", try MkportableBinary.path(), "pack", "--comp", "gzip", root.string, limited.string],
                               environment: ["SOURCE_DATE_EPOCH": nil, "NIX_BUILD_CORES": "2"], timeout: 600)
        XCTAssertEqual(r.status, 0, r.summary)
        XCTAssertEqual(try sha256(limited), try sha256(images["squashfs"]!), "ulimit -n 16: the same image")
    }

    // MARK: numbers

    /// `pack` took `+5` (Swift's Int parser allows a sign); the builder
    /// refused it. One rule now: digits only.
    func testNumbersAreDigitsOnly() throws {
        let src = try source()
        let image = tmp.sub("n.raw")
        for bad in ["+5", "-0", " 5", "5 ", "0x10", "", "٣"] {
            for (args, env, fragment) in [
                (["--mtime", bad], [String: String?](), "--mtime \(quotedForTest(bad)): must be whole seconds since 1970"),
                (["--jobs", bad], [:], "--jobs \(quotedForTest(bad)): must be a whole number from 1 to 1024"),
                (["--root-mode", bad], [:], "--root-mode \(quotedForTest(bad)): must be octal permission bits"),
                ([], ["SOURCE_DATE_EPOCH": bad], "SOURCE_DATE_EPOCH \(quotedForTest(bad)): must be whole seconds"),
                ([], ["NIX_BUILD_CORES": bad], "NIX_BUILD_CORES \(quotedForTest(bad)): must be a whole number of threads"),
            ] {
                // An empty variable means "unset"; an empty option value is an error.
                if bad.isEmpty && args.isEmpty { continue }
                let r = try pack(args + ["--comp", "gzip", src.root.string, image.string], env: env)
                assertCleanFailure(r, prefix: packPrefix, [fragment], images: [image], label: "\(args) \(env) \(bad)")
            }
        }
        // The builder: the same rule, the same words.
        let fx = try BuilderFixture(prefix: "harden-numbers")
        defer { fx.remove() }
        for bad in ["+5", "5s"] {
            try Posix.writeFile(fx.attrsFile, Array(fx.json().utf8))
            let r = try fx.run(["build", "--attrs", fx.attrsFile.string, "--out", fx.out.string], env: ["SOURCE_DATE_EPOCH": bad])
            assertCleanFailure(r, ["SOURCE_DATE_EPOCH \(quotedForTest(bad)): must be whole seconds since 1970"], images: [fx.image()], label: "builder \(bad)")
            let c = try fx.run(["build", "--attrs", fx.attrsFile.string, "--out", fx.out.string], env: ["NIX_BUILD_CORES": bad])
            assertCleanFailure(c, ["NIX_BUILD_CORES \(quotedForTest(bad)): must be a whole number"], images: [fx.image()], label: "builder cores \(bad)")
        }
    }

    func quotedForTest(_ s: String) -> String { "\"" + s + "\"" }

    // MARK: the source

    /// mksquashfs follows a SOURCE that is a symlink to a directory; so
    /// does pack now, and the image is the directory's.
    func testSymlinkedSourceIsFollowed() throws {
        let src = try source()
        try Posix.symlink(target: Array(src.root.string.utf8), at: tmp.sub("link"))
        let viaLink = tmp.sub("via-link.raw"), direct = tmp.sub("direct.raw")
        let r = try pack(["--comp", "gzip", tmp.sub("link").string, viaLink.string])
        XCTAssertEqual(r.status, 0, r.summary)
        XCTAssertEqual(try pack(["--comp", "gzip", src.root.string, direct.string]).status, 0)
        XCTAssertEqual(try sha256(viaLink), try sha256(direct), "the same image as the directory's")
        XCTAssertTrue(try listing(viaLink).contains("/l"), "the link inside stays a link")
        // A link to a file is still refused, with the reason.
        try Posix.symlink(target: Array(src.full("a").string.utf8), at: tmp.sub("filelink"))
        let f = try pack(["--comp", "gzip", tmp.sub("filelink").string, tmp.sub("f.raw").string])
        assertCleanFailure(f, prefix: packPrefix, ["filelink: not a directory; pack takes a directory"], images: [tmp.sub("f.raw")], label: "link to a file")
    }

    /// With --force, an old IMAGE inside SOURCE was packed into the new
    /// image.
    func testImageInsideTheSourceIsLeftOut() throws {
        let src = try source()
        let image = src.full("image.raw")
        XCTAssertEqual(try pack(["--comp", "gzip", src.root.string, image.string]).status, 0)
        XCTAssertFalse(try listing(image).contains("/image.raw"))
        let first = try sha256(image)
        let again = try pack(["--force", "--comp", "gzip", src.root.string, image.string])
        XCTAssertEqual(again.status, 0, again.summary)
        XCTAssertFalse(try listing(image).contains("/image.raw"), "the image being replaced is no part of the new one")
        XCTAssertEqual(try sha256(image), first, "the same image as without it")
        XCTAssertEqual(try Posix.listDirectory(src.root).map(\.string).sorted(), ["a", "d", "image.raw", "l"])
    }
}

/// Issue 13, the builder side: nothing read from outside the closure,
/// bounded reads of the files it is given, names compared as bytes,
/// invisible characters refused, and the messages that blamed the wrong
/// thing.
final class BuilderHardeningTests: XCTestCase {
    var fx: BuilderFixture!

    override func setUpWithError() throws { fx = try BuilderFixture(prefix: "harden-builder") }

    override func tearDown() {
        fx?.remove()
        fx = nil
        super.tearDown()
    }

    /// A closure graph of `paths`, none referencing another.
    func closure(_ paths: [String]) -> String {
        "[" + paths.map { "{\"path\": \(BuilderFixture.js($0)), \"references\": []}" }.joined(separator: ", ") + "]"
    }

    func refuse(_ overrides: [String: String?], _ fragments: [String], label: String,
                file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try fx.build(overrides)
        assertCleanFailure(r, fragments, images: [fx.image()], directories: [fx.out], label: label, file: file, line: line)
    }

    /// A unit store path that was a symlink to /etc/shadow put the host's
    /// /etc/shadow into the image; so did `${pkg}/../../secret/x`. Now
    /// every unit and store symlink object is resolved link by link and
    /// must stay inside a store path of the closure.
    func testNothingIsReadFromOutsideTheClosure() throws {
        let secretDir = fx.tmp.sub("secret")
        try Posix.mkdir(secretDir)
        let secret = "SECRET-\(UInt64.random(in: 0..<UInt64.max))"
        try Posix.writeFile(secretDir.appending("demo.service"), Array("[Service]\n# \(secret)\n".utf8))
        let fix = "a unit must be a file inside a store path of the closure"

        // An absolute link out of the store.
        let absolute = fx.storePath("demo.service", seed: 60)
        try Posix.symlink(target: Array(secretDir.appending("demo.service").string.utf8), at: RawPath(absolute))
        try refuse(["units": "[\(BuilderFixture.js(absolute))]", "closure": closure([absolute, fx.unit, fx.pkg])],
                   ["attribute units[0]: \"\(absolute)\" leads outside the closure: \"\(absolute)\" is a symlink to \"\(secretDir)/demo.service\", outside the store \(fx.store)", fix],
                   label: "absolute link")

        // A relative link that climbs out of the store.
        let relative = fx.storePath("demo.service", seed: 61)
        try Posix.symlink(target: Array("../secret/demo.service".utf8), at: RawPath(relative))
        try refuse(["units": "[\(BuilderFixture.js(relative))]", "closure": closure([relative, fx.unit, fx.pkg])],
                   ["attribute units[0]: \"\(relative)\" leads outside the closure: '..' climbs out of the store \(fx.store)", fix],
                   label: "relative link out")

        // `..` in the attribute itself.
        let dotdot = "\(fx.pkg)/../../secret/demo.service"
        try refuse(["units": "[\(BuilderFixture.js(dotdot))]"],
                   ["attribute units[0]: \"\(dotdot)\" contains '..'; write the path inside its store path plainly"], label: "'..' in the attribute")

        // A link into another store path, one not in the closure.
        let other = fx.storePath("other", seed: 62)
        try Posix.mkdir(RawPath(other))
        try Posix.writeFile(RawPath(other + "/demo.service"), Array("[Service]\n# \(secret)\n".utf8))
        let through = fx.storePath("demo.service", seed: 63)
        try Posix.symlink(target: Array((other + "/demo.service").utf8), at: RawPath(through))
        try refuse(["units": "[\(BuilderFixture.js(through))]", "closure": closure([through, fx.unit, fx.pkg])],
                   ["attribute units[0]: \"\(through)\" leads outside the closure: it leads into \"\(other)\", which is not in the closure", fix],
                   label: "link through a store path not in the closure")

        // A directory link inside a closure path, on the way to the unit.
        try Posix.symlink(target: Array(secretDir.string.utf8), at: RawPath(fx.pkg + "/lib"))
        let inner = fx.pkg + "/lib/demo.service"
        try refuse(["units": "[\(BuilderFixture.js(inner))]"],
                   ["attribute units[0]: \"\(inner)\" leads outside the closure: \"\(fx.pkg)/lib\" is a symlink to \"\(secretDir)\", outside the store"],
                   label: "directory link on the way")

        // Symlink objects in the store: the same rule.
        for (object, why) in [("\(fx.pkg)/../../secret", "'..' climbs out of the store"),
                              ("\(fx.pkg)/lib/demo.service", "is a symlink to \"\(secretDir)\", outside the store"),
                              ("\(other)/demo.service", "it leads into \"\(other)\", which is not in the closure")] {
            let links = "[{\"object\": \(BuilderFixture.js(object)), \"symlink\": \"/bin/x\"}]"
            let expected = object.hasPrefix(other)
                ? ["attribute symlinks[0].object: \"\(other)\" is not in the closure"]
                : ["attribute symlinks[0].object: \"\(object)\" leads outside the closure: ", why]
            try refuse(["symlinks": links], expected, label: "object \(object)")
        }

        // Allowed: a relative link to a sibling store path of the closure,
        // and `..` inside a link that stays in the closure.
        try Posix.mkdir(RawPath(fx.pkg + "/units"))
        try Posix.symlink(target: Array(("../../" + (fx.unit as NSString).lastPathComponent).utf8), at: RawPath(fx.pkg + "/units/demo.service"))
        let alias = fx.storePath("demo.service", seed: 64)
        try Posix.symlink(target: Array((((fx.pkg as NSString).lastPathComponent) + "/units/demo.service").utf8), at: RawPath(alias))
        let ok = try fx.build(["units": "[\(BuilderFixture.js(alias))]", "closure": closure([alias, fx.unit, fx.pkg]),
                               "symlinks": "[{\"object\": \(BuilderFixture.js(fx.pkg + "/units/../bin/tool")), \"symlink\": \"/bin/tool\"}]"])
        XCTAssertEqual(ok.status, 0, ok.summary)
        let text = try Shell.check("unsquashfs", ["-cat", fx.image().string, "etc/systemd/system/demo.service"]).stdoutText
        XCTAssertEqual(text, "[Service]\nExecStart=\(fx.pkg)/bin/tool\n")
        // And the secret is in no image that was made.
        XCTAssertFalse(String(decoding: try Posix.readFile(fx.image()), as: UTF8.self).contains(secret))
    }

    /// `--attrs /dev/zero` and a text graph linked to /dev/zero read
    /// until the allocation crashed. Regular files only, and a cap.
    func testReadsAreOfRegularFilesAndBounded() throws {
        let attrs = fx.attrsFile
        for (path, kind) in [("/dev/zero", "is a character device, not a regular file")] {
            let r = try fx.run(["build", "--attrs", path, "--out", fx.out.string])
            assertCleanFailure(r, ["\(path): cannot read the attributes file (\(kind))"], directories: [fx.out], label: path)
        }
        let fifo = fx.tmp.sub("fifo.json")
        try Posix.mkfifo(fifo)
        let f = try fx.run(["build", "--attrs", fifo.string, "--out", fx.out.string])
        assertCleanFailure(f, ["\(fifo): cannot read the attributes file (is a FIFO, not a regular file)"], directories: [fx.out], label: "FIFO")

        let big = fx.tmp.sub("big.json")
        try Posix.writeFile(big, [])
        try Posix.truncate(big, size: 3 << 30)
        let b = try fx.run(["build", "--attrs", big.string, "--out", fx.out.string])
        assertCleanFailure(b, ["\(big): cannot read the attributes file (is larger than 2 GiB"], directories: [fx.out], label: "3 GiB")

        // A text graph (no such key in the JSON) that is a link to /dev/zero.
        try Posix.symlink(target: Array("/dev/zero".utf8), at: fx.tmp.sub("closure"))
        try Posix.writeFile(attrs, Array(fx.json(["closure": nil]).utf8))
        let g = try fx.run(["build", "--attrs", attrs.string, "--out", fx.out.string])
        assertCleanFailure(g, ["\(fx.tmp.sub("closure")): cannot read reference graph (is a character device, not a regular file)"],
                           images: [fx.image()], directories: [fx.out], label: "graph -> /dev/zero")
    }

    /// Swift's `String ==` compares by canonical equivalence: an NFC and
    /// an NFD name were "duplicates", and a combining mark after '/' hid
    /// the slash from the attribute checks.
    func testNamesAreComparedAsBytes() throws {
        let nfc = "/opt/caf\u{E9}", nfd = "/opt/cafe\u{301}"
        let links = "[{\"object\": \"/a\", \"symlink\": \(BuilderFixture.js(nfc))}, {\"object\": \"/b\", \"symlink\": \(BuilderFixture.js(nfd))}, {\"object\": \"/c\", \"symlink\": \(BuilderFixture.js("/opt/\u{301}x"))}]"
        // Two top-level keys that differ only in normalization are two keys.
        // (Written as text: a Swift dictionary would merge them, too.)
        let r = try fx.build(text: "{\"caf\u{E9}\": 1, \"cafe\u{301}\": 2, " + fx.json(["symlinks": links]).dropFirst())
        XCTAssertEqual(r.status, 0, r.summary)
        let list = try Shell.check("unsquashfs", ["-lln", fx.image().string]).stdoutText
        XCTAssertTrue(list.contains("squashfs-root/opt/caf\u{E9} -> /a"), list)
        XCTAssertTrue(list.contains("squashfs-root/opt/cafe\u{301} -> /b"), list)
        XCTAssertTrue(list.contains("squashfs-root/opt/\u{301}x -> /c"), "a combining mark after '/' starts a name: \(list)")

        // The same link twice, byte for byte, is still a duplicate.
        Posix.removeTree(fx.out)
        let twice = "[{\"object\": \"/a\", \"symlink\": \(BuilderFixture.js(nfd))}, {\"object\": \"/b\", \"symlink\": \(BuilderFixture.js(nfd))}]"
        try refuse(["symlinks": twice], ["attribute symlinks[1].symlink: \"\(nfd)\" is also symlinks[0].symlink"], label: "same bytes")
    }

    /// The README's rule refused C0 controls only; format characters
    /// (zero-width, byte order mark, bidi controls) and C1 controls make
    /// the text shown differ from the text stored.
    func testInvisibleAndControlCharactersAreRefusedInText() throws {
        for (u, what) in [("\u{200B}", "the invisible format character U+200B"), ("\u{FEFF}", "the invisible format character U+FEFF"),
                          ("\u{202E}", "the invisible format character U+202E"), ("\u{2066}", "the invisible format character U+2066"),
                          ("\u{85}", "the control character U+0085"), ("\u{9B}", "the control character U+009B")] {
            try refuse(["description": BuilderFixture.js("Demo\(u)service")], ["attribute description: contains \(what)", "PORTABLE_PRETTY_NAME"], label: "description \(what)")
            try refuse(["homepage": BuilderFixture.js("https://example.org/\(u)")], ["attribute homepage: contains \(what)", "HOME_URL"], label: "homepage \(what)")
            try refuse(["version": BuilderFixture.js("1.0\(u)")], ["attribute version: \"1.0", "contains \(what)"], label: "version \(what)")
        }
        // pname is ASCII letters, digits, '-' and '.' only.
        try refuse(["pname": BuilderFixture.js("demo\u{200B}")], ["attribute pname: \"demo", "contains", "U+200B"], label: "pname")
    }

    /// Messages that blamed the wrong thing.
    func testMessagesNameTheRealCulprit() throws {
        try refuse(["units": "[\(BuilderFixture.js(fx.unit + "/"))]"],
                   ["attribute units[0]: \"\(fx.unit)/\" ends with '/'; a file's path has none"], label: "unit with a trailing slash")
        try refuse(["closure": closure([fx.unit, fx.pkg + "/"])],
                   ["attribute closure[1]: \"\(fx.pkg)/\" ends with '/'; a reference graph lists store paths without one"], label: "closure entry with a trailing slash")
        try refuse(["contents": "[\(BuilderFixture.js(fx.pkg + "/"))]"],
                   ["attribute contents[0]: \"\(fx.pkg)/\" ends with '/'"], label: "contents with a trailing slash")

        // A NUL inside a path of a text graph.
        try Posix.writeFile(fx.tmp.sub("closure"), Array("\(fx.unit)\n\n0\n\(fx.pkg)\u{0}x\n\n0\n".utf8))
        try refuse(["closure": nil], ["reference graph file closure: \"\(fx.pkg)\\x00x\" contains NUL, which no path can hold"], label: "NUL in a text graph")
        try Posix.unlink(fx.tmp.sub("closure"))

        // outputs.out empty said "create . first".
        try Posix.writeFile(fx.attrsFile, Array(fx.json(["outputs": "{\"out\": \"\"}"]).utf8))
        let r = try fx.run([], env: ["NIX_ATTRS_JSON_FILE": fx.attrsFile.string])
        assertCleanFailure(r, ["attribute outputs.out: is empty; it is the output directory Nix makes for the image"], label: "outputs.out empty")
    }

    /// systemd mounts over /proc, /sys, /dev, /run, /tmp and /var/tmp in
    /// every portable service: a link inside them would be hidden.
    func testSymlinksInsideCoveredMountPointsAreRefused() throws {
        for (path, mount) in [("/proc/x", "/proc"), ("/tmp/x", "/tmp"), ("/dev/log", "/dev"), ("/run/x/y", "/run"), ("/sys/x", "/sys"), ("/var/tmp/x", "/var/tmp")] {
            try refuse(["symlinks": "[{\"object\": \"/a\", \"symlink\": \(BuilderFixture.js(path))}]"],
                       ["attribute symlinks[0].symlink: \"\(path)\" lies inside the mount point \(mount), which systemd mounts over"], label: path)
        }
        let ok = try fx.build(["symlinks": "[{\"object\": \"/a\", \"symlink\": \"/var/lib/x\"}, {\"object\": \"/run\", \"symlink\": \"/var/run\"}]"])
        XCTAssertEqual(ok.status, 0, ok.summary)
    }
}
