/// Settings of one erofs image write; every field but `jobs` is part of
/// the image's definition.
public struct EROFSOptions: Sendable {
    public var compression: Compression
    /// The build time: every inode's mtime (compact inodes take it from
    /// the superblock).
    public var mtime: UInt64
    /// Compression threads. Not part of the image's definition: any
    /// count gives the same bytes (`Segment`).
    public var jobs: Int

    public init(compression: Compression = Compression(.lz4hc(level: 9)), mtime: UInt64 = 0, jobs: Int = 1) {
        self.compression = compression
        self.mtime = mtime
        self.jobs = jobs
    }
}

/// What a finished write reports.
public struct EROFSStats: Sendable {
    public var imageSize: UInt64
    public var inodeCount: Int
}
