/// The compact index of a compressed file (data layout 3), right after
/// its `MapHeader`, which lies at the 8-byte boundary after the inode;
/// since inodes start on 32-byte slots, the index starts 8 bytes past one.
///
/// Entries come in packs: a pack holds `n` entries of `bits` bits each,
/// packed little-endian from its first byte, then a u32 base block
/// address in its last 4 bytes; packs lie on multiples of their size.
/// - 4-byte entries: packs of 8 bytes, n = 2, bits = 16; 2-byte entries
///   (with COMPACTED_2B advice, 4 KiB lclusters only): packs of 32 bytes,
///   n = 16, bits = 14.
/// - The first (32 - start % 32) / 4 entries (6 here) are 4-byte, to
///   reach a 32-byte boundary; then, with COMPACTED_2B and more entries
///   than that, 16 × floor(rest / 16) 2-byte entries; the rest 4-byte. A
///   pack left half full is completed by a zero entry.
/// - An entry is lo (12 bits) | type << 12. lo is a head's clusterofs, or
///   for a NONHEAD its delta[0], or CBLKCNT | block count; except in a
///   pack's last entry, whose lo for a NONHEAD without CBLKCNT is its
///   delta[1] (at most 4095; the reader finds delta[0] from the entry
///   before it).
/// - A head's block is not stored: it is the pack's base plus what the
///   entries before it in the pack add. Without big pclusters each head
///   adds 1 and the base is one less than the first head's block; with
///   them a CBLKCNT entry adds its count and a head not followed by one
///   adds 1, and the base is the first head's block less the counts of
///   the CBLKCNT entries before it. So a file's pclusters lie in
///   consecutive blocks, in the order of their extents.
/// - The data of an inline tail pcluster (ztailpacking) starts right
///   after the pack holding the last lcluster's entry: the index's end.
enum CompactIndex {
    /// 4-byte entries before the first 2-byte pack.
    static let initialEntries = 6

    /// The index's bytes for `entries` (`big`: big-pcluster rules).
    static func encode(_ entries: [LclusterIndex.Entry], big: Bool) -> [UInt8] {
        let total = entries.count
        let initial = min(initialEntries, total)
        let twoByte = total > initialEntries ? (total - initialEntries) / 16 * 16 : 0
        var out: [UInt8] = []
        out.reserveCapacity(byteCount(total))
        var at = 0
        for (count, n, bits) in [(initial, 2, 16), (twoByte, 16, 14), (total - initial - twoByte, 2, 16)] {
            var done = 0
            while done < count {
                let pack = Array(entries[(at + done)..<(at + min(done + n, count))])
                out += encodePack(pack, slots: n, bits: bits, big: big)
                done += n
            }
            at += count
        }
        return out
    }

    /// The index's length for `total` lclusters.
    static func byteCount(_ total: Int) -> Int {
        let initial = min(initialEntries, total)
        let twoByte = total > initialEntries ? (total - initialEntries) / 16 * 16 : 0
        let rest = total - initial - twoByte
        return (initial + 1) / 2 * 8 + twoByte * 2 + (rest + 1) / 2 * 8
    }

    private static func encodePack(_ pack: [LclusterIndex.Entry], slots: Int, bits: Int, big: Bool) -> [UInt8] {
        let size = slots * bits / 8 + 4
        var bytes = [UInt8](repeating: 0, count: size)
        var base: UInt32? = nil
        var added: UInt32 = 0
        for (j, entry) in pack.enumerated() {
            let lo: UInt16, type: UInt16
            switch entry {
            case .head(let compressed, let clusterofs, let block):
                lo = clusterofs
                type = compressed ? 1 : 0
                if base == nil { base = block &- (big ? added : 1) }
            case .nonhead(let delta0, let delta1, let blockCount):
                type = 2
                if let blockCount {
                    lo = LclusterIndex.blockCountFlag | blockCount
                    added += UInt32(blockCount)
                } else {
                    lo = j == slots - 1 ? min(delta1, 4095) : delta0
                }
            }
            let value = UInt32(lo | type << 12) << UInt32((j * bits) % 8)
            for k in 0..<3 where (j * bits) / 8 + k < size - 4 {
                bytes[(j * bits) / 8 + k] |= UInt8(truncatingIfNeeded: value >> UInt32(8 * k))
            }
        }
        let b = base ?? 0
        for k in 0..<4 { bytes[size - 4 + k] = UInt8(truncatingIfNeeded: b >> UInt32(8 * k)) }
        return bytes
    }
}
