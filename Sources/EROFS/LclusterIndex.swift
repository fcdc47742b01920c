/// The full (non-compact) index of a compressed file: one 8-byte record
/// per 4 KiB logical cluster (lcluster) of the file, `ceil(size / 4096)`
/// of them, from `align8(end of inode) + 16` (the 8-byte `MapHeader`, then
/// 8 reserved bytes).
///
/// The file is cut into extents, each decoded from one physical cluster
/// (pcluster) of one block. The lcluster an extent starts in is its head;
/// no lcluster may hold two starts.
/// - head, di_advise = type 1 (HEAD1: compressed with the algorithm in
///   the header's low nibble) or 0 (PLAIN: stored as is, from the start of
///   its block, at most 4096 bytes); di_clusterofs = the start's offset in
///   the lcluster (the bytes before it end the previous extent);
///   blkaddr u32 = the pcluster's block.
/// - any other lcluster, type 2 (NONHEAD): delta[0] u16 = lclusters back
///   to its extent's head, delta[1] u16 = lclusters on to the next head
///   (for the last extent, to one past the last lcluster); clusterofs 0.
struct LclusterIndex {
    enum Kind: UInt16 {
        case plain = 0, head1 = 1, nonhead = 2
    }

    /// Where one extent starts and what holds it.
    struct Extent {
        var start: UInt64
        var block: UInt32
        var compressed: Bool
    }

    static let recordSize = 8

    /// The records for a file of `size` bytes cut into `extents` (sorted,
    /// the first at 0, no two starting in one lcluster).
    static func encode(extents: [Extent], size: UInt64) -> [UInt8] {
        let count = Int(Geometry.blocks(size))
        var b = LittleEndian(capacity: count * recordSize)
        var next = 0  // the extent whose head is the next one at or after lcn
        var head = 0
        for lcn in 0..<count {
            while next < extents.count && Int(extents[next].start >> UInt64(Geometry.blockBits)) < lcn { next += 1 }
            if next < extents.count && Int(extents[next].start >> UInt64(Geometry.blockBits)) == lcn {
                let e = extents[next]
                b.u16((e.compressed ? Kind.head1 : Kind.plain).rawValue)
                b.u16(UInt16(e.start & UInt64(Geometry.blockSize - 1)))
                b.u32(e.block)
                head = lcn
                next += 1
                continue
            }
            let nextHead = next < extents.count ? Int(extents[next].start >> UInt64(Geometry.blockBits)) : count
            b.u16(Kind.nonhead.rawValue)
            b.u16(0)
            b.u16(UInt16(lcn - head))
            b.u16(UInt16(nextHead - lcn))
        }
        return b.bytes
    }
}
