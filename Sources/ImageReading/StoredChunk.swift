/// A piece of a file's content as one image stores it: `length` bytes at
/// `offsetInFile`, taken from a stored block of `storedSize` bytes at
/// `storedAt` (relative to the image's range), starting `within` bytes
/// into the block once decompressed; `decoding` says, in the format
/// reader's own terms, how the stored bytes become the content (erofs:
/// which algorithm, or how raw bytes are shifted; 0 for squashfs). Two
/// chunks whose stored bytes, `compressed`, `decoding`, `within` and
/// `length` agree hold the same content when the images' `storageCodec`s
/// agree: that is what lets a comparison skip decompressing them.
public struct StoredChunk: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// Data block `index` of the file (counting from 0).
        case block(Int)
        /// Fragment block `index` of the image.
        case fragment(Int)
        /// A hole: `length` zero bytes, nothing stored.
        case sparse(Int)
    }

    public var source: Source
    public var offsetInFile: UInt64
    public var length: Int
    public var storedAt: UInt64
    public var storedSize: Int
    public var compressed: Bool
    public var within: Int
    public var decoding: UInt64

    public init(source: Source, offsetInFile: UInt64, length: Int, storedAt: UInt64, storedSize: Int,
                compressed: Bool, within: Int, decoding: UInt64 = 0) {
        self.source = source
        self.offsetInFile = offsetInFile
        self.length = length
        self.storedAt = storedAt
        self.storedSize = storedSize
        self.compressed = compressed
        self.within = within
        self.decoding = decoding
    }
}
