/// Settings of one erofs image write; every field is part of the image's
/// definition.
public struct EROFSOptions: Sendable {
    public var compression: Compression
    /// The build time: every inode's mtime (compact inodes take it from
    /// the superblock).
    public var mtime: UInt64

    public init(compression: Compression = Compression(.lz4hc(level: 9)), mtime: UInt64 = 0) {
        self.compression = compression
        self.mtime = mtime
    }
}

/// What a finished write reports.
public struct EROFSStats: Sendable {
    public var imageSize: UInt64
    public var inodeCount: Int
}
