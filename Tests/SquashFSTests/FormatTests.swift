import Foundation
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

    /// Stored tables for streams laid out by `body`, compressed by `worker`
    /// on `jobs` threads.
    private func stored(tables: Int = 1, jobs: Int = 1, worker: @escaping () -> any CompressorWorker = { RawWorker() },
                        _ body: (MetadataCompressor) -> Void) throws -> [StoredMetadata] {
        let c = try MetadataCompressor(tables: tables, jobs: jobs, makeWorker: worker)
        body(c)
        return try c.finish()
    }

    private func bytes(_ t: StoredMetadata) -> [UInt8] { t.blocks.flatMap { $0 } }

    func testMetadataBlockStoredRawHasHighBitHeader() throws {
        let out = try stored { c in
            var m = MetadataWriter(table: 0, into: c)
            m.append([1, 2, 3])
            m.close()
        }
        XCTAssertEqual(bytes(out[0]), [3, 0x80, 1, 2, 3])
        XCTAssertEqual(out[0].blockStarts, [0, 5])
    }

    func testMetadataBlocksAreCutAt8KiB() throws {
        let out = try stored { c in
            var m = MetadataWriter(table: 0, into: c)
            m.append([UInt8](repeating: 7, count: 8192 + 10))
            XCTAssertEqual(m.position.block, 1)
            XCTAssertEqual(m.position.offset, 10)
            m.close()
        }
        let b = bytes(out[0])
        XCTAssertEqual(b.count, 8194 + 12)
        XCTAssertEqual(Array(b[0..<2]), [0x00, 0xA0])  // 8192 | 0x8000
        XCTAssertEqual(Array(b[8194..<8196]), [10, 0x80])
        XCTAssertEqual(out[0].blockStarts, [0, 8194, 8206])
        XCTAssertEqual(out[0].resolve((1 << 16) | 4), (8194 << 16) | 4)
    }

    /// Two streams whose fields name each other's blocks, one field
    /// straddling a block boundary: every field must end up holding the
    /// stored start of its target, and the bytes must not depend on the
    /// number of threads.
    func testMetadataFixupsResolveAcrossTablesAndThreads() throws {
        final class ShrinkingWorker: CompressorWorker {
            // Deterministic, content-dependent sizes: keep every other byte
            // of the input (a stand-in "compressor" that always shrinks).
            func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(SquashFSError) -> Int? {
                let n = (input.count + Int(input.first ?? 0) % 7) / 2
                guard n < input.count else { return nil }
                for i in 0..<n { output[i] = input[(2 * i) % input.count] }
                return n
            }
            func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(SquashFSError) -> Int { 0 }
        }
        func layout(_ c: MetadataCompressor) {
            var a = MetadataWriter(table: 0, into: c)
            var b = MetadataWriter(table: 1, into: c)
            for round in 0..<40 {
                // Fields in `a` name the block `b` is filling, and the reverse.
                var chunk = [UInt8](repeating: UInt8(round), count: 1500)
                chunk[100..<104] = [0, 0, 0, 0]
                a.append(chunk, fields: [(100, 1, b.position.block)])
                var other = [UInt8](repeating: UInt8(200 - round), count: 700 + round)
                other[0..<4] = [0, 0, 0, 0]
                b.append(other, fields: [(0, 0, a.position.block)])
            }
            // Straddles the boundary between a's blocks: 4 bytes from 8190 on the next cut.
            let fill = 8190 - a.count % 8192
            a.append([UInt8](repeating: 1, count: fill))
            a.append([0, 0, 0, 0, 9], fields: [(0, 1, 2)])
            a.close()
            b.close()
        }
        let one = try stored(tables: 2, jobs: 1, worker: { ShrinkingWorker() }, layout)
        let four = try stored(tables: 2, jobs: 4, worker: { ShrinkingWorker() }, layout)
        XCTAssertEqual(one.map(bytes), four.map(bytes))
        XCTAssertEqual(one.map(\.blockStarts), four.map(\.blockStarts))
        XCTAssertGreaterThan(one[0].blocks.count, 5)
        XCTAssertGreaterThan(one[1].blocks.count, 3)
        // The block starts are those of the stored blocks.
        for t in one {
            var position: UInt64 = 0
            for (i, block) in t.blocks.enumerated() {
                XCTAssertEqual(t.blockStarts[i], position)
                position += UInt64(block.count)
            }
            XCTAssertEqual(t.size, position)
        }
    }

    /// The same fields, read back through RawWorker (stored raw), hold the
    /// stored starts: checks the values, not just their stability.
    func testMetadataFixupValues() throws {
        var fieldAt: [Int] = []
        let out = try stored(tables: 2, jobs: 3) { c in
            var a = MetadataWriter(table: 0, into: c)
            var b = MetadataWriter(table: 1, into: c)
            b.append([UInt8](repeating: 5, count: 3 * 8192 + 100))
            // Fields at 8190, 16383, 24576, 32769: the first two straddle a cut.
            a.append([UInt8](repeating: 1, count: 8190))
            for target in 0...3 {
                fieldAt.append(a.count)
                a.append([0, 0, 0, 0] + [UInt8](repeating: 1, count: 8189), fields: [(0, 1, target)])
            }
            a.close()
            b.close()
        }
        let raw = bytes(out[0])
        let expectedStarts: [UInt64] = [0, 8194, 16388, 24582, 24684]
        XCTAssertEqual(out[1].blockStarts, expectedStarts)
        XCTAssertEqual(fieldAt.map { $0 % 8192 }, [8190, 8191, 0, 1])
        for (target, p) in fieldAt.enumerated() {
            // Raw blocks: 2 header bytes per block up to position p.
            let word = (0..<4).reduce(UInt32(0)) { acc, i in
                let q = p + i
                return acc | UInt32(raw[q + 2 * (q / 8192 + 1)]) << (8 * UInt32(i))
            }
            XCTAssertEqual(UInt64(word), out[1].blockStarts[target], "field naming block \(target), at \(p)")
        }
    }

    func testDeviceNumberEncoding() throws {
        let out = bytes(try stored(tables: 2) { c in
            var t = InodeTable(mtime: 0, into: c)
            _ = t.addDevice(.blockDevice, mode: 0o660, number: 1, major: 259, minor: 70000)
            t.close()
        }[0])
        let body = Array(out[2...])
        XCTAssertEqual(Array(body[0..<2]), [4, 0])  // basic block device
        XCTAssertEqual(Array(body[2..<4]), [0xB0, 0x01])  // 0o660
        // (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)
        let expected: UInt32 = (70000 & 0xFF) | (259 << 8) | ((70000 & ~0xFF) << 12)
        let word = body[20..<24].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
        XCTAssertEqual(word, expected)
    }

    func testFileInodeBasicAndExtended() throws {
        var r1: UInt64 = 1, r2: UInt64 = 1
        let out = bytes(try stored(tables: 2) { c in
            var t = InodeTable(mtime: 5, into: c)
            r1 = t.addFile(mode: 0o644, number: 1, size: 10, blocksStart: 96, blockSizes: [],
                           fragment: 0, fragmentOffset: 4, sparseBytes: 0)
            r2 = t.addFile(mode: 0o644, number: 2, size: 1 << 32, blocksStart: 96, blockSizes: [0],
                           fragment: FragmentTable.none, fragmentOffset: 0, sparseBytes: 1 << 20)
            t.close()
        }[0])
        XCTAssertEqual(r1, 0)
        XCTAssertEqual(r2, 32)  // basic file inode: 16 header + 16 body
        XCTAssertEqual(out[2], 2)  // basic file
        XCTAssertEqual(out[2 + 32], 9)  // extended file
    }

    func testDirectoryHeaderSplitsAt256Entries() {
        let children = (0..<300).map { i in
            DirectoryChild(name: Array("n\(1000 + i)".utf8), inodeRef: UInt64(i * 32), inodeNumber: UInt32(i + 1), type: .file)
        }
        let listing = DirectoryTable.encodeListing(children)
        let (bytes, index) = (listing.bytes, listing.index)
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
        let listing = DirectoryTable.encodeListing(children)
        let bytes = listing.bytes
        XCTAssertEqual(bytes.count, 2 * (12 + 9))
        // The entry of an extended inode carries the basic type.
        XCTAssertEqual(Array(bytes[(21 + 12 + 4)..<(21 + 12 + 6)]), [2, 0])
        // Each header's inode block start is left zero for the compressor
        // to fill in with the stored start of block 0 and block 0x12345.
        XCTAssertEqual(Array(bytes[(21 + 4)..<(21 + 8)]), [0, 0, 0, 0])
        XCTAssertEqual(listing.inodeBlockFields.map(\.offset), [4, 21 + 4])
        XCTAssertEqual(listing.inodeBlockFields.map(\.block), [0, 0x12345])
    }

    func testDirectoryIndexEveryMetadataBlock() {
        // 100 entries of 250-byte names span about 25 KiB: index entries
        // must appear roughly every 8 KiB, each at a header start.
        let children = (0..<100).map { i in
            DirectoryChild(name: Array(String(format: "%03d", i).utf8) + [UInt8](repeating: 0x78, count: 247),
                           inodeRef: UInt64(i * 64), inodeNumber: UInt32(i + 1), type: .file)
        }
        let listing = DirectoryTable.encodeListing(children)
        let (bytes, index) = (listing.bytes, listing.index)
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
        let (bytes, indexStart) = try IdTable().build(start: 1000, jobs: 2, makeWorker: { RawWorker() })
        XCTAssertEqual(bytes, [4, 0x80, 0, 0, 0, 0] + [0xE8, 0x03, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(indexStart, 1006)
    }

    func testNamesAreSortedBytewise() throws {
        var root = Directory()
        for n in ["b", "B", "a", "\u{e9}", "Z"] {
            root.entries.append(Entry(n, .file(File(bytes: []))))
        }
        var tree = try FlatTree(root: root)
        tree.numberInodes()
        guard case .directory(let children) = tree.nodes[0].kind else { return XCTFail() }
        XCTAssertEqual(children.map { String(decoding: tree.name(of: Int($0)), as: UTF8.self) }, ["B", "Z", "a", "b", "\u{e9}"])
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

    /// The histogram that stops counting once one byte value is frequent
    /// enough gives the answer of the whole histogram (the probe's rule as
    /// it was first written: one table, every byte counted) on blocks near
    /// the 7.99-bit line from both sides, skewed only at the start or only
    /// at the end, and of lengths that are not a multiple of 8.
    func testByteHistogramStopsEarlyWithTheWholeHistogramsAnswer() {
        func wholeEntropy(_ b: [UInt8]) -> Double {
            var counts = [Int](repeating: 0, count: 256)
            for x in b { counts[Int(x)] += 1 }
            var e = 0.0
            for c in counts where c > 0 {
                let q = Double(c) / Double(b.count)
                e -= q * log2(q)
            }
            return e
        }
        var state: UInt64 = 0x1234_5678_9abc_def1
        func next() -> UInt8 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        let text = Array(String(repeating: "portable service images from nix ", count: 40_000).utf8)
        var blocks: [(String, [UInt8])] = []
        for n in [1 << 20, 1_000_003, 65_541, 4096] {
            for zeros in [0, 1, 2, 3, 4, 5, 8, 12, 20, 40, 200] {  // per mille of bytes set to 0
                blocks.append(("random \(n), \(zeros)‰ zeros", (0..<n).map { _ in
                    let x = next(); return Int(next()) * 1000 / 256 < zeros ? 0 : x }))
            }
            let half = (0..<n / 2).map { _ in next() }
            blocks.append(("random then text \(n)", half + text.prefix(n - n / 2)))
            blocks.append(("text then random \(n)", Array(text.prefix(n - n / 2)) + half))
            blocks.append(("text \(n)", Array(text.prefix(n))))
        }
        var h = ByteHistogram()
        var stoppedEarly = 0
        for (what, b) in blocks {
            let whole = wholeEntropy(b)
            let counted = b.withUnsafeBytes { h.count($0.baseAddress!, $0.count, stopBelow: 7.99) }
            if counted {
                XCTAssertEqual(h.entropy(total: b.count), whole, what)
            } else {
                stoppedEarly += 1
                XCTAssertLessThan(whole, 7.99 - 0.005, "\(what): stopped early but the whole block is near the line")
            }
        }
        XCTAssertGreaterThan(stoppedEarly, 10, "skewed blocks should stop before their end")
        XCTAssertEqual(ByteHistogram.decidingCount(length: 1 << 20, limit: 7.99),
                       (1...(1 << 20)).first { ByteHistogram.mostEntropy(share: Double($0) / Double(1 << 20)) < 7.985 })
    }

    /// The metadata after the data compresses on as many threads as the
    /// data did: the pipeline's count must outlive its stopped workers
    /// (it read 0 once they stopped, so every table went to one thread).
    func testPipelineKeepsItsThreadCountAfterShutdown() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(getpid()).img").path
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd); unlink(path) }
        let sink = try ImageSink(file: fd, path: path)
        let compressor = try parseCompressor("gzip", blockSize: 4096)
        for jobs in [1, 2, 8] {
            let pipeline = try BlockPipeline(blockSize: 4096, compressor: compressor, jobs: jobs, alsoHeld: 0, output: sink)
            XCTAssertEqual(pipeline.threadCount, jobs)
            pipeline.shutdown()
            XCTAssertEqual(pipeline.threadCount, jobs, "after shutdown, --jobs \(jobs)")
        }
    }
}
