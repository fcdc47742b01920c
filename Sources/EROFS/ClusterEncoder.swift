import CLZ4

/// Compresses as much of its input as fits in one physical cluster: the
/// fixed-output ("destination size") compression erofs is built on, so
/// every pcluster is one full block and its extent as long as the data
/// allows.
protocol ClusterEncoder: AnyObject {
    /// Compresses a prefix of `input` into at most `output.count` bytes;
    /// returns how much of the input it took and how many bytes it wrote.
    func encode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(EROFSError) -> (consumed: Int, written: Int)
}

func makeEncoder(_ compression: Compression, pclusterSize: Int) throws(EROFSError) -> (any ClusterEncoder)? {
    switch compression.algorithm {
    case .none: return nil
    case .lz4: return LZ4ClusterEncoder(level: nil)
    case .lz4hc(let l): return LZ4ClusterEncoder(level: l)
    case .lzma(let l, let d): return try LZMAClusterEncoder(level: l, dictionarySize: d)
    case .deflate(let l): return try DeflateClusterEncoder(level: l)
    case .zstd(let l): return try ZstdClusterEncoder(level: l, windowLog: ZstdConfig(pclusterSize: pclusterSize).windowLog)
    }
}

/// LZ4 (`LZ4_compress_destSize`) or LZ4 HC at a level (a fresh HC
/// stream per call, `LZ4_compress_HC_continue_destSize`), raw blocks with
/// the default 64 KiB window.
///
/// The HC state is initialised once and then reset with
/// `LZ4_resetStreamHC_fast`, which moves the stream's index base past
/// every earlier position instead of clearing its 256 KiB of tables
/// (what `LZ4_compress_HC_destSize` does on every call): entries left
/// from earlier calls lie below the new stream's lowest index and are
/// never taken as matches, so the output is the same as from a cleared
/// state, byte for byte.
final class LZ4ClusterEncoder: ClusterEncoder {
    private let level: Int32?
    private let state: UnsafeMutableRawPointer

    init(level: Int?) {
        self.level = level.map(Int32.init)
        let size = level == nil ? LZ4_sizeofState() : LZ4_sizeofStateHC()
        state = .allocate(byteCount: Int(size), alignment: 64)
        if level != nil { _ = LZ4_initStreamHC(state, Int(size)) }
    }

    deinit { state.deallocate() }

    func encode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(EROFSError) -> (consumed: Int, written: Int) {
        guard let src = input.baseAddress?.assumingMemoryBound(to: CChar.self),
              let dst = output.baseAddress?.assumingMemoryBound(to: CChar.self) else { return (0, 0) }
        var taken = Int32(input.count)
        let written: Int32
        if let level {
            let stream = state.assumingMemoryBound(to: LZ4_streamHC_t.self)
            LZ4_resetStreamHC_fast(stream, level)
            written = LZ4_compress_HC_continue_destSize(stream, src, dst, &taken, Int32(output.count))
        } else {
            written = LZ4_compress_destSize(src, dst, &taken, Int32(output.count))
        }
        if written <= 0 { throw EROFSError("lz4: compression failed (error \(written))") }
        return (Int(taken), Int(written))
    }
}
