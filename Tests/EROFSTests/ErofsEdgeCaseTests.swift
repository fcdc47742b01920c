import Foundation
import XCTest
import EROFS
import SourceTree
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The suite's edge-case trees, made on disk and scanned as `pack` scans
/// them, written as erofs with every compression the writer has, and read
/// back by fsck.erofs 1.9.3 --extract and the kernel, through a loop device
/// and file-backed (mount(2) on the image file itself, as Linux 6.12+ can),
/// each compared with the source path by path (type, permissions, size,
/// content, link target, device number). One tree per compression, so one
/// mount of each kind per image. Directories are stored uncompressed
/// whatever the compression, so the 100,000-entry directory, whose reading
/// back costs most, is written once, with the default compression.
final class ErofsEdgeCaseTests: ScratchTestCase {
    /// Every compression erofs has: the writer must take each (a name its
    /// parser refuses fails the test; it is not left out).
    static let compressions = ["none", "lz4", "lz4hc", "lzma", "deflate", "zstd"]


    func file(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        let full = scratch + "/src/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
        XCTAssertEqual(chmod(full, mode), 0)
    }

    /// A file of `size` bytes that is a hole but for `chunks`.
    func sparse(_ path: String, size: Int, chunks: [(at: Int, bytes: [UInt8])]) throws {
        try file(path, [])
        let fd = open(scratch + "/src/" + path, O_WRONLY)
        defer { close(fd) }
        for c in chunks { XCTAssertEqual(c.bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, c.bytes.count, off_t(c.at)) }, c.bytes.count) }
        XCTAssertEqual(ftruncate(fd, off_t(size)), 0)
    }

    /// Empty files and directories, sparse files, long names and link
    /// targets, every node type, a 3,000-entry directory and a tree 100
    /// levels deep.
    func makeEdgeTree() throws {
        let bytes = EROFSWriterTests.bytes
        try file("empty/file", [])
        for i in 0..<20 { try file("empty/many/e\(i)", [], mode: i % 2 == 0 ? 0o644 : 0o600) }
        try FileManager.default.createDirectory(atPath: scratch + "/src/empty/dir/nested/empty", withIntermediateDirectories: true)
        try sparse("sparse/hole-then-data", size: 16 << 20, chunks: [((16 << 20) - 4096, bytes(4096, 1, false))])
        try sparse("sparse/data-hole-data-hole", size: 3 * 131072 + 777, chunks: [(0, bytes(100_000, 2, true)), (2 * 131072 + 5, bytes(3000, 3, false))])
        try sparse("sparse/all-hole", size: 5 * 4096 + 3, chunks: [])
        try file("sparse/written-zeros", [UInt8](repeating: 0, count: 1 << 20))
        let n255 = { (c: Character) in String(repeating: c, count: 255) }
        try file("names/" + n255("f"), Array("255-byte name".utf8))
        try file("names/\(n255("a"))/\(n255("b"))/\(n255("c"))/\(n255("z"))", Array("deep and long".utf8))
        try file("names/" + String(repeating: "€", count: 85), Array("euro".utf8))
        let fm = FileManager.default
        try fm.createDirectory(atPath: scratch + "/src/links", withIntermediateDirectories: true)
        XCTAssertEqual(symlink(String(repeating: "x/", count: 2047) + "y", scratch + "/src/links/target-4095"), 0)
        XCTAssertEqual(symlink(n255("t"), scratch + "/src/links/target-255"), 0)
        try fm.createDirectory(atPath: scratch + "/src/special", withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(scratch + "/src/special/fifo", 0o640), 0)
        XCTAssertEqual(mknod(scratch + "/src/special/null", S_IFCHR | 0o666, Self.device(1, 3)), 0)
        XCTAssertEqual(mknod(scratch + "/src/special/disk", S_IFBLK | 0o660, Self.device(259, 70000)), 0)
        try file("special/setuid", Array("set-uid".utf8), mode: 0o4755)
        try makeDirectory(entries: 3_000)
        var deep = "deep"
        for level in 1...100 {
            deep += String(format: "/d%03d", level)
            if level % 25 == 0 { try file(deep + "/file-at-\(level)", Array("level \(level)".utf8)) }
        }
        try file(deep + "/bottom", Array("the bottom".utf8))
    }

    /// src/big-dir with `entries` symlinks of 12-byte names (symlink(2):
    /// cheaper to make, extract and compare than files, and still one
    /// directory entry and one inode each).
    func makeDirectory(entries: Int) throws {
        try FileManager.default.createDirectory(atPath: scratch + "/src/big-dir", withIntermediateDirectories: true)
        for i in 0..<entries {
            let name = String(format: "entry-%06d", i)
            XCTAssertEqual(symlink("target-\(i % 977)", scratch + "/src/big-dir/" + name), 0, name)
        }
    }

    func write(_ compression: String, name: String) throws -> String {
        guard case .directory(var root) = try scanSource(path: scratch + "/src") else { throw TestFailure("not a directory") }
        root.mode = 0o755
        let path = scratch + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        _ = try writeEROFSImage(root: root, to: fd, options: EROFSOptions(compression: Compression(parsing: compression)))
        return path
    }

    /// The kernel, mounting the image file itself (no loop device; needs
    /// CONFIG_EROFS_FS_BACKED_BY_FILE, Linux 6.12+). mount(2) directly:
    /// util-linux's mount would set up a loop device for a regular file.
    static let fileBackedKernel = ReadBack.Reader(name: "kernel, file-backed", available: { getuid() == 0 }) { image, scratch in
        let mnt = scratch + "/mnt-file"
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        guard mount(image, mnt, "erofs", UInt(MS_RDONLY), nil) == 0 else {
            throw TestFailure("file-backed mount of \(image) failed: \(String(cString: strerror(errno)))")
        }
        return (mnt, { _ = umount2(mnt, 0) })
    }

    static var readers: [ReadBack.Reader] {
        [ReadBack.fsck(ReferenceTools.path("fsck.erofs"), label: "fsck.erofs 1.9.3"), ReadBack.kernel, fileBackedKernel]
    }

    func testEdgeTreeReadsBackForEveryCompression() throws {
        guard getuid() == 0 else { throw XCTSkip("devices and mounts need root") }
        try makeEdgeTree()
        let expected = try Manifest.ofDisk(scratch + "/src")
        XCTAssertGreaterThan(expected.count, 3_100)
        for z in Self.compressions { try checkReaders(z, expected: expected) }
    }

    /// Writes src with `compression`; every reader must see `expected`.
    func checkReaders(_ compression: String, expected: [String: String]) throws {
        let image = try write(compression, name: "edge-\(compression).erofs")
        for reader in Self.readers where reader.available() {
            let (path, done) = try reader.open(image, scratch)
            defer { done() }
            XCTAssertEqual(Manifest.differences(expected, try Manifest.ofDisk(path)), [], "\(reader.name) read the \(compression) image differently")
        }
        try FileManager.default.removeItem(atPath: image)
    }

    /// A directory of 100,000 entries (about 600 directory blocks), with
    /// the default compression.
    func testHundredThousandEntryDirectory() throws {
        guard getuid() == 0 else { throw XCTSkip("mounts need root") }
        try makeDirectory(entries: 100_000)
        try file("after", Array("after the big directory".utf8))
        let expected = try Manifest.ofDisk(scratch + "/src")
        XCTAssertEqual(expected.count, 100_002)
        try checkReaders(EROFSOptions().compression.description, expected: expected)
    }

    /// Linux's dev_t of MAJOR:MINOR.
    static func device(_ ma: UInt64, _ mi: UInt64) -> dev_t {
        dev_t(((ma & 0xffff_f000) << 32) | ((ma & 0xfff) << 8) | ((mi & 0xffff_ff00) << 12) | (mi & 0xff))
    }

    /// A file of 4 GiB and more (sparse on disk: data at the start, across
    /// the 4 GiB boundary and in the tail), with the default compression
    /// (writing it takes most of this test's time, so not with each): the
    /// whole file as fsck.erofs 1.9.3 extracts it, compared with the source
    /// byte for byte by cmp(1); its size as the kernel sees it (loop and
    /// file-backed), and the bytes at the start, at 2 GiB, across the 4 GiB
    /// boundary, past it and at the end as the kernel and the extraction
    /// read them with pread(2). (The kernel is not made to read all 4 GiB:
    /// 30 s a mount on the loaded test host, for zeros between the pieces.)
    func testFileOver4GiBWithTheDefaultCompression() throws {
        guard getuid() == 0 else { throw XCTSkip("mounts need root") }
        let size = (1 << 32) + 12345
        let pieces: [(at: Int, bytes: [UInt8])] = [(0, EROFSWriterTests.bytes(70_000, seed: 5, compressible: true)),
                                                   ((1 << 32) - 32, EROFSWriterTests.bytes(5000, seed: 6, compressible: false)),
                                                   (size - 100, EROFSWriterTests.bytes(100, seed: 7, compressible: false))]
        try sparse("huge", size: size, chunks: pieces)
        try file("after", Array("a small file after the huge one".utf8))
        let image = try write(EROFSOptions().compression.description, name: "huge.erofs")
        let readers = [ReadBack.fsck(ReferenceTools.path("fsck.erofs"), label: "fsck.erofs 1.9.3"), ReadBack.kernel, Self.fileBackedKernel]
        for reader in readers where reader.available() {
            let (path, done) = try reader.open(image, scratch)
            defer { done() }
            if reader.name.hasPrefix("fsck") {
                let same = try Subprocess.run("/usr/bin/cmp", [scratch + "/src/huge", path + "/huge"])
                XCTAssertEqual(same.status, 0, "\(reader.name): \(same.text)")
            }
            try checkPieces(pieces + [(at: 1 << 31, bytes: [UInt8](repeating: 0, count: 4096)), (at: (1 << 32) + 6000, bytes: [UInt8](repeating: 0, count: 4096))],
                            of: path + "/huge", size: size, reader: reader.name)
            XCTAssertEqual(try String(contentsOfFile: path + "/after", encoding: .utf8), "a small file after the huge one", reader.name)
        }
    }

    /// `path` is `size` bytes long and holds `pieces` where they belong.
    func checkPieces(_ pieces: [(at: Int, bytes: [UInt8])], of path: String, size: Int, reader: String) throws {
        var st = stat()
        XCTAssertEqual(lstat(path, &st), 0)
        XCTAssertEqual(Int(st.st_size), size, reader)
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        for p in pieces {
            var got = [UInt8](repeating: 0xAA, count: p.bytes.count)
            XCTAssertEqual(got.withUnsafeMutableBytes { pread(fd, $0.baseAddress, p.bytes.count, off_t(p.at)) }, p.bytes.count)
            XCTAssertTrue(got == p.bytes, "\(reader): the \(p.bytes.count) bytes at \(p.at) differ from the source's")
        }
    }
}
