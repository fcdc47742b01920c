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
/// block: ztailpacking), FRAGMENT_PCLUSTER (0x20: the last extent lies in
/// the packed inode, `FragmentPacker`; the first 4 bytes are then
/// h_fragmentoff, a u32 offset into the packed inode, instead of
/// h_reserved1 and h_idata_size; never with INLINE_PCLUSTER). The reader
/// takes as the last extent the one holding the file's last byte, and
/// reads all of the file from the packed inode when that extent's head is
/// lcluster 0 (so a tail starts at byte 4096 or later; a file that would
/// have one earlier is stored whole, `FragmentReference`).
struct MapHeader {
    static let size = 8

    /// h_advise's bits (the reader's `StoredMapHeader` knows them all).
    struct Advice: OptionSet {
        let rawValue: UInt16
        static let compacted2B = Advice(rawValue: 0x01)
        static let bigPcluster1 = Advice(rawValue: 0x02)
        static let bigPcluster2 = Advice(rawValue: 0x04)
        /// Both: with compact indexes the kernel refuses one alone.
        static let bigPcluster: Advice = [.bigPcluster1, .bigPcluster2]
        static let inlinePcluster = Advice(rawValue: 0x08)
        static let interlaced = Advice(rawValue: 0x10)
        static let fragment = Advice(rawValue: 0x20)
    }

    /// The header's fields (the reader's `StoredMapHeader` reads the same
    /// table). `word` is the whole header: with its top bit set, the rest
    /// is the offset of a file stored whole in the packed inode;
    /// `fragmentOffset` overlaps h_reserved1 and h_idata_size.
    enum Fields {
        static let word = Field<UInt64>(0)
        static let fragmentOffset = Field<UInt32>(0)
        static let inlineSize = Field<UInt16>(2)
        static let advice = Field<UInt16>(4)
        static let algorithms = Field<UInt8>(6)
        static let clusterBits = Field<UInt8>(7)
    }

    var algorithm: UInt8
    var advice: Advice
    var inlineSize: UInt16
    /// Where the tail lies in the packed inode (with `.fragment`).
    var fragmentOffset: UInt32 = 0

    func encode() -> [UInt8] {
        var b = FieldRecord(size: MapHeader.size)
        if advice.contains(.fragment) {
            precondition(inlineSize == 0)
            b[Fields.fragmentOffset] = fragmentOffset
        } else {
            b[Fields.inlineSize] = inlineSize
        }
        b[Fields.advice] = advice.rawValue
        b[Fields.algorithms] = algorithm | algorithm << 4
        return b.bytes
    }
}
