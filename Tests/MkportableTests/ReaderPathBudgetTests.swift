import EROFS
import Foundation
import ImageReading
import SquashFS
import TestSupport
import XCTest

/// Every entry the readers list carries its whole path, so a deep
/// directory holding many names costs depth x names bytes of memory that
/// the image does not hold: a 24 KiB squashfs image of 2,000 nested
/// 255-byte names took `inspect` 1.5 GB and four minutes, and a 1 MB one
/// asks for hundreds of GB. Both readers must refuse a tree whose paths
/// outgrow 64 MiB plus 16 times the image's length, in one line, before
/// building them.
final class ReaderPathBudgetTests: PackTestCase {
    override class var temporaryPrefix: String { "path-budget" }

    /// 15 nested 255-byte names (3.8 KiB) and at the bottom 28,000 empty
    /// files: 108 MB of paths from an image of 1.5 MiB at most. (Hard
    /// links would be cheaper, but the writers store them as separate
    /// inodes.)
    func deepAndWide() throws -> RawPath {
        let root = tmp.sub("src")
        try Posix.mkdir(root)
        var fd = open(root.string, O_RDONLY | O_DIRECTORY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        for i in 0..<15 {
            let name = String(repeating: "d", count: 250) + String(format: "%05d", i)
            XCTAssertEqual(mkdirat(fd, name, 0o755), 0)
            let next = openat(fd, name, O_RDONLY | O_DIRECTORY)
            close(fd)
            fd = next
        }
        for i in 0..<28_000 {
            let f = openat(fd, "e\(i)", O_WRONLY | O_CREAT, 0o644)
            XCTAssertGreaterThanOrEqual(f, 0)
            close(f)
        }
        close(fd)
        return root
    }

    func testPathsOutgrowingTheImageAreRefusedByBothReaders() throws {
        let src = try deepAndWide()
        let sqfs = tmp.sub("deep.sqfs"), erofs = tmp.sub("deep.erofs")
        XCTAssert(try pack(["--comp", "gzip", src.string, sqfs.string]).succeeded)
        XCTAssert(try pack(["--filesystem", "erofs", "--comp", "lz4", src.string, erofs.string]).succeeded)
        if let unsquashfs = ReferenceTools.path("unsquashfs") {
            let r = try Shell.run(unsquashfs, ["-s", sqfs.string])
            XCTAssert(r.succeeded && r.stdoutText.contains("Number of inodes 28016"), r.summary)
        }
        if let fsck = ReferenceTools.path("fsck.erofs") {
            XCTAssert(try Shell.run(fsck, [erofs.string]).succeeded)
        }
        for (image, open) in [(sqfs, { (r: ImageRange) throws -> any FileSystemImage in try SquashFSImage(range: r) }),
                              (erofs, { (r: ImageRange) throws -> any FileSystemImage in try EROFSImage(range: r) })] {
            let fs = try open(try ImageFile(path: image.string).whole)
            XCTAssertLessThan(fs.range.length, 3 << 19)
            try assertListingRefused(fs, saying: "paths", image: image)
        }
    }

    /// `fs.entries()` fails as an unsupported image, in one line that
    /// contains `what`.
    func assertListingRefused(_ fs: any FileSystemImage, saying what: String, image: RawPath,
                              file: StaticString = #filePath, line: UInt = #line) throws {
        let message: String
        do {
            let entries = try fs.entries()
            return XCTFail("\(image.string): \(entries.count) entries listed", file: file, line: line)
        } catch let e as SquashFSError {
            XCTAssertEqual(e.kind, .unsupportedImage, e.message, file: file, line: line)
            message = e.message
        } catch let e as EROFSError {
            XCTAssertEqual(e.kind, .unsupportedImage, e.message, file: file, line: line)
            message = e.message
        }
        XCTAssert(message.contains(what) && !message.contains("\n"), message, file: file, line: line)
    }

    /// One sparse 1 GiB file packs into 4 KiB of squashfs: the reader
    /// refuses to list it (the bytes `inspect` would hash and `diff`
    /// compare outgrow 65536 times the image), in one line, while
    /// `unsquashfs -lls` shows the file. (The erofs reader's same rule is
    /// checked on crafted images in ErofsReaderCraftedTests: erofs stores
    /// zeros compressed, not as holes.)
    func testFilesOutgrowingTheImageAreRefusedBySquashFSReader() throws {
        let src = tmp.sub("sparse")
        try Posix.mkdir(src)
        try Posix.writeFile(src.appending("big"), [])
        XCTAssertEqual(truncate(src.appending("big").string, 1 << 30), 0)
        let sqfs = tmp.sub("sparse.sqfs")
        XCTAssert(try pack(["--comp", "gzip", src.string, sqfs.string]).succeeded)
        if let unsquashfs = ReferenceTools.path("unsquashfs") {
            let r = try Shell.run(unsquashfs, ["-lls", sqfs.string])
            XCTAssert(r.succeeded && r.stdoutText.contains(String(1 << 30)), r.summary)
        }
        let fs = try SquashFSImage(range: try ImageFile(path: sqfs.string).whole)
        XCTAssertLessThan(fs.range.length, 1 << 20)
        try assertListingRefused(fs, saying: "65536 times", image: sqfs)
    }
}
