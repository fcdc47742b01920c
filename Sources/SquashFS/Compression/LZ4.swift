// The only file that calls liblz4.
//
// Squashfs lz4 blocks are raw LZ4 blocks (no frame), as mksquashfs 4.5.1's
// lz4_wrapper.c makes them: LZ4_compress_default, or with -Xhc
// LZ4_compress_HC at LZ4HC_CLEVEL_MAX (12). The *_extState forms used here
// are what those two call internally, but with a state the worker owns, so
// no block allocates (LZ4_compress_HC mallocs its state on every call).
import CLZ4

public struct LZ4Compressor: Compressor {
    /// -Xhc: LZ4 HC at its highest level.
    public let highCompression: Bool

    public init(highCompression: Bool = false) {
        self.highCompression = highCompression
    }

    public var id: CompressorID { .lz4 }

    /// Always present (the kernel checks it): version u32 = 1 (LZ4_LEGACY),
    /// flags u32 with bit 0 = HC.
    public var options: [UInt8]? {
        return CompressorSupport.le32(1) + CompressorSupport.le32(highCompression ? 1 : 0)
    }

    public var description: String { highCompression ? "lz4 -Xhc" : "lz4" }

    public func makeWorker() -> any CompressorWorker { LZ4Worker(highCompression: highCompression) }
}

final class LZ4Worker: CompressorWorker {
    private let highCompression: Bool
    private let state: UnsafeMutableRawPointer

    init(highCompression: Bool) {
        self.highCompression = highCompression
        let size = highCompression ? LZ4_sizeofStateHC() : LZ4_sizeofState()
        state = .allocate(byteCount: Int(size), alignment: 64)
    }

    deinit { state.deallocate() }

    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(SquashFSError) -> Int? {
        // Only a result strictly smaller than the input is of use; LZ4's
        // bytes do not depend on the room given, it returns 0 if they
        // do not fit.
        let limit = min(output.count, input.count - 1)
        guard limit > 0, input.count <= Int(Int32.max), let source = input.baseAddress,
              let destination = output.baseAddress else { return nil }
        let src = source.assumingMemoryBound(to: CChar.self)
        let dst = destination.assumingMemoryBound(to: CChar.self)
        let result = highCompression
            ? LZ4_compress_HC_extStateHC(state, src, dst, Int32(input.count), Int32(limit), LZ4HC_CLEVEL_MAX)
            : LZ4_compress_fast_extState(state, src, dst, Int32(input.count), Int32(limit), 1)
        if result < 0 { throw SquashFSError("lz4: compression failed (error \(result))") }
        return result == 0 ? nil : Int(result)
    }

    func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(SquashFSError) -> Int {
        guard let source = input.baseAddress, let destination = output.baseAddress,
              input.count <= Int(Int32.max) else {
            throw SquashFSError("lz4: empty block cannot be decompressed")
        }
        let result = LZ4_decompress_safe(source.assumingMemoryBound(to: CChar.self),
                                         destination.assumingMemoryBound(to: CChar.self),
                                         Int32(input.count), Int32(min(output.count, Int(Int32.max))))
        if result < 0 { throw SquashFSError("lz4: corrupt block or output too small (error \(result))") }
        return Int(result)
    }
}
