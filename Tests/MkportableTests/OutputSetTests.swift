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
}
