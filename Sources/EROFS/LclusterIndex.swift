/// What the index of a compressed file says about each of its 4 KiB
/// logical clusters (lclusters), `ceil(size / 4096)` of them, before it is
/// encoded (`CompactIndex`).
///
/// The file is cut into extents, each decoded from one physical cluster
/// (pcluster) of whole blocks. The lcluster an extent starts in is its
/// head; no lcluster may hold two starts.
/// - head: type 1 (HEAD1: compressed with the algorithm in the map
///   header's low nibble) or 0 (PLAIN: stored as is, from the start of
///   its one block, at most 4096 bytes); clusterofs = the start's offset
///   in the lcluster (the bytes before it end the previous extent); the
///   pcluster's first block.
/// - any other lcluster, type 2 (NONHEAD): delta[0] = lclusters back to
///   its extent's head, delta[1] = lclusters on to the next head (for the
///   last extent, to one past the last lcluster).
/// - the lcluster holding the end of a file whose size is not a multiple
///   of 4096 is a head: when the last extent starts before it, a PLAIN
///   head whose clusterofs is the end (an extent of no bytes, which ends
///   the last one there, as mkfs.erofs writes; Linux 6.18 refuses a last
///   PLAIN extent that ends in a NONHEAD).
/// - with big pclusters (`MapHeader`'s BIG_PCLUSTER advice), the first
///   NONHEAD after any head (a PLAIN one too: a short PLAIN extent at a
///   segment's end may cross into the next lcluster, and newer readers
///   look for its count under BIG_PCLUSTER_2) holds, instead of
///   delta[0] = 1, CBLKCNT (bit 11) | the pcluster's block count; a head
///   followed by a head has one block. An extent of more than one block
///   decodes to more bytes than its blocks hold, so it always has a
///   NONHEAD after its head.
struct LclusterIndex {
    enum Entry: Equatable {
        case head(compressed: Bool, clusterofs: UInt16, block: UInt32)
        case nonhead(delta0: UInt16, delta1: UInt16, blockCount: UInt16?)
    }

    /// Where one extent starts and what holds it.
    struct Extent {
        var start: UInt64
        var block: UInt32
        /// Blocks of its pcluster (1 for PLAIN extents).
        var blocks: UInt32
        var compressed: Bool
    }

    /// CBLKCNT, the flag of a block count in delta[0].
    static let blockCountFlag: UInt16 = 1 << 11

    /// The entries of a file of `size` bytes cut into `extents` (sorted,
    /// the first at 0, no two starting in one lcluster); `big`: with
    /// big-pcluster block counts.
    static func entries(extents given: [Extent], size: UInt64, big: Bool) -> [Entry] {
        let count = Int(Geometry.blocks(size))
        var extents = given
        let lcn = { (e: Extent) in Int(e.start >> UInt64(Geometry.blockBits)) }
        if size % UInt64(Geometry.blockSize) != 0, let last = extents.last, lcn(last) < count - 1 {
            extents.append(Extent(start: size, block: last.block + last.blocks, blocks: 1, compressed: false))
        }
        var out: [Entry] = []
        out.reserveCapacity(count)
        var next = 0  // the extent whose head is the next one at or after lcn
        var head = 0
        for l in 0..<count {
            if next < extents.count && lcn(extents[next]) == l {
                let e = extents[next]
                out.append(.head(compressed: e.compressed, clusterofs: UInt16(e.start & UInt64(Geometry.blockSize - 1)), block: e.block))
                head = l
                next += 1
                continue
            }
            let nextHead = next < extents.count ? lcn(extents[next]) : count
            let e = extents[next - 1]
            let counted = big && l == head + 1
            out.append(.nonhead(delta0: UInt16(l - head), delta1: UInt16(nextHead - l),
                                blockCount: counted ? UInt16(e.blocks) : nil))
        }
        return out
    }
}
