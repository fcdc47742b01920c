#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemIO

/// The stored bytes of every chunk pair a comparison meets, compared all at
/// once before anything is decompressed.
///
/// Each distinct pair of stored blocks (A's position, B's position, the
/// size both store) is compared once, however many files share it (a
/// fragment block). The pairs are sorted by their place in A and packed
/// into pieces: a block that starts where the previous one ended in both
/// images (or at most `gap` bytes later in each) joins its piece while the
/// piece spans at most a buffer in each image, so a run of equal data
/// costs one `pread` per image and buffer rather than one per block.
/// Pieces are compared on several threads with buffers from one pool.
struct StoredExtents {
    struct Key: Hashable {
        var a: UInt64
        var b: UInt64
        var size: Int
    }

    static let gap: UInt64 = 64 << 10

    private var index: [Key: Int] = [:]
    private var keys: [Key] = []
    private var equal: [Bool] = []

    /// The key under which two chunks' stored bytes are compared; nil when
    /// their stored forms differ in size or in how they are taken or
    /// decoded (then equal bytes would not mean equal content), or nothing
    /// is stored.
    static func key(_ x: StoredChunk, _ y: StoredChunk) -> Key? {
        guard x.storedSize == y.storedSize, x.compressed == y.compressed, x.within == y.within, x.decoding == y.decoding,
              x.storedSize > 0 else {
            return nil
        }
        return Key(a: x.storedAt, b: y.storedAt, size: x.storedSize)
    }

    mutating func add(_ x: StoredChunk, _ y: StoredChunk) {
        guard let key = Self.key(x, y), index[key] == nil else { return }
        index[key] = keys.count
        keys.append(key)
    }

    /// Whether the two chunks' stored bytes, and the way they are taken
    /// from them, are the same (after `compare`; chunks `add`ed before).
    func storedEqual(_ x: StoredChunk, _ y: StoredChunk) -> Bool {
        guard x.storedSize == y.storedSize, x.compressed == y.compressed, x.within == y.within,
              x.decoding == y.decoding else { return false }
        if x.storedSize == 0 { return true }
        guard let key = Self.key(x, y), let i = index[key] else { return false }
        return equal[i]
    }

    struct Piece {
        var a: UInt64
        var b: UInt64
        var endA: UInt64
        var endB: UInt64
        /// Positions in `order`.
        var members: Range<Int>
    }

    /// The keys' indexes sorted by their place in A, then in B, and the
    /// pieces they are read in.
    func pieces(limit: UInt64) -> (order: [Int], pieces: [Piece]) {
        let order = keys.indices.sorted { (keys[$0].a, keys[$0].b) < (keys[$1].a, keys[$1].b) }
        var pieces: [Piece] = []
        for (position, i) in order.enumerated() {
            let k = keys[i], size = UInt64(k.size)
            if var p = pieces.last, k.a >= p.endA, k.a - p.endA <= Self.gap, k.b >= p.endB, k.b - p.endB <= Self.gap,
               k.a + size - p.a <= limit, k.b + size - p.b <= limit {
                p.endA = k.a + size
                p.endB = k.b + size
                p.members = p.members.lowerBound..<position + 1
                pieces[pieces.count - 1] = p
            } else {
                pieces.append(Piece(a: k.a, b: k.b, endA: k.a + size, endB: k.b + size, members: position..<position + 1))
            }
        }
        return (order, pieces)
    }

    /// Reads and compares every key's bytes in `a` and `b`.
    mutating func compare(_ a: ImageRange, _ b: ImageRange, threads: Int) throws {
        let pool = BufferPool(size: RangeComparison.bufferSize)
        let (order, plan) = pieces(limit: UInt64(pool.size))
        let results = Slots<Bool>(keys.count, false)
        let keys = self.keys
        try parallelEach(plan.count, threads: threads) { n in
            let p = plan[n]
            guard p.members.count > 1 else {
                let k = keys[order[p.members.lowerBound]]
                results.set(order[p.members.lowerBound], try RangeComparison.equal(a, k.a, b, k.b, count: UInt64(k.size), pool: pool))
                return
            }
            try pool.withPair { (x, y) throws(ImageReadError) in
                let la = Int(p.endA - p.a), lb = Int(p.endB - p.b)
                try a.read(into: UnsafeMutableRawBufferPointer(rebasing: x[..<la]), at: p.a)
                try b.read(into: UnsafeMutableRawBufferPointer(rebasing: y[..<lb]), at: p.b)
                for position in p.members {
                    let k = keys[order[position]]
                    let same = memcmp(x.baseAddress! + Int(k.a - p.a), y.baseAddress! + Int(k.b - p.b), k.size) == 0
                    results.set(order[position], same)
                }
            }
        }
        equal = results.values
    }
}

/// One slot per index, filled by whichever thread computes it.
final class Slots<Value>: @unchecked Sendable {
    private let monitor = Monitor()
    private var slots: [Value]

    init(_ count: Int, _ initial: Value) { slots = Array(repeating: initial, count: count) }

    func set(_ index: Int, _ value: Value) { monitor.locked { slots[index] = value } }

    var values: [Value] { monitor.locked { slots } }
}
