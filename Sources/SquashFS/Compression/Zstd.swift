// The only file that calls libzstd.
//
// Squashfs zstd blocks are single zstd frames from ZSTD_compressCCtx at the
// configured level (mksquashfs 4.5.1's zstd_wrapper.c): no checksum, the
// content size in the frame header. Default level 15.
import CZstd

public struct ZstdCompressor: Compressor {
    public static let defaultLevel = 15
    /// ZSTD_maxCLevel(), 22 in every libzstd mksquashfs builds against.
    public static var maxLevel: Int { Int(ZSTD_maxCLevel()) }

    /// 1...maxLevel.
    public let level: Int

    public init(level: Int = defaultLevel) {
        precondition(level >= 1 && level <= Self.maxLevel, "zstd level \(level) is not in 1...\(Self.maxLevel)")
        self.level = level
    }

    public var id: CompressorID { .zstd }

    /// compression_level u32; nil at level 15.
    public var options: [UInt8]? {
        if level == Self.defaultLevel { return nil }
        return CompressorSupport.le32(UInt32(level))
    }

    public var description: String {
        level == Self.defaultLevel ? "zstd" : "zstd -Xcompression-level \(level)"
    }

    public func makeWorker() -> any CompressorWorker { ZstdWorker(level: Int32(level)) }
}

final class ZstdWorker: CompressorWorker {
    private let level: Int32
    /// Created once; ZSTD_compressCCtx resets it per block, so the output
    /// depends only on the input and the level.
    private let cctx: OpaquePointer?
    private let dctx: OpaquePointer?

    init(level: Int32) {
        self.level = level
        cctx = ZSTD_createCCtx()
        dctx = ZSTD_createDCtx()
    }

    deinit {
        ZSTD_freeCCtx(cctx)
        ZSTD_freeDCtx(dctx)
    }

    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(SquashFSError) -> Int? {
        guard let cctx else { throw SquashFSError("zstd: cannot allocate a compression context") }
        // Only a result strictly smaller than the input is of use; a frame
        // that fits is the same whatever the room (blocks that do not shrink
        // are stored raw either way).
        let limit = min(output.count, input.count - 1)
        guard limit > 0, let source = input.baseAddress, let destination = output.baseAddress else { return nil }
        let result = ZSTD_compressCCtx(cctx, destination, limit, source, input.count, level)
        if ZSTD_isError(result) != 0 {
            // With less room than the worst case, an error is "does not fit"
            // (mksquashfs treats every error so); with full room it is real.
            if limit < ZSTD_compressBound(input.count) { return nil }
            throw SquashFSError("zstd: ZSTD_compressCCtx failed (\(String(cString: ZSTD_getErrorName(result))))")
        }
        return result < input.count ? result : nil
    }

    func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(SquashFSError) -> Int {
        guard let dctx else { throw SquashFSError("zstd: cannot allocate a decompression context") }
        guard let source = input.baseAddress, let destination = output.baseAddress else {
            throw SquashFSError("zstd: empty block cannot be decompressed")
        }
        let result = ZSTD_decompressDCtx(dctx, destination, output.count, source, input.count)
        if ZSTD_isError(result) != 0 {
            throw SquashFSError("zstd: corrupt block or output too small (\(String(cString: ZSTD_getErrorName(result))))")
        }
        return result
    }
}
