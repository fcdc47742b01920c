/// Compressed files are cut into segments of at most `size` bytes from
/// offset 0, each ending where `SegmentPlan` says, and each segment into
/// extents on its own (`Extents`), with one exception, chains: a segment
/// that ends on a block boundary, does not end its file, and whose next
/// segment is no shared run (`SegmentPlan`: neither takes part in
/// `SegmentDedupe`) leaves its last extent's bytes, when that extent
/// would take all the rest and they are at most `carryRoom` bytes,
/// uncompressed, and the next segment's extents start with them, as if
/// the two were one segment (no partly filled pcluster at that end). A
/// chain links at most `chain` segments (its first segment is the first
/// of the file, or the first after a shared run, or the `chain`-th after
/// the chain's first): a segment waits for its chain's previous one to be
/// compressed, so chains bound how many run at once.
/// So the extents, and the image, depend on the file alone, whichever
/// thread compresses which segment and however many run; and one segment
/// and its carried bytes bound what a worker holds and what one extent
/// decodes to (2 MiB, under the kernel's 12 MiB).
enum Segment {
    static let size = 1 << 20
    /// The largest physical cluster the kernel reads (Z_EROFS_PCLUSTER_MAX_SIZE).
    static let maxPcluster = 1 << 20
    /// The most bytes a segment carries into the next of its chain.
    static let carryRoom = size
    /// The most segments one chain links.
    static let chain = 4

    /// How many segments a file of `fileSize` bytes has.
    static func count(_ fileSize: UInt64) -> Int {
        Int((fileSize + UInt64(size) - 1) / UInt64(size))
    }
}
