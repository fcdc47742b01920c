/// Settings of one erofs image write; every field but `jobs` is part of
/// the image's definition.
public struct EROFSOptions: Sendable {
    public var compression: Compression
    /// The build time: every inode's mtime (compact inodes take it from
    /// the superblock).
    public var mtime: UInt64
    /// The largest physical cluster in bytes (mkfs.erofs's -C): a
    /// multiple of 4096 from 4096 to 1 MiB. Larger ones compress better
    /// and cost the reader more per random read.
    public var pclusterSize: Int
    /// Compression threads. Not part of the image's definition: any
    /// count gives the same bytes (`Segment`).
    public var jobs: Int
    /// Whether files smaller than `pclusterSize` go whole into the packed
    /// inode (FRAGMENTS, Linux 6.1), compressed together (`FragmentPacker`);
    /// not with `none`.
    public var fragments: Bool
    /// Whether a segment whose bytes equal an earlier one's names its
    /// pclusters instead of storing them again (`SegmentDedupe`; the
    /// DEDUPE feature, Linux 6.1).
    public var dedupe: Bool

    public init(compression: Compression = Compression(.lz4hc(level: 9)), mtime: UInt64 = 0,
                pclusterSize: Int = EROFSOptions.defaultPclusterSize, fragments: Bool = true,
                dedupe: Bool = true, jobs: Int = 1) {
        self.compression = compression
        self.pclusterSize = pclusterSize
        self.mtime = mtime
        self.fragments = fragments
        self.dedupe = dedupe
        self.jobs = jobs
    }

    /// The physical cluster size used unless one is asked for, chosen by
    /// the image sizes on the benchmark's corpora (docs/erofs.md).
    public static let defaultPclusterSize = 65536

    /// Checks a physical cluster size (`pclusterSize`).
    public static func checkPclusterSize(_ n: Int) throws(EROFSError) {
        guard n >= 4096, n <= Segment.maxPcluster, n % 4096 == 0 else {
            throw EROFSError("must be a multiple of 4096 from 4096 to \(Segment.maxPcluster)", kind: .invalidSetting)
        }
    }
}

/// What a finished write reports.
public struct EROFSStats: Sendable {
    public var imageSize: UInt64
    public var inodeCount: Int
}
