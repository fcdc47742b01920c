import SquashFS

/// The squashfs writer's settings of an image, checked when they are read:
/// the data block size and the compressor made for it (xz's dictionary is
/// a share of the block size, so the compressor depends on it).
public struct SquashSettings: Sendable, Equatable {
    /// A power of two from 4 KiB to 1 MiB.
    public let blockSize: Int
    public let compressor: any Compressor
    /// The compressor as given, in mksquashfs's syntax (`xz -Xdict-size 100%`).
    public let compression: String

    /// Parses `compression` for `blockSize`; refuses what the writer cannot
    /// write, with the bare problem (`.invalidSetting`).
    public init(compression: String, blockSize: Int) throws(SquashFSError) {
        self.compressor = try parseCompressor(compression, blockSize: blockSize)
        self.blockSize = blockSize
        self.compression = compression
    }

    /// nixpkgs' defaults: `xz -Xdict-size 100%`, 1 MiB blocks.
    public static let defaultCompression = "xz -Xdict-size 100%"
    public static let defaultBlockSize = "1M"

    /// The compressor is a function of its text and the block size.
    public static func == (a: SquashSettings, b: SquashSettings) -> Bool {
        a.blockSize == b.blockSize && a.compression == b.compression
    }
}
