import ImageReading

/// A compressed inode's map header, read: 8 bytes at the first 8-byte
/// boundary after the inode and its xattrs. If bit 63 of it (the top bit
/// of h_clusterbits) is set, the whole file lies in the packed inode and
/// the other 63 bits are its offset there. Otherwise: a u32 that is
/// h_fragmentoff (with the FRAGMENT advise bit: where the file's tail
/// lies in the packed inode) or h_reserved1 u16 and h_idata_size u16
/// (with INLINE: the size of the tail's cluster stored inline), h_advise
/// u16, h_algorithmtype u8 (low nibble: HEAD1's algorithm, high: HEAD2's),
/// h_clusterbits u8 (low nibble: log2 of the lcluster size minus the
/// block size's).
///
/// h_advise bits: 0 compact 2-byte indexes (compact layout) or extent
/// records (full layout), 1 big pclusters for HEAD1, 2 for HEAD2 and
/// PLAIN, 3 inline tail cluster, 4 interlaced PLAIN clusters, 5 a tail in
/// the packed inode.
///
/// Checked: lclusters of the block size (what every writer makes); with
/// compact indexes, HEAD1 and HEAD2 agree on big pclusters (the kernel's
/// rule); extent records (48-bit images) are refused as not read.
struct StoredMapHeader {
    typealias Advice = MapHeader.Advice

    var advice: Advice
    var head1Algorithm: Int
    var head2Algorithm: Int
    /// Where the file (`wholeFileFragment`) or its tail lies in the packed
    /// inode (the full layout adds the tail head's block address as the
    /// upper 32 bits).
    var fragmentOffset: UInt64
    var wholeFileFragment: Bool
    var inlineSize: Int

    static let size = MapHeader.size

    /// The header's byte in the image.
    static func position(_ inode: StoredInode) -> UInt64 { (inode.afterXattrs + 7) / 8 * 8 }

    static func read(_ inode: StoredInode, superblock sb: StoredSuperblock, range: ImageRange,
                     place: String) throws(EROFSError) -> StoredMapHeader {
        typealias F = MapHeader.Fields
        let r = StoredRecord(try range.record(size, at: position(inode), place: place))
        let word = r[F.word]
        if word >> 63 != 0 {
            return StoredMapHeader(advice: .fragment, head1Algorithm: 0, head2Algorithm: 0,
                                   fragmentOffset: word & ~(1 << 63), wholeFileFragment: true, inlineSize: 0)
        }
        let advice = Advice(rawValue: r[F.advice])
        let algorithms = r[F.algorithms], clusterBits = r[F.clusterBits] & 0x0F
        guard clusterBits == 0 else {
            throw .unsupported(place, "lclusters of 2^\(Int(clusterBits) + sb.blockBits) bytes; only the block size is read")
        }
        if inode.layout == .compressedFull, advice.contains(.compacted2B) {
            throw .unsupported(place, "extent records (h_advise bit 0 with full indexes, a 48-bit layout) are not read")
        }
        if inode.layout == .compressedCompact, advice.contains(.bigPcluster1) != advice.contains(.bigPcluster2) {
            throw .badImage(place, "compact indexes with big pclusters for one head type only (h_advise 0x\(String(advice.rawValue, radix: 16)))")
        }
        let fragment = advice.contains(.fragment)
        return StoredMapHeader(advice: advice, head1Algorithm: Int(algorithms & 0x0F), head2Algorithm: Int(algorithms >> 4),
                               fragmentOffset: fragment ? UInt64(r[F.fragmentOffset]) : 0, wholeFileFragment: false,
                               inlineSize: !fragment && advice.contains(.inlinePcluster) ? Int(r[F.inlineSize]) : 0)
    }
}
