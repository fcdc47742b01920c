/// Settings of one image write. Every field is part of the image's
/// definition except `jobs`, `progress` and `notice`, which never change a
/// byte. Where the image goes and how it is published is no part of it: the
/// writer is given an open descriptor and never names a file.
public struct ImageOptions: Sendable {
    public var compressor: any Compressor
    /// Data block size: a power of two from 4 KiB to 1 MiB.
    public var blockSize: Int
    /// Compression threads. Changes speed only, never the image.
    public var jobs: Int
    /// Every inode's mtime and the superblock's modification time.
    public var mtime: UInt32
    /// Told how far the data area has got (a progress display), if given.
    public var progress: (any WriteProgress)?
    /// Let the compressor tune each block to its content (see
    /// `BlockContent`; xz only, and only without `-Xbcj`). Off, every data
    /// block is compressed exactly as mksquashfs compresses it.
    public var adaptive: Bool
    /// Told about what the write does differently from what was asked,
    /// without failing (fewer threads than `jobs`, say), one line each.
    public var notice: (@Sendable (String) -> Void)?

    public init(compressor: any Compressor, blockSize: Int = 1 << 20, jobs: Int = 1, mtime: UInt32 = 0,
                progress: (any WriteProgress)? = nil, adaptive: Bool = true,
                notice: (@Sendable (String) -> Void)? = nil) {
        self.compressor = compressor
        self.notice = notice
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

    public init(bytesUsed: UInt64, imageSize: UInt64, inodeCount: Int) {
        self.bytesUsed = bytesUsed
        self.imageSize = imageSize
        self.inodeCount = inodeCount
    }
}
