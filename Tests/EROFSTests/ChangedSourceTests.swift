import Foundation
import XCTest
import EROFS
import SourceTree

/// A source file that changed after the scan is named by its path on disk,
/// as the squashfs writer names it: the path inside the image ("/sub/a")
/// reads as a file of the host's root, which the user would look for in
/// vain. Every way the erofs writer reads a file is covered: a big file's
/// blocks, a small file or tail for the packed inode, no fragments, and the
/// byte comparison of two files of equal size.
final class ChangedSourceTests: ScratchTestCase {
    func testAChangedFileIsNamedByItsPathOnDisk() throws {
        let cases: [(label: String, scanned: Int, actual: Int, fragments: Bool, twin: Bool)] = [
            ("big, shrank", 300_000, 100_000, true, false),
            ("small, grew", 3000, 5000, true, false),
            ("no fragments, shrank", 70_000, 1000, false, false),
            ("equal in size to another", 20_000, 30_000, true, true),
        ]
        for (i, c) in cases.enumerated() {
            let disk = scratch + "/source-\(i)"
            try Data((0..<c.actual).map { UInt8(truncatingIfNeeded: $0 &* 7) }).write(to: URL(fileURLWithPath: disk))
            var sub = Directory(mode: 0o755)
            sub.entries.append(Entry("a", .file(File(mode: 0o644, size: UInt64(c.scanned), source: .path(Array(disk.utf8))))))
            if c.twin { sub.entries.append(Entry("b", .file(File(mode: 0o644, bytes: [UInt8](repeating: 1, count: c.scanned))))) }
            let root = Directory(mode: 0o755, entries: [Entry("sub", .directory(sub))])
            do {
                try write(root, to: scratch + "/image-\(i).erofs", fragments: c.fragments)
                XCTFail("[\(c.label)] a file of \(c.actual) bytes scanned as \(c.scanned) was written")
            } catch let e as EROFSError {
                XCTAssertEqual(e.kind, .sourceChanged, "[\(c.label)] \(e.message)")
                XCTAssert(e.message.hasPrefix("\(disk): "), "[\(c.label)] «\(e.message)»")
                XCTAssert(e.message.contains("do not modify the source"), "[\(c.label)] «\(e.message)»")
            }
        }
    }

    func write(_ root: Directory, to path: String, fragments: Bool) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let options = EROFSOptions(compression: try Compression(parsing: "lz4hc"), pclusterSize: EROFSOptions.defaultPclusterSize,
                                   fragments: fragments, jobs: 2)
        _ = try writeEROFSImage(root: root, to: fd, options: options)
    }
}
