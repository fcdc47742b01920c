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
struct IncompressibleProbe {
    private let zstd: (any CompressorWorker)?
    private var counts = [Int](repeating: 0, count: 256)

    init(compressorID: CompressorID) {
        zstd = compressorID == .lz4 ? nil : ZstdCompressor(level: 1).makeWorker()
    }

    mutating func isIncompressible(_ p: UnsafeMutableRawPointer, _ n: Int,
                                   scratch: UnsafeMutableRawPointer, capacity: Int) -> Bool {
        guard let zstd, n >= 4096 else { return false }
        for i in 0..<256 { counts[i] = 0 }
        let bytes = UnsafeRawBufferPointer(start: p, count: n)
        counts.withUnsafeMutableBufferPointer { c in
            for b in bytes { c[Int(b)] += 1 }
        }
        var entropy = 0.0
        let total = Double(n)
        for c in counts where c > 0 {
            let q = Double(c) / total
            entropy -= q * log2(q)
        }
        if entropy < 7.99 { return false }
        let out = UnsafeMutableRawBufferPointer(start: scratch, count: capacity)
        guard let compressed = try? zstd.compress(UnsafeRawBufferPointer(start: p, count: n), into: out) else {
            return true  // zstd could not shrink it at all
        }
        return compressed * 100 >= n * 99
    }
}
