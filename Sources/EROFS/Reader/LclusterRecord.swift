/// One logical cluster (lcluster, a block of the file's content) as a
/// compressed file's index describes it, decoded from either index form.
/// Types: 0 PLAIN (an extent stored raw starts here), 1 HEAD1 and 3
/// HEAD2 (an extent compressed with the header's first or second
/// algorithm starts here), 2 NONHEAD (no extent starts here).
struct LclusterRecord {
    static let plain: UInt8 = 0, head1: UInt8 = 1, nonhead: UInt8 = 2, head2: UInt8 = 3
    /// The flag in a NONHEAD's delta[0] that makes it the count of the
    /// previous head's pcluster blocks (only in the lcluster after a
    /// head).
    static let compressedBlockCount: UInt32 = 0x800

    var type: UInt8
    /// Heads: where in the lcluster the extent starts.
    var clusterOffset: UInt32 = 0
    /// Heads: the pcluster's first block.
    var block: UInt64 = 0
    /// NONHEAD right after a head with big pclusters: the head's pcluster
    /// length in blocks; 0 otherwise.
    var compressedBlocks: UInt32 = 0

    var isHead: Bool { type != Self.nonhead }
}
