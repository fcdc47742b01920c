/// Settings of one image write. Every field is part of the image's
/// definition except `jobs`, `progress`, `replace`, `unnamedTemporary` and
/// `notice`, which never change a byte.
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
    /// For the caller that publishes the image: replace an existing regular
    /// file at the destination. The writer itself never names a file.
    public var replace: Bool
    /// Write the image to an unnamed temporary file (O_TMPFILE) where the
    /// file system has them. Off, a named temporary beside the destination
    /// is used, as on file systems without them. Never changes a byte.
    public var unnamedTemporary = true
    /// Told about what the write does differently from what was asked,
    /// without failing (fewer threads than `jobs`, say), one line each.
    public var notice: (@Sendable (String) -> Void)?

    public init(compressor: any Compressor, blockSize: Int = 1 << 20, jobs: Int = 1, mtime: UInt32 = 0,
                progress: (any WriteProgress)? = nil, adaptive: Bool = true, replace: Bool = false,
                notice: (@Sendable (String) -> Void)? = nil) {
        self.compressor = compressor
        self.replace = replace
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
