import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The files one run publishes (the image and its sidecars) and the source
/// it reads (issue 22): what is left out of the tree, and what a
/// concurrent run, a renamed directory or a signal leaves on disk.
final class OutputSetTests: PackTestCase {
    override class var temporaryPrefix: String { "outputset" }

    /// The paths `unsquashfs -l` lists in `image`, below its root.
    func listing(_ image: RawPath) throws -> [String] {
        let r = try Shell.run("unsquashfs", ["-l", "-d", "", image.string])
        XCTAssertTrue(r.succeeded, "unsquashfs -l: \(r.summary)")
        return r.stdoutText.split(separator: "\n").map(String.init).filter { !$0.isEmpty }.sorted()
    }

    /// Issue 22.10: with --force, a source file hard-linked to IMAGE (which
    /// lies outside SOURCE) is still packed; only IMAGE's own path inside
    /// SOURCE would be left out.
    func testForceKeepsASourceFileHardLinkedToTheImage() throws {
        let src = try TreeBuilder(root: tmp.sub("s"))
        let data = TestData.random(50_000, seed: 10)
        try src.file("keep/data.bin", data)
        let out = tmp.sub("o")
        try Posix.mkdir(out)
        let image = out.appending("i.raw")
        XCTAssertEqual(link(src.root.appending("keep/data.bin").string, image.string), 0)
        let r = try pack(["--force", src.root.string, image.string])
        XCTAssertEqual(r.status, 0, r.summary)
        XCTAssertEqual(try listing(image), ["/keep", "/keep/data.bin"])
        XCTAssertEqual(try Posix.readFile(src.root.appending("keep/data.bin")), data, "the source file is untouched")
    }

    /// Issue 22.11: IMAGE inside SOURCE with --verity --force: none of the
    /// previous run's files (image, .verity, .roothash) is packed, so the
    /// image is the same on every run.
    func testOutputSetInsideTheSourceIsLeftOut() throws {
        let src = try TreeBuilder(root: tmp.sub("s"))
        try src.file("a", TestData.random(20_000, seed: 11))
        let image = src.root.appending("out/i.raw")
        try Posix.mkdir(src.root.appending("out"))
        var digests: [String] = []
        for run in 0..<3 {
            let r = try pack(run == 0 ? ["--verity", src.root.string, image.string]
                                      : ["--verity", "--force", src.root.string, image.string])
            XCTAssertEqual(r.status, 0, "[run \(run)] \(r.summary)")
            XCTAssertEqual(try listing(image), ["/a", "/out"], "[run \(run)]")
            digests.append(try SHA256Digest.file(image).digest)
        }
        XCTAssertEqual(Set(digests).count, 1, "the image changed between runs: \(digests)")
    }

    /// `mkportable ARGUMENTS` started, not waited for.
    func spawn(_ arguments: [String], env: [String: String] = [:]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try MkportableBinary.path())
        p.arguments = arguments
        var e = ProcessInfo.processInfo.environment
        e["SOURCE_DATE_EPOCH"] = nil
        e["NIX_BUILD_CORES"] = "2"
        for (k, v) in env { e[k] = v }
        p.environment = e
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    func verifies(_ image: RawPath) throws -> Bool {
        try Shell.run(try MkportableBinary.path(), ["verify", image.string]).succeeded
    }

    /// Issue 22.8: two `pack --verity --force` to one IMAGE at once. Each
    /// publishes its set under a lock of the directory, so what is left is
    /// one run's whole set, which verifies; never a mix. 16 rounds: a window
    /// that opened one run in four would show with 99 % certainty.
    func testConcurrentForcedRunsLeaveOneWholeSet() throws {
        let a = try TreeBuilder(root: tmp.sub("a"))
        try a.file("data", TestData.random(300_000, seed: 21))
        let b = try TreeBuilder(root: tmp.sub("b"))
        try b.file("data", TestData.random(300_000, seed: 22))
        let out = tmp.sub("o")
        try Posix.mkdir(out)
        let image = out.appending("i.raw")
        for round in 0..<16 {
            let env = round % 2 == 0 ? [:] : ["MKPORTABLE_NAMED_TEMPORARIES": "1"]
            let runs = try [a, b].map { try spawn(["pack", "--verity", "--force", "--comp", "gzip", $0.root.string, image.string], env: env) }
            for r in runs { r.waitUntilExit() }
            XCTAssertEqual(runs.map(\.terminationStatus), [0, 0], "[round \(round)]")
            XCTAssertTrue(try verifies(image), "[round \(round)] a mixed set: the image does not verify against its sidecars")
            XCTAssertEqual(try Posix.listDirectory(out).map(\.string).sorted(), ["i.raw", "i.roothash", "i.verity"], "[round \(round)]")
        }
    }

    /// Issue 22.9: the output directory renamed while the image is written
    /// (when mkportable first opens a source file, held by fanotify). Every
    /// file of the set goes through one descriptor of the directory, so the
    /// whole set appears in it under its new name, and it verifies.
    func testDirectoryRenamedMidRunReceivesTheWholeSet() throws {
        let gate: FanotifyGate
        do { gate = try FanotifyGate() } catch { throw XCTSkip("\(error)") }
        defer { gate.close() }
        for (i, env) in [[:], ["MKPORTABLE_NAMED_TEMPORARIES": "1"]].enumerated() {
            let src = try TreeBuilder(root: tmp.sub(RawPath("s\(i)")))
            try src.file("data", TestData.random(100_000, seed: 23))
            let out = tmp.sub(RawPath("o\(i)")), moved = tmp.sub(RawPath("moved\(i)"))
            try Posix.mkdir(out)
            try gate.arm(directory: src.root) { _, _ in
                if rename(out.string, moved.string) != 0 { throw PosixError(operation: "rename", path: out, code: errno) }
            }
            let r = try pack(["--verity", "--comp", "gzip", src.root.string, out.appending("i.raw").string], env: env)
            XCTAssertNil(gate.disarm())
            XCTAssertEqual(r.status, 0, "[\(i)] \(r.summary)")
            XCTAssertNil(try Posix.lstatIfExists(out), "[\(i)] the old name came back")
            XCTAssertEqual(try Posix.listDirectory(moved).map(\.string).sorted(), ["i.raw", "i.roothash", "i.verity"], "[\(i)]")
            XCTAssertTrue(try verifies(moved.appending("i.raw")), "[\(i)]")
        }
    }

    /// Issue 22.7: without O_TMPFILE, SIGINT, SIGTERM or SIGHUP while the
    /// sidecars exist under temporary names (held when the `.roothash`
    /// temporary is opened) removes them too: nothing is left, and the
    /// process dies of the signal.
    func testSignalLeavesNoSidecarTemporaries() throws {
        let gate: FanotifyGate
        do { gate = try FanotifyGate() } catch { throw XCTSkip("\(error)") }
        defer { gate.close() }
        for (i, sig) in [SIGINT, SIGTERM, SIGHUP].enumerated() {
            let src = try TreeBuilder(root: tmp.sub(RawPath("s\(i)")))
            try src.file("data", TestData.random(100_000, seed: 24))
            let out = tmp.sub(RawPath("o\(i)"))
            try Posix.mkdir(out)
            var seen: [String] = []
            try gate.arm(directory: out, when: { $0.lastComponent.string.hasPrefix(".i.roothash.tmp-") }) { _, pid in
                seen = (try? Posix.listDirectory(out).map(\.string).sorted()) ?? []
                kill(pid, sig)
            }
            let r = try pack(["--verity", "--comp", "gzip", src.root.string, out.appending("i.raw").string],
                             env: ["MKPORTABLE_NAMED_TEMPORARIES": "1"])
            XCTAssertNil(gate.disarm())
            XCTAssertEqual(seen.count, 3, "[signal \(sig)] the image and both sidecars were not all under temporary names: \(seen)")
            XCTAssertTrue(seen.allSatisfy { $0.contains(".tmp-") }, "[signal \(sig)] \(seen)")
            XCTAssertEqual(r.status, 128 + sig, "[signal \(sig)] \(r.summary)")
            XCTAssertEqual(try Posix.listDirectory(out), [], "[signal \(sig)] left behind")
        }
    }
}
