/// How an inode's data is found (bits 1-3 of i_format).
///
/// - flatPlain (0): `ceil(size / 4096)` consecutive blocks from raw_blkaddr.
/// - compressedFull (1): whole-file fragments (`FragmentReference`),
///   which have no index, and files whose pclusters are not in
///   consecutive blocks (`FullIndex`, `SegmentDedupe`).
/// - compressedCompact (3): a `MapHeader` and a `CompactIndex` after the
///   inode (`LclusterIndex` says what the index holds).
/// - flatInline (2): `size / 4096` full blocks from raw_blkaddr, and the
///   remaining `size % 4096` bytes right after the inode, in the same
///   block (they may not cross a block boundary).
enum DataLayout: UInt16 {
    case flatPlain = 0
    case compressedFull = 1
    case flatInline = 2
    case compressedCompact = 3
}
