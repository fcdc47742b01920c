import XCTest
@testable import SquashFS

/// Golden-byte checks of the on-disk pieces, independent of any reader.
final class FormatTests: XCTestCase {
    /// A compressor that never shrinks anything: every block is stored raw,
    /// so the bytes below are fully predictable.
    final class RawWorker: CompressorWorker {
        func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(SquashFSError) -> Int? { nil }
        func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(SquashFSError) -> Int {
            output.copyMemory(from: input)
            return input.count
        }
    }

    func testSuperblockLayout() {
        let sb = Superblock(inodeCount: 3, modificationTime: 0x01020304, blockSize: 131072, fragmentCount: 1,
                            compressor: .xz, flags: [.duplicates, .exportable, .noXattrs],
                            idCount: 1, rootInode: 0x0000_0000_0001_0020, bytesUsed: 0x1234,
                            idTableStart: 0x1000, inodeTableStart: 0x100, directoryTableStart: 0x200,
                            fragmentTableStart: 0x300, exportTableStart: 0x400)
        let b = sb.encode()
        XCTAssertEqual(b.count, 96)
        XCTAssertEqual(Array(b[0..<4]), [0x68, 0x73, 0x71, 0x73])  // "hsqs"
        XCTAssertEqual(Array(b[4..<8]), [3, 0, 0, 0])
        XCTAssertEqual(Array(b[8..<12]), [4, 3, 2, 1])
        XCTAssertEqual(Array(b[12..<16]), [0, 0, 2, 0])
        XCTAssertEqual(Array(b[20..<22]), [4, 0])  // xz
        XCTAssertEqual(Array(b[22..<24]), [17, 0])  // log2(128K)
        XCTAssertEqual(Array(b[24..<26]), [0xC0, 0x02])  // 0x40|0x80|0x200
        XCTAssertEqual(Array(b[28..<32]), [4, 0, 0, 0])  // version 4.0
        XCTAssertEqual(Array(b[48..<56]), [0, 0x10, 0, 0, 0, 0, 0, 0])  // id table
        XCTAssertEqual(Array(b[56..<64]), [UInt8](repeating: 0xFF, count: 8))  // no xattrs
    }

    func testMetadataBlockStoredRawHasHighBitHeader() throws {
        var m = MetadataWriter(worker: RawWorker())
        try m.append([1, 2, 3])
        let out = try m.finish()
        XCTAssertEqual(out, [3, 0x80, 1, 2, 3])
    }

    func testMetadataBlocksAreCutAt8KiB() throws {
        var m = MetadataWriter(worker: RawWorker())
        try m.append([UInt8](repeating: 7, count: 8192 + 10))
        XCTAssertEqual(m.position.block, 8194)  // 2-byte header + 8192 raw bytes
        XCTAssertEqual(m.position.offset, 10)
        let out = try m.finish()
        XCTAssertEqual(out.count, 8194 + 12)
        XCTAssertEqual(Array(out[0..<2]), [0x00, 0xA0])  // 8192 | 0x8000
        XCTAssertEqual(Array(out[8194..<8196]), [10, 0x80])
    }

    func testDeviceNumberEncoding() throws {
        var t = InodeTable(worker: RawWorker(), mtime: 0)
        _ = try t.addDevice(.blockDevice, mode: 0o660, number: 1, major: 259, minor: 70000)
        let out = try t.finish()
        let body = Array(out[2...])
        XCTAssertEqual(Array(body[0..<2]), [4, 0])  // basic block device
        XCTAssertEqual(Array(body[2..<4]), [0xB0, 0x01])  // 0o660
        // (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)
        let expected: UInt32 = (70000 & 0xFF) | (259 << 8) | ((70000 & ~0xFF) << 12)
        let word = body[20..<24].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
        XCTAssertEqual(word, expected)
    }

    func testFileInodeBasicAndExtended() throws {
        var t = InodeTable(worker: RawWorker(), mtime: 5)
        let r1 = try t.addFile(mode: 0o644, number: 1, size: 10, blocksStart: 96, blockSizes: [],
                               fragment: 0, fragmentOffset: 4, sparseBytes: 0)
        let r2 = try t.addFile(mode: 0o644, number: 2, size: 1 << 32, blocksStart: 96, blockSizes: [0],
                               fragment: FragmentTable.none, fragmentOffset: 0, sparseBytes: 1 << 20)
        XCTAssertEqual(r1, 0)
        XCTAssertEqual(r2, 32)  // basic file inode: 16 header + 16 body
        let out = try t.finish()
        XCTAssertEqual(out[2], 2)  // basic file
        XCTAssertEqual(out[2 + 32], 9)  // extended file
    }

    func testDirectoryHeaderSplitsAt256Entries() {
        let children = (0..<300).map { i in
            DirectoryChild(name: Array("n\(1000 + i)".utf8), inodeRef: UInt64(i * 32), inodeNumber: UInt32(i + 1), type: .file)
        }
        let (bytes, index) = DirectoryTable.encodeListing(children)
        // Two headers of 12 bytes; each entry 8 + 5 name bytes.
        XCTAssertEqual(bytes.count, 2 * 12 + 300 * 13)
        XCTAssertEqual(Array(bytes[0..<4]), [255, 0, 0, 0])  // 256 entries
        let second = 12 + 256 * 13
        XCTAssertEqual(Array(bytes[second..<(second + 4)]), [43, 0, 0, 0])  // 44 entries
        XCTAssertEqual(Array(bytes[(second + 8)..<(second + 12)]), [1, 1, 0, 0])  // base inode 257
        XCTAssertTrue(index.isEmpty)
    }

    func testDirectoryHeaderSplitsWhenInodeBlockChanges() {
        let children = [
            DirectoryChild(name: [0x61], inodeRef: 0x0000_0000_0000_0010, inodeNumber: 1, type: .file),
            DirectoryChild(name: [0x62], inodeRef: 0x0000_0001_2345_0004, inodeNumber: 2, type: .extendedFile),
        ]
        let (bytes, _) = DirectoryTable.encodeListing(children)
        XCTAssertEqual(bytes.count, 2 * (12 + 9))
        // The entry of an extended inode carries the basic type.
        XCTAssertEqual(Array(bytes[(21 + 12 + 4)..<(21 + 12 + 6)]), [2, 0])
        XCTAssertEqual(Array(bytes[(21 + 4)..<(21 + 8)]), [0x45, 0x23, 0x01, 0x00])
    }

    func testDirectoryIndexEveryMetadataBlock() {
        // 100 entries of 250-byte names span about 25 KiB: index entries
        // must appear roughly every 8 KiB, each at a header start.
        let children = (0..<100).map { i in
            DirectoryChild(name: Array(String(format: "%03d", i).utf8) + [UInt8](repeating: 0x78, count: 247),
                           inodeRef: UInt64(i * 64), inodeNumber: UInt32(i + 1), type: .file)
        }
        let (bytes, index) = DirectoryTable.encodeListing(children)
        XCTAssertEqual(index.count, 3)
        var last = 0
        for e in index {
            XCTAssertGreaterThan(e.offset - last, 8192 - 300)
            XCTAssertLessThanOrEqual(e.offset - last, 8192)
            // The offset points at a header whose first entry's name is e.name.
            let nameLen = Int(bytes[e.offset + 12 + 6]) + 1
            XCTAssertEqual(Array(bytes[(e.offset + 20)..<(e.offset + 20 + nameLen)]), e.name)
            last = e.offset
        }
    }

    func testIdTableIsSingleRoot() throws {
        let (bytes, indexStart) = try IdTable().build(start: 1000, worker: RawWorker())
        XCTAssertEqual(bytes, [4, 0x80, 0, 0, 0, 0] + [0xE8, 0x03, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(indexStart, 1006)
    }

    func testNamesAreSortedBytewise() throws {
        var root = Directory()
        for n in ["b", "B", "a", "\u{e9}", "Z"] {
            root.entries.append(Entry(n, .file(File(bytes: []))))
        }
        let tree = try FlatTree(root: root)
        guard case .directory(let children, _) = tree.nodes[0].kind else { return XCTFail() }
        XCTAssertEqual(children.map { String(decoding: tree.nodes[Int($0)].name, as: UTF8.self) }, ["B", "Z", "a", "b", "\u{e9}"])
        XCTAssertEqual(tree.inodeNumber[0], 6)  // root is numbered last
    }

    func testRejectsBadNames() {
        for bad: [UInt8] in [[], [0x2E], [0x2E, 0x2E], [0x61, 0x2F], [UInt8](repeating: 0x61, count: 257)] {
            var root = Directory()
            root.entries.append(Entry(name: bad, node: .fifo(mode: 0o644)))
            XCTAssertThrowsError(try FlatTree(root: root))
        }
        var root = Directory()
        root.entries.append(Entry("x", .fifo(mode: 0o644)))
        root.entries.append(Entry("x", .socket(mode: 0o644)))
        XCTAssertThrowsError(try FlatTree(root: root)) { e in
            XCTAssertTrue("\(e)".contains("/x: appears twice"), "\(e)")
        }
    }

    func testIncompressibleProbe() {
        let n = 1 << 20
        var rng = SystemRandomNumberGenerator()
        let random = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let chunk = Array(random[0..<65536])
        let repeated = Array((0..<16).map { _ in chunk }.joined())
        let text = Array(String(repeating: "portable service images from nix ", count: n / 33 + 1).utf8.prefix(n))
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: n, alignment: 16)
        defer { scratch.deallocate() }
        func check(_ data: [UInt8], _ id: CompressorID) -> Bool {
            var probe = IncompressibleProbe(compressorID: id)
            var copy = data
            return copy.withUnsafeMutableBytes { probe.isIncompressible($0.baseAddress!, $0.count, scratch: scratch, capacity: n) }
        }
        XCTAssertTrue(check(random, .xz), "random bytes should be stored raw without running xz")
        XCTAssertFalse(check(text, .xz), "text must be compressed")
        XCTAssertFalse(check(repeated, .xz), "a flat histogram with long repeats must still be compressed")
        XCTAssertFalse(check(random, .lz4), "lz4 is never probed")
    }
}
