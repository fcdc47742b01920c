// The only file that calls liblzo2.
//
// Squashfs lzo blocks are raw LZO1X streams (no header), made as
// squashfs-tools' lzo_wrapper.c makes them (4.5.1 and 4.6.1 alike): the
// selected LZO1X compressor, then lzo1x_optimize over the result. The
// optimiser rewrites some matches in place without changing the length,
// so it only changes bytes, never whether a block shrinks. lzo1x_999 takes
// a level (default 8); the lzo1x_1 family has none. Every LZO1X stream is
// read by the one decompressor, lzo1x_decompress_safe.
import CLZO

public struct LZOCompressor: Compressor {
    /// The LZO1X compressors mksquashfs offers, in its order; the position
    /// is the algorithm number stored in the options block.
    public enum Algorithm: String, CaseIterable, Sendable {
        case lzo1x_1, lzo1x_1_11, lzo1x_1_12, lzo1x_1_15, lzo1x_999

        /// The `algorithm` field of the options block.
        var number: UInt32 { UInt32(Algorithm.allCases.firstIndex(of: self)!) }
    }

    public static let defaultAlgorithm = Algorithm.lzo1x_999
    public static let defaultLevel = 8

    public let algorithm: Algorithm
    /// 1...9 for lzo1x_999; nil for the other algorithms, which have none.
    public let level: Int?

    /// `level` only with lzo1x_999 (nil there means 8); `parseCompressor`
    /// refuses the other combinations with a message, this only traps.
    public init(algorithm: Algorithm = defaultAlgorithm, level: Int? = nil) {
        if algorithm == .lzo1x_999 {
            let chosen = level ?? Self.defaultLevel
            precondition((1...9).contains(chosen), "lzo level \(chosen) is not in 1...9")
            self.level = chosen
        } else {
            precondition(level == nil, "lzo: \(algorithm.rawValue) takes no compression level")
            self.level = nil
        }
        self.algorithm = algorithm
    }

    public var id: CompressorID { .lzo }

    /// algorithm u32, compression_level u32 (0 unless lzo1x_999); nil for
    /// lzo1x_999 at level 8, which is also what an image without an options
    /// block means (the layout of squashfs's lzo before it had options).
    public var options: [UInt8]? {
        if algorithm == Self.defaultAlgorithm && level == Self.defaultLevel { return nil }
        return CompressorSupport.le32(algorithm.number) + CompressorSupport.le32(UInt32(level ?? 0))
    }

    public var description: String {
        var words = ["lzo"]
        if algorithm != Self.defaultAlgorithm { words += ["-Xalgorithm", algorithm.rawValue] }
        if let level, level != Self.defaultLevel { words += ["-Xcompression-level", "\(level)"] }
        return words.joined(separator: " ")
    }

    public func makeWorker() -> any CompressorWorker { LZOWorker(algorithm: algorithm, level: Int32(level ?? 0)) }
}

final class LZOWorker: CompressorWorker {
    private let algorithm: LZOCompressor.Algorithm
    private let level: Int32
    private let workMemory: UnsafeMutableRawPointer
    private let initFailed: Bool
    /// LZO writes without a bound, so it writes here (room for the worst
    /// case), and a block that shrinks is copied to the caller's output.
    private let encoded: CompressorScratch
    /// lzo1x_optimize decompresses as it goes; the block comes out here.
    private let decoded: CompressorScratch

    init(algorithm: LZOCompressor.Algorithm, level: Int32) {
        self.algorithm = algorithm
        self.level = level
        initFailed = clzo_init() != LZO_E_OK
        let size: UInt
        switch algorithm {
        case .lzo1x_1: size = clzo_mem_1()
        case .lzo1x_1_11: size = clzo_mem_1_11()
        case .lzo1x_1_12: size = clzo_mem_1_12()
        case .lzo1x_1_15: size = clzo_mem_1_15()
        case .lzo1x_999: size = clzo_mem_999()
        }
        workMemory = .allocate(byteCount: Int(size), alignment: 16)
        encoded = CompressorScratch(capacity: Self.worstCase(CompressorSupport.metadataBlockSize))
        decoded = CompressorScratch(capacity: CompressorSupport.metadataBlockSize)
    }

    deinit { workMemory.deallocate() }

    /// LZO1X's bound on the output for `n` input bytes (lzo_wrapper.h's
    /// LZO_MAX_EXPANSION).
    private static func worstCase(_ n: Int) -> Int { n + n / 16 + 64 + 3 }

    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(SquashFSError) -> Int? {
        guard !initFailed else { throw SquashFSError("lzo: lzo_init failed (liblzo2 built for another ABI)") }
        guard input.count > 1, let source = input.baseAddress, let destination = output.baseAddress else { return nil }
        encoded.reserve(Self.worstCase(input.count))
        decoded.reserve(input.count)
        let src = UnsafeMutablePointer(mutating: source.assumingMemoryBound(to: UInt8.self))
        let dst = encoded.pointer.assumingMemoryBound(to: UInt8.self)
        var length: lzo_uint = 0
        let status: Int32
        switch algorithm {
        case .lzo1x_1: status = lzo1x_1_compress(src, lzo_uint(input.count), dst, &length, workMemory)
        case .lzo1x_1_11: status = lzo1x_1_11_compress(src, lzo_uint(input.count), dst, &length, workMemory)
        case .lzo1x_1_12: status = lzo1x_1_12_compress(src, lzo_uint(input.count), dst, &length, workMemory)
        case .lzo1x_1_15: status = lzo1x_1_15_compress(src, lzo_uint(input.count), dst, &length, workMemory)
        case .lzo1x_999: status = lzo1x_999_compress_level(src, lzo_uint(input.count), dst, &length, workMemory, nil, 0, nil, level)
        }
        guard status == LZO_E_OK else { throw SquashFSError("lzo: \(algorithm.rawValue) failed (LZO error \(status))") }
        // Only a result strictly smaller than the input is of use (as
        // mksquashfs, which stores the others raw).
        let n = Int(length)
        guard n < input.count, n <= output.count else { return nil }
        var decodedLength = lzo_uint(input.count)
        let optimized = lzo1x_optimize(dst, length, decoded.pointer.assumingMemoryBound(to: UInt8.self), &decodedLength, nil)
        guard optimized == LZO_E_OK, Int(decodedLength) == input.count else {
            throw SquashFSError("lzo: lzo1x_optimize failed (LZO error \(optimized), \(decodedLength) of \(input.count) bytes)")
        }
        destination.copyMemory(from: encoded.pointer, byteCount: n)
        return n
    }

    func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(SquashFSError) -> Int {
        guard let source = input.baseAddress, let destination = output.baseAddress else {
            throw SquashFSError("lzo: empty block cannot be decompressed")
        }
        var length = lzo_uint(output.count)
        let status = lzo1x_decompress_safe(UnsafeMutablePointer(mutating: source.assumingMemoryBound(to: UInt8.self)),
                                           lzo_uint(input.count), destination.assumingMemoryBound(to: UInt8.self), &length, nil)
        guard status == LZO_E_OK else {
            throw SquashFSError("lzo: corrupt block or output too small (LZO error \(status))")
        }
        return Int(length)
    }
}
