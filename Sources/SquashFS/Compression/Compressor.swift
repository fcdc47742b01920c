/// Compressor ids as stored in the superblock's `compression_id` field.
public enum CompressorID: UInt16, Sendable {
    case gzip = 1
    case lzma = 2
    case lzo = 3
    case xz = 4
    case lz4 = 5
    case zstd = 6
}

/// One configured compressor: an algorithm plus its options.
///
/// On-disk rule: the image stores `id` in the superblock, and when `options`
/// is non-nil the options block follows the superblock as one uncompressed
/// metadata block, with the COMPRESSOR_OPTIONS flag set. The kernel rejects
/// an image whose options it cannot honour, so `options` is nil exactly when
/// the settings equal the algorithm's defaults as mksquashfs defines them
/// (lz4, whose version field the kernel checks, always writes its block).
public protocol Compressor: Sendable {
    var id: CompressorID { get }
    /// The options block payload (little-endian), or nil for defaults.
    var options: [UInt8]? { get }
    /// A canonical option string, as mksquashfs would accept it.
    var description: String { get }
    /// Working state for one thread. Each worker thread makes its own and
    /// reuses it for every block, so no per-block allocation happens.
    func makeWorker() -> any CompressorWorker
    /// The compressor to use when the writer passes `BlockContent` hints:
    /// one whose `options` also announce what the hints may select (xz:
    /// the x86 filter bit). The default ignores hints and returns `self`.
    func adaptedToContent() -> any Compressor
}

extension Compressor {
    public func adaptedToContent() -> any Compressor { self }
}

public protocol CompressorWorker: AnyObject {
    /// Compresses `input` into `output` (whose count is at least
    /// `input.count`). Returns the compressed length when it is strictly
    /// smaller than `input.count`, otherwise nil: the caller then stores the
    /// block uncompressed. Output must depend on the input bytes only.
    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(SquashFSError) -> Int?

    /// The same, for a block the writer knows more about. Workers of an
    /// adapted compressor (see `Compressor.adaptedToContent`) may pick
    /// settings by `content`; every other worker ignores it.
    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                  content: BlockContent) throws(SquashFSError) -> Int?

    /// Decompresses a block produced by `compress`; returns the length
    /// written into `output`. Used by tests and by self-checks.
    func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(SquashFSError) -> Int
}

extension CompressorWorker {
    public func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                         content: BlockContent) throws(SquashFSError) -> Int? {
        try compress(input, into: output)
    }
}
