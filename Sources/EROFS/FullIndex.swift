/// The full index of a compressed file (data layout 1, "legacy"): after
/// the `MapHeader` (at the inode's 8-byte boundary) 8 reserved zero
/// bytes, then one 8-byte record per lcluster, in order: di_advise u16
/// (bits 0-1 the type: 0 PLAIN, 1 HEAD1, 2 NONHEAD), di_clusterofs u16,
/// and di_u: a head's pcluster block (u32), or a NONHEAD's delta[0] and
/// delta[1] (u16 each; delta[0] = CBLKCNT | blocks in the first NONHEAD
/// after a head, under BIG_PCLUSTER). The map header has no COMPACTED_2B
/// advice. An inline tail pcluster (ztailpacking) starts right after the
/// last record.
///
/// Written when a file's pclusters do not lie in consecutive blocks
/// (some are another file's, `SegmentDedupe`): unlike `CompactIndex`,
/// every head names its own block. With FRAGMENT advice the head of the
/// extent in the packed inode holds the high 32 bits of the fragment
/// offset (0 here: offsets are u32), not a block.
enum FullIndex {
    static let recordSize = 8
    static let reserved = 8

    static func encode(_ entries: [LclusterIndex.Entry]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: reserved + entries.count * recordSize)
        func put16(_ v: UInt16, _ at: Int) { out[at] = UInt8(v & 0xFF); out[at + 1] = UInt8(v >> 8) }
        for (i, entry) in entries.enumerated() {
            let at = reserved + i * recordSize
            switch entry {
            case .head(let compressed, let clusterofs, let block):
                put16(compressed ? 1 : 0, at)
                put16(clusterofs, at + 2)
                for k in 0..<4 { out[at + 4 + k] = UInt8(truncatingIfNeeded: block >> UInt32(8 * k)) }
            case .nonhead(let delta0, let delta1, let blockCount):
                put16(2, at)
                put16(blockCount.map { LclusterIndex.blockCountFlag | $0 } ?? delta0, at + 4)
                put16(delta1, at + 6)
            }
        }
        return out
    }

    /// The index's length for `total` lclusters.
    static func byteCount(_ total: Int) -> Int { reserved + total * recordSize }
}
