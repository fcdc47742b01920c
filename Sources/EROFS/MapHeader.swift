/// The 8-byte header of a compressed inode's index, at the first 8-byte
/// boundary after the inode: h_reserved1 u16, h_idata_size u16 (the
/// length of the inline tail pcluster, 0 without one), h_advise u16,
/// h_algorithmtype u8 (low nibble: the HEAD1 algorithm, high: HEAD2's),
/// h_clusterbits u8 (lcluster size as log2 - 12: 0 for 4 KiB).
///
/// h_advise bits this writer sets: COMPACTED_2B (0x1, the 2-byte packs of
/// `CompactIndex`), BIG_PCLUSTER_1 and _2 (0x2, 0x4: pclusters of more
/// than one block; with compact indexes both or neither, the kernel
/// refuses one alone), INLINE_PCLUSTER (0x8: the last extent's pcluster
/// is stored after the index, `h_idata_size` bytes, within the inode's
/// block: ztailpacking).
struct MapHeader {
    static let size = 8

    struct Advice: OptionSet {
        let rawValue: UInt16
        static let compacted2B = Advice(rawValue: 0x1)
        static let bigPcluster = Advice(rawValue: 0x2 | 0x4)
        static let inlinePcluster = Advice(rawValue: 0x8)
    }

    var algorithm: UInt8
    var advice: Advice
    var inlineSize: UInt16

    func encode() -> [UInt8] {
        var b = LittleEndian(capacity: MapHeader.size)
        b.u16(0)
        b.u16(inlineSize)
        b.u16(advice.rawValue)
        b.u8(algorithm | algorithm << 4)
        b.u8(0)
        return b.bytes
    }
}
