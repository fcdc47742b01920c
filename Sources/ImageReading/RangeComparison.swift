#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemIO

/// Byte ranges of two images compared without decompressing anything:
/// read with `pread` into buffers reused from a pool (so memory stays at a
/// few buffers whatever the images' sizes) and compared with `memcmp`.
public enum RangeComparison {
    /// The most bytes one read fills: at least the largest stored block
    /// (1 MiB for squashfs), so a piece of whole blocks is one read.
    static let bufferSize = 2 << 20

    /// Whether `count` bytes at `x` in `a` and at `y` in `b` are equal.
    static func equal(_ a: ImageRange, _ x: UInt64, _ b: ImageRange, _ y: UInt64, count: UInt64,
                      pool: BufferPool) throws(ImageReadError) -> Bool {
        var done: UInt64 = 0
        while done < count {
            let n = Int(min(count - done, UInt64(pool.size)))
            let same = try pool.withPair { (p, q) throws(ImageReadError) -> Bool in
                try a.read(into: UnsafeMutableRawBufferPointer(rebasing: p[..<n]), at: x + done)
                try b.read(into: UnsafeMutableRawBufferPointer(rebasing: q[..<n]), at: y + done)
                return memcmp(p.baseAddress!, q.baseAddress!, n) == 0
            }
            if !same { return false }
            done += UInt64(n)
        }
        return true
    }

    /// The first byte at which `a` and `b` differ, from `start` on; the
    /// shorter one's length when one is a prefix of the other; nil when
    /// they are the same bytes. `knownEqual` (sorted, not overlapping) are
    /// ranges already found to hold the same bytes in both, which are not
    /// read again. Segments are compared on up to `threads` threads, in
    /// order, and none past a difference already found.
    public static func firstMismatch(_ a: ImageRange, _ b: ImageRange, from start: UInt64 = 0,
                                     knownEqual: [Range<UInt64>] = [], threads: Int) throws -> UInt64? {
        let common = min(a.length, b.length)
        let at = min(start, common)
        let segment = UInt64(4 * bufferSize)
        let count = Int((common - at + segment - 1) / segment)
        let found = FirstFound()
        let pool = BufferPool(size: bufferSize)
        try parallelEach(count, threads: threads) { index in
            let from = at + UInt64(index) * segment
            for part in uncovered(from..<min(from + segment, common), by: knownEqual) {
                if let k = try firstMismatch(a, b, in: part, pool: pool, stop: found) {
                    found.lower(k)
                    return
                }
            }
        }
        if found.value != .max { return found.value }
        return a.length == b.length ? nil : common
    }

    /// The first differing byte in `part`, read a buffer at a time while
    /// no thread has found one before.
    private static func firstMismatch(_ a: ImageRange, _ b: ImageRange, in part: Range<UInt64>, pool: BufferPool,
                                      stop: FirstFound) throws(ImageReadError) -> UInt64? {
        var x = part.lowerBound
        while x < part.upperBound, x < stop.value {
            let n = Int(min(part.upperBound - x, UInt64(pool.size)))
            let k = try pool.withPair { (p, q) throws(ImageReadError) -> Int? in
                try a.read(into: UnsafeMutableRawBufferPointer(rebasing: p[..<n]), at: x)
                try b.read(into: UnsafeMutableRawBufferPointer(rebasing: q[..<n]), at: x)
                return firstMismatch(p.baseAddress!, q.baseAddress!, n)
            }
            if let k { return x + UInt64(k) }
            x += UInt64(n)
        }
        return nil
    }

    /// The parts of `range` outside every one of `known` (sorted, not
    /// overlapping), in order.
    static func uncovered(_ range: Range<UInt64>, by known: [Range<UInt64>]) -> [Range<UInt64>] {
        // The first known range ending after the start, by bisection.
        var low = 0, high = known.count
        while low < high {
            let mid = (low + high) / 2
            if known[mid].upperBound <= range.lowerBound { low = mid + 1 } else { high = mid }
        }
        var out: [Range<UInt64>] = []
        var x = range.lowerBound
        for k in known[low...] {
            if k.lowerBound >= range.upperBound { break }
            if k.lowerBound > x { out.append(x..<k.lowerBound) }
            x = max(x, k.upperBound)
            if x >= range.upperBound { break }
        }
        if x < range.upperBound { out.append(x..<range.upperBound) }
        return out
    }

    /// The index of the first differing byte of two buffers of `count`.
    static func firstMismatch(_ x: UnsafeRawPointer, _ y: UnsafeRawPointer, _ count: Int) -> Int? {
        var at = 0
        while at < count {
            let n = min(4096, count - at)
            if memcmp(x + at, y + at, n) != 0 {
                for i in at..<at + n where x.load(fromByteOffset: i, as: UInt8.self) != y.load(fromByteOffset: i, as: UInt8.self) {
                    return i
                }
            }
            at += n
        }
        return nil
    }
}

/// Pairs of buffers of `size` bytes, allocated when first needed (one per
/// thread at a time) and kept until the pool goes away.
final class BufferPool: @unchecked Sendable {
    let size: Int
    private let monitor = Monitor()
    private var idle: [UnsafeMutableRawBufferPointer] = []
    private var all: [UnsafeMutableRawBufferPointer] = []

    init(size: Int) { self.size = size }

    deinit { for b in all { b.deallocate() } }

    private func take() -> UnsafeMutableRawBufferPointer {
        monitor.locked {
            if let b = idle.popLast() { return b }
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
            all.append(b)
            return b
        }
    }

    func withPair<R>(_ body: (UnsafeMutableRawBufferPointer, UnsafeMutableRawBufferPointer) throws(ImageReadError) -> R) throws(ImageReadError) -> R {
        let p = take(), q = take()
        defer { monitor.locked { idle += [p, q] } }
        return try body(p, q)
    }
}

/// The least offset any thread found, `.max` while none has.
private final class FirstFound: @unchecked Sendable {
    private let monitor = Monitor()
    private var least = UInt64.max

    var value: UInt64 { monitor.locked { least } }

    func lower(_ offset: UInt64) { monitor.locked { least = min(least, offset) } }
}
