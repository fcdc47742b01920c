/// Settings of one image write. Every field is part of the image's
/// definition except `jobs` and `progress`, which never change a byte.
public struct ImageOptions: Sendable {
    public var compressor: any Compressor
    /// Data block size: a power of two from 4 KiB to 1 MiB.
    public var blockSize: Int
    /// Compression threads. Changes speed only, never the image.
    public var jobs: Int
    /// Every inode's mtime and the superblock's modification time.
    public var mtime: UInt32
    /// Draw a progress bar on stderr (callers set it only for terminals).
    public var progress: Bool
    /// Let the compressor tune each block to its content (see
    /// `BlockContent`; xz only, and only without `-Xbcj`). Off, every data
    /// block is compressed exactly as mksquashfs compresses it.
    public var adaptive: Bool

    public init(compressor: any Compressor, blockSize: Int = 1 << 20, jobs: Int = 1, mtime: UInt32 = 0,
                progress: Bool = false, adaptive: Bool = true) {
        self.compressor = compressor
        self.adaptive = adaptive
        self.blockSize = blockSize
        self.jobs = jobs
        self.mtime = mtime
        self.progress = progress
    }
}

/// What a finished write reports.
public struct ImageStats: Sendable {
    public var bytesUsed: UInt64
    public var imageSize: UInt64
    public var inodeCount: Int
    public var fileBytes: UInt64
    public var duplicateFiles: Int
    public var fragmentCount: Int
}
