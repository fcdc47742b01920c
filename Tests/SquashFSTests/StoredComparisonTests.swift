import Foundation
import XCTest
@testable import ImageReading

/// The comparisons `diff` makes without decompressing: the stored bytes of
/// many chunk pairs at once (read in pieces of several blocks, over
/// threads) and the search for two files' first differing byte (in
/// segments, over threads, skipping ranges known equal), each checked
/// against a plain byte-by-byte comparison.
final class StoredComparisonTests: XCTestCase {
    private var paths: [String] = []

    override func tearDown() {
        for p in paths { unlink(p) }
        paths = []
        super.tearDown()
    }

    func range(_ bytes: [UInt8]) throws -> ImageRange {
        let path = NSTemporaryDirectory() + "stored-comparison-\(getpid())-\(paths.count)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        paths.append(path)
        return try ImageFile(path: path).whole
    }

    struct RNG {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    /// `count` pseudo-random bytes (count a multiple of 8).
    static func noise(_ count: Int, seed: UInt64) -> [UInt8] {
        var rng = RNG(state: seed)
        var words = [UInt64](repeating: 0, count: count / 8)
        words.withUnsafeMutableBufferPointer { w in
            for i in w.indices { w[i] = rng.next() }
        }
        return words.withUnsafeBytes { Array($0) }
    }

    static func same(_ a: [UInt8], _ x: Int, _ b: [UInt8], _ y: Int, _ n: Int) -> Bool {
        a.withUnsafeBytes { p in b.withUnsafeBytes { q in memcmp(p.baseAddress! + x, q.baseAddress! + y, n) == 0 } }
    }

    static func chunk(_ at: Int, _ size: Int, within: Int = 0, compressed: Bool = true, decoding: UInt64 = 0) -> StoredChunk {
        StoredChunk(source: .block(0), offsetInFile: 0, length: size, storedAt: UInt64(at), storedSize: size,
                    compressed: compressed, within: within, decoding: decoding)
    }

    /// B is A behind a 100-byte prefix with a few bytes changed. Runs of
    /// consecutive blocks (with gaps below and above the piece's limit),
    /// blocks larger than a buffer, one block of A paired with two of B,
    /// and pairs given twice: each answer must be what comparing the bytes
    /// says.
    func testStoredBytesAreComparedExactlyWhateverTheirLayout() throws {
        let size = 6 << 20
        let a = Self.noise(size, seed: 1)
        var b = [UInt8](repeating: 9, count: 100) + a
        for at in [300_000, 2_500_001, 4_000_000, 5_999_999] { b[100 + at] ^= 0x10 }
        let ra = try range(a), rb = try range(b)
        var rng = RNG(state: 42)
        var pairs: [(StoredChunk, StoredChunk)] = []
        for _ in 0..<60 {
            var x = rng.below(size - 200_000)
            // Mostly the same bytes (shifted by the prefix), else anywhere.
            let shift = rng.below(4) == 0 ? rng.below(size) - x : 100
            for _ in 0..<(1 + rng.below(8)) {
                let n = 1 + rng.below(rng.below(10) == 0 ? 3 << 20 : 100_000)
                guard x + n <= size, x + shift >= 0, x + shift + n <= b.count else { break }
                pairs.append((Self.chunk(x, n), Self.chunk(x + shift, n)))
                x += n + (rng.below(3) == 0 ? rng.below(80_000) : 0)
            }
        }
        pairs.append(pairs[0])
        pairs.append((pairs[1].0, Self.chunk(Int(pairs[1].0.storedAt) + 100 + 1, pairs[1].0.storedSize)))
        var stored = StoredExtents()
        for (x, y) in pairs.reversed() { stored.add(x, y) }
        try stored.compare(ra, rb, threads: 3)
        var equal = 0
        for (x, y) in pairs {
            let ax = Int(x.storedAt), by = Int(y.storedAt)
            let truth = Self.same(a, ax, b, by, x.storedSize)
            XCTAssertEqual(stored.storedEqual(x, y), truth, "A \(ax) B \(by) (\(x.storedSize) bytes)")
            if truth { equal += 1 }
        }
        XCTAssertGreaterThan(equal, pairs.count / 3, "most pairs hold the same bytes")
        XCTAssertLessThan(equal, pairs.count, "some pairs differ")
    }

    /// Stored forms taken differently are never equal, whatever the bytes:
    /// another offset into the block, compressed vs raw, another size,
    /// another decoding.
    func testChunksTakenDifferentlyAreNotEqual() throws {
        let bytes = Self.noise(4096, seed: 3)
        let ra = try range(bytes), rb = try range(bytes)
        let pairs = [(Self.chunk(0, 100, within: 1), Self.chunk(0, 100)),
                     (Self.chunk(0, 100, compressed: false), Self.chunk(0, 100)),
                     (Self.chunk(0, 100), Self.chunk(0, 101)),
                     (Self.chunk(0, 100, decoding: 1), Self.chunk(0, 100, decoding: 2))]
        var stored = StoredExtents()
        for (x, y) in pairs { stored.add(x, y) }
        stored.add(Self.chunk(0, 100), Self.chunk(0, 100))
        try stored.compare(ra, rb, threads: 2)
        for (x, y) in pairs { XCTAssertFalse(stored.storedEqual(x, y)) }
        XCTAssertTrue(stored.storedEqual(Self.chunk(0, 100), Self.chunk(0, 100)))
    }

    /// The first differing byte, across segments and threads; a shorter
    /// file differs where it ends; ranges given as known equal are not
    /// read (a difference inside one is not found).
    func testTheFirstDifferingByteIsFoundInSegmentsAndSkipsKnownRanges() throws {
        let size = 19 << 20
        let a = Self.noise(size, seed: 5)
        var b = a
        for at in [17 << 20, 9 << 20, (8 << 20) + 1] { b[at] ^= 1 }
        let ra = try range(a), rb = try range(b)
        for threads in [1, 2, 5] {
            XCTAssertEqual(try RangeComparison.firstMismatch(ra, rb, threads: threads), (8 << 20) + 1)
            XCTAssertEqual(try RangeComparison.firstMismatch(ra, rb, from: (8 << 20) + 2, threads: threads), 9 << 20)
        }
        let known: [Range<UInt64>] = [100..<200, UInt64(8 << 20)..<UInt64((9 << 20) + 1)]
        XCTAssertEqual(try RangeComparison.firstMismatch(ra, rb, knownEqual: known, threads: 2), 17 << 20)
        XCTAssertNil(try RangeComparison.firstMismatch(ra, ra, threads: 2))
        let shorter = try range(Array(a[..<(3 << 20)]))
        XCTAssertEqual(try RangeComparison.firstMismatch(ra, shorter, threads: 2), 3 << 20)
        XCTAssertEqual(try RangeComparison.firstMismatch(shorter, ra, from: 5 << 20, threads: 2), 3 << 20)
    }

    func testUncoveredParts() {
        let known: [Range<UInt64>] = [10..<20, 30..<40, 40..<45, 60..<100]
        XCTAssertEqual(RangeComparison.uncovered(0..<100, by: known), [0..<10, 20..<30, 45..<60])
        XCTAssertEqual(RangeComparison.uncovered(15..<35, by: known), [20..<30])
        XCTAssertEqual(RangeComparison.uncovered(62..<90, by: known), [])
        XCTAssertEqual(RangeComparison.uncovered(100..<120, by: known), [100..<120])
        XCTAssertEqual(RangeComparison.uncovered(0..<5, by: []), [0..<5])
    }
}
