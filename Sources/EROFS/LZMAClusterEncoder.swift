import CLZMA

/// LZMA in the MicroLZMA format (liblzma's `lzma_microlzma_encoder`): a
/// raw LZMA stream whose first byte, always 0 in LZMA, is replaced by the
/// complement of the lc/lp/pb properties byte, with no size and no end
/// marker (erofs stores the sizes itself). The encoder fills the output
/// with as much input as fits.
final class LZMAClusterEncoder: ClusterEncoder {
    private var options = lzma_options_lzma()
    private var stream = lzma_stream()
    /// The dictionary size, also written to the image's lzma configuration.
    let dictionarySize: UInt32

    init(level: Int, dictionarySize: UInt32?) throws(EROFSError) {
        if lzma_lzma_preset(&options, UInt32(level)) != 0 {
            throw EROFSError("lzma: level \(level) is not supported by liblzma", kind: .invalidSetting)
        }
        options.dict_size = dictionarySize ?? min(options.dict_size, LZMAClusterEncoder.defaultDictionary)
        self.dictionarySize = options.dict_size
    }

    deinit { lzma_end(&stream) }

    /// With 4 KiB pclusters hardly any extent decodes to more than
    /// `Segment.size` (a chain's carried bytes and a segment at most,
    /// `Segment`), so a larger window finds little more.
    static let defaultDictionary = UInt32(Segment.size)

    func encode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(EROFSError) -> (consumed: Int, written: Int) {
        var ret = lzma_microlzma_encoder(&stream, &options)
        guard ret == LZMA_OK else { throw EROFSError("lzma: cannot start the encoder (error \(ret.rawValue))") }
        stream.next_in = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.avail_in = input.count
        stream.next_out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.avail_out = output.count
        ret = lzma_code(&stream, LZMA_FINISH)
        guard ret == LZMA_STREAM_END else { throw EROFSError("lzma: compression failed (error \(ret.rawValue))") }
        return (Int(stream.total_in), Int(stream.total_out))
    }
}
