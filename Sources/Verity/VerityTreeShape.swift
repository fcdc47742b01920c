/// The shape of the hash tree veritysetup builds over a number of 4 KiB
/// data blocks with 4 KiB hash blocks and SHA-256 (128 hashes a block).
///
/// Rule (cryptsetup lib/verity/verity_hash.c): the tree has as many
/// levels as it takes for one block to hold the level below: none for a
/// single data block, else the smallest `n` with 128^n >= blocks. Level
/// `i` (0 at the bottom) has ceil(blocks / 128^(i+1)) hash blocks. The
/// hash file is the superblock's block, then every level's blocks.
public struct VerityTreeShape: Sendable, Equatable {
    public static let blockSize: UInt64 = 4096
    static let hashesPerBlock: UInt64 = 128

    public let dataBlocks: UInt64
    /// Hash blocks per level, level 0 (the data blocks' hashes) first.
    public let levelBlocks: [UInt64]

    /// `dataBlocks` must be at least 1.
    public init(dataBlocks: UInt64) {
        precondition(dataBlocks > 0)
        self.dataBlocks = dataBlocks
        var levels = 0
        while 7 * levels < 64 && (dataBlocks - 1) >> UInt64(7 * levels) != 0 { levels += 1 }
        // ceil(blocks / 128^(i+1)), without overflow.
        levelBlocks = (0..<levels).map { i in ((dataBlocks - 1) >> UInt64(7 * (i + 1))) + 1 }
    }

    public var levels: Int { levelBlocks.count }
    /// Hash blocks in all levels.
    public var hashBlocks: UInt64 { levelBlocks.reduce(0, +) }
    /// Bytes of the hash file: the superblock's block and the levels.
    public var hashFileSize: UInt64 { Self.blockSize * (1 + hashBlocks) }
    /// Where level 0 starts in the hash file (it comes last).
    public var level0Offset: UInt64 { hashFileSize - Self.blockSize * (levelBlocks.first ?? 0) }
}
