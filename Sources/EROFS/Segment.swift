/// Compressed files are cut into segments of at most `size` bytes from
/// offset 0, each ending where `SegmentPlan` says, and each segment into
/// extents on its own
/// (`Extents`): no extent crosses a segment boundary. So the extents, and
/// the image, depend on the file alone, whichever thread compresses which
/// segment and however many run; and one segment bounds what a worker
/// holds and what one extent decodes to.
enum Segment {
    static let size = 1 << 20
    /// The largest physical cluster the kernel reads (Z_EROFS_PCLUSTER_MAX_SIZE).
    static let maxPcluster = 1 << 20

    /// How many segments a file of `fileSize` bytes has.
    static func count(_ fileSize: UInt64) -> Int {
        Int((fileSize + UInt64(size) - 1) / UInt64(size))
    }
}
