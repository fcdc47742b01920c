import CLZ4
import CLZMA
import CZlib
import CZstd

/// How a stored piece of a file becomes its bytes, as the inode's map
/// says (zmap.c's algorithm formats): `raw`, the bytes as stored from the
/// piece's start (flat data, and PLAIN lclusters: "shifted");
/// `interlaced`, a PLAIN one-block cluster whose bytes start at the
/// extent's offset within a block and wrap around; or one of the four
/// algorithms. Compressed clusters may begin with zero padding (with
/// ZERO_PADDING, compressed bytes are stored at a cluster's end); leading
/// zeros are skipped, as erofs-utils and the kernel do, since no stream
/// of the four starts with a zero byte.
///
/// Rule checked: a piece decodes to at least the extent's length (a
/// deduplicated extent may use only the start of what its cluster holds);
/// nothing is decoded past that length, so a cluster cannot expand
/// further than its extent says.
enum ClusterCoding: Equatable, Sendable {
    case raw
    case interlaced(offset: Int)
    case compressed(StoredCompressionConfigs.Algorithm)

    /// The code `StoredChunk.decoding` carries.
    var code: UInt64 {
        switch self {
        case .raw: return 0
        case .interlaced(let offset): return 1 << 32 | UInt64(offset)
        case .compressed(let a): return 2 << 32 | UInt64(a.rawValue)
        }
    }

    init?(code: UInt64) {
        switch code >> 32 {
        case 0: self = .raw
        case 1: self = .interlaced(offset: Int(code & 0xFFFF_FFFF))
        case 2:
            guard let a = StoredCompressionConfigs.Algorithm(rawValue: Int(code & 0xFF)) else { return nil }
            self = .compressed(a)
        default: return nil
        }
    }

    func decode(_ stored: [UInt8], length: Int, place: @autoclosure () -> String) throws(EROFSError) -> [UInt8] {
        switch self {
        case .raw:
            guard stored.count >= length else { throw .badImage(place(), "holds \(stored.count) bytes; its extent needs \(length)") }
            return stored.count == length ? stored : Array(stored[0..<length])
        case .interlaced(let offset):
            guard offset < stored.count, length <= stored.count else {
                throw .badImage(place(), "an interlaced cluster of \(stored.count) bytes cannot give \(length) bytes from offset \(offset)")
            }
            let right = min(stored.count - offset, length)
            return Array(stored[offset..<offset + right]) + stored[0..<length - right]
        case .compressed(let algorithm):
            guard let start = stored.firstIndex(where: { $0 != 0 }) else {
                throw .badImage(place(), "holds only zeros; no compressed data")
            }
            let produced = stored.withUnsafeBytes { input in
                Self.decompress(algorithm, UnsafeRawBufferPointer(rebasing: input[start...]), length: length)
            }
            guard let produced, produced.count == length else {
                throw .badImage(place(), "does not decompress (\(algorithm.name)) to the \(length) bytes of its extent")
            }
            return produced
        }
    }

    private static func decompress(_ algorithm: StoredCompressionConfigs.Algorithm, _ input: UnsafeRawBufferPointer,
                                   length: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: length)
        let done: Int? = out.withUnsafeMutableBytes { output in
            switch algorithm {
            case .lz4: return lz4(input, output)
            case .lzma: return lzma(input, output)
            case .deflate: return deflate(input, output)
            case .zstd: return zstd(input, output)
            }
        }
        return done == length ? out : nil
    }

    private static func lz4(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer) -> Int? {
        guard input.count <= Int(Int32.max), output.count <= Int(Int32.max) else { return nil }
        let n = LZ4_decompress_safe_partial(input.baseAddress!.assumingMemoryBound(to: CChar.self),
                                            output.baseAddress!.assumingMemoryBound(to: CChar.self),
                                            Int32(input.count), Int32(output.count), Int32(output.count))
        return n < 0 ? nil : Int(n)
    }

    /// MicroLZMA: liblzma's decoder told the stored size and the most it
    /// may produce; the dictionary need not exceed what it produces.
    private static func lzma(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer) -> Int? {
        var stream = lzma_stream()
        defer { lzma_end(&stream) }
        let dictionary = UInt32(max(output.count, 4096))
        guard lzma_microlzma_decoder(&stream, UInt64(input.count), UInt64(output.count), 0, dictionary) == LZMA_OK else { return nil }
        stream.next_in = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
        stream.avail_in = input.count
        stream.next_out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        stream.avail_out = output.count
        let ret = lzma_code(&stream, LZMA_FINISH)
        return ret == LZMA_STREAM_END || (ret == LZMA_OK && stream.avail_out == 0) ? Int(stream.total_out) : nil
    }

    /// Raw deflate (no zlib header), as erofs stores it.
    private static func deflate(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer) -> Int? {
        guard input.count <= Int(UInt32.max), output.count <= Int(UInt32.max) else { return nil }
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        stream.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(output.count)
        let ret = inflate(&stream, Z_SYNC_FLUSH)
        guard ret == Z_STREAM_END || ret == Z_OK || ret == Z_BUF_ERROR else { return nil }
        return Int(stream.total_out)
    }

    /// One zstd frame, decoded only as far as the output reaches; the
    /// window is limited to 16 MiB, past any extent's length.
    private static func zstd(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer) -> Int? {
        guard let dctx = ZSTD_createDCtx() else { return nil }
        defer { ZSTD_freeDCtx(dctx) }
        guard ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 24)) == 0 else { return nil }
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        while outBuffer.pos < outBuffer.size {
            let before = (inBuffer.pos, outBuffer.pos)
            let ret = ZSTD_decompressStream(dctx, &outBuffer, &inBuffer)
            if ZSTD_isError(ret) != 0 { return nil }
            if ret == 0 || (inBuffer.pos, outBuffer.pos) == before { break }
        }
        return outBuffer.pos
    }
}
