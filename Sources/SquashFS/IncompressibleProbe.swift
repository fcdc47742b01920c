#if canImport(Glibc)
import Glibc
#endif

/// Spares the configured compressor blocks it cannot shrink, such as
/// already-compressed files, by a cheap test that depends on the bytes only.
///
/// A block counts as incompressible when its byte histogram is nearly flat
/// (order-0 entropy of at least 7.99 bits per byte, so no entropy coder can
/// save more than 0.13%) and zstd at level 1, whose window spans the whole
/// block, cannot save 1% either (so there are no long repeats to exploit).
/// Such a block is stored uncompressed: at most about 1% larger than the
/// slow compressor might have made it, at a few milliseconds instead of
/// hundreds. lz4 is as fast as the test, so it is not probed.
///
/// Most blocks are far from flat, and the histogram says so long before
/// its end: once one byte value is frequent enough that no way of filling
/// the rest of the block could bring the entropy up to 7.99 (see
/// `ByteHistogram.decidedBelow`), the block is not incompressible and
/// counting stops. The answer is the one the whole histogram gives; only
/// the work is less (docs/performance.md, "#23 closure").
struct IncompressibleProbe {
    private let zstd: (any CompressorWorker)?
    private var histogram = ByteHistogram()

    /// Bits per byte at or above which a block may be stored raw.
    static let flatEntropy = 7.99

    init(compressorID: CompressorID) {
        zstd = compressorID == .lz4 ? nil : ZstdCompressor(level: 1).makeWorker()
    }

    mutating func isIncompressible(_ p: UnsafeMutableRawPointer, _ n: Int,
                                   scratch: UnsafeMutableRawPointer, capacity: Int) -> Bool {
        guard let zstd, n >= 4096 else { return false }
        guard histogram.count(UnsafeRawPointer(p), n, stopBelow: Self.flatEntropy),
              histogram.entropy(total: n) >= Self.flatEntropy else { return false }
        let out = UnsafeMutableRawBufferPointer(start: scratch, count: capacity)
        guard let compressed = try? zstd.compress(UnsafeRawBufferPointer(start: p, count: n), into: out) else {
            return true  // zstd could not shrink it at all
        }
        return compressed * 100 >= n * 99
    }
}

/// The byte histogram of one block, counted in four interleaved tables (so
/// runs of one byte value do not wait on each other's increments), with a
/// bound checked every `stride` bytes that may settle "entropy below the
/// limit" early.
struct ByteHistogram {
    /// Four tables of 256 counts; a block is at most 1 MiB, so 32 bits hold any count.
    private var tables = [UInt32](repeating: 0, count: 4 * 256)
    /// The last block length `threshold` was worked out for, and its value.
    private var thresholdLength = -1
    private var threshold = 0

    static let stride = 32 << 10

    /// Counts the `n` bytes at `p`. Returns false, having stopped early,
    /// when the entropy of the whole block is already known to be below
    /// `limit` bits per byte; true when every byte was counted.
    mutating func count(_ p: UnsafeRawPointer, _ n: Int, stopBelow limit: Double) -> Bool {
        if thresholdLength != n {
            threshold = Self.decidingCount(length: n, limit: limit)
            thresholdLength = n
        }
        let decisive = threshold
        return tables.withUnsafeMutableBufferPointer { t -> Bool in
            let c = t.baseAddress!
            c.update(repeating: 0, count: 4 * 256)
            var i = 0
            while i < n {
                let end = min(n, i + Self.stride)
                Self.add(p + i, end - i, into: c)
                i = end
                if i < n && Self.largest(c) >= decisive { return false }
            }
            return true
        }
    }

    /// Order-0 entropy in bits per byte of the block just counted in full
    /// (the four tables summed, terms added in byte-value order).
    func entropy(total n: Int) -> Double {
        var entropy = 0.0
        let total = Double(n)
        for v in 0..<256 {
            let c = Int(tables[v]) + Int(tables[256 + v]) + Int(tables[512 + v]) + Int(tables[768 + v])
            if c > 0 {
                let q = Double(c) / total
                entropy -= q * log2(q)
            }
        }
        return entropy
    }

    @inline(__always)
    private static func add(_ p: UnsafeRawPointer, _ n: Int, into c: UnsafeMutablePointer<UInt32>) {
        var i = 0
        while i + 8 <= n {
            let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            c[Int(truncatingIfNeeded: w & 0xff)] &+= 1
            c[256 + Int(truncatingIfNeeded: (w >> 8) & 0xff)] &+= 1
            c[512 + Int(truncatingIfNeeded: (w >> 16) & 0xff)] &+= 1
            c[768 + Int(truncatingIfNeeded: (w >> 24) & 0xff)] &+= 1
            c[Int(truncatingIfNeeded: (w >> 32) & 0xff)] &+= 1
            c[256 + Int(truncatingIfNeeded: (w >> 40) & 0xff)] &+= 1
            c[512 + Int(truncatingIfNeeded: (w >> 48) & 0xff)] &+= 1
            c[768 + Int(truncatingIfNeeded: w >> 56)] &+= 1
            i += 8
        }
        while i < n {
            c[Int(p.load(fromByteOffset: i, as: UInt8.self))] &+= 1
            i += 1
        }
    }

    /// The largest count of any byte value so far.
    private static func largest(_ c: UnsafeMutablePointer<UInt32>) -> Int {
        var most: UInt32 = 0
        for v in 0..<256 { most = max(most, c[v] &+ c[256 + v] &+ c[512 + v] &+ c[768 + v]) }
        return Int(most)
    }

    /// The most entropy a block can have, in bits per byte, when one byte
    /// value has share `p` (at least 1/256) of it: the other 255 values
    /// share the rest evenly. It falls as `p` grows.
    static func mostEntropy(share p: Double) -> Double {
        -p * log2(p) - (1 - p) * log2((1 - p) / 255)
    }

    /// The smallest count of one byte value, in a block of `length` bytes,
    /// that holds the block's entropy below `limit` whatever its other
    /// bytes: `mostEntropy` of that share is under `limit` by a margin of
    /// 0.005 bits, far above any rounding in `entropy`. Counts only grow
    /// while a block is counted, so reaching it early settles the answer.
    static func decidingCount(length: Int, limit: Double) -> Int {
        let bound = limit - 0.005
        var low = length / 256 + 1, high = length  // mostEntropy(high / length) = 0 < bound
        while low < high {
            let mid = (low + high) / 2
            if mostEntropy(share: Double(mid) / Double(length)) < bound { high = mid } else { low = mid + 1 }
        }
        return high
    }
}
