import ImageReading

/// The compact index, read: from the map header's end (`ebase`), the
/// lclusters in packs, each ending in a u32 block address and holding
/// `vcnt` entries of `encodebits` bits (`lo` in the low max(12, log2 of
/// the lcluster size) bits, the type in the 2 above): packs of 2 entries in 8 bytes (4B), of 16 in 32 bytes
/// (2B, with h_advise bit 0). First ((32 - ebase mod 32) / 4) mod 8
/// lclusters in 4B packs (so the 2B packs start 32-byte aligned), then,
/// with 2B, whole 2B packs for as many lclusters as multiples of 16
/// remain, then the rest in 4B packs.
///
/// A head's `lo` is its cluster offset; a NONHEAD's is delta[0] (the last
/// entry of a pack stores delta[1] instead), or with bit 11 the previous
/// head's pcluster length in blocks. A head's block is the pack's address
/// plus the blocks of the pclusters started before it in the pack
/// (without big pclusters the address counts one before the first).
///
/// Checked: the packs lie inside the image; head offsets inside their
/// lcluster; block counts only with big pclusters, and a big-pcluster
/// pack's deltas at least 2 (the kernel's rules).
enum CompactLclusterIndex {
    struct Pack {
        var entries: [(type: UInt8, lo: UInt32)]
        var base: UInt32
    }

    static func read(_ inode: StoredInode, header: StoredMapHeader, superblock sb: StoredSuperblock,
                     range: ImageRange, place: String) throws(EROFSError) -> (records: [LclusterRecord], end: UInt64) {
        let count = Int(min((inode.size - 1) >> UInt64(sb.blockBits) + 1, range.length))
        let ebase = StoredMapHeader.position(inode) + UInt64(StoredMapHeader.size)
        let initial = Int((32 - ebase % 32) / 4) & 7
        let twoByte = header.advice.contains(.compacted2B) && initial < count ? (count - initial) / 16 * 16 : 0
        if twoByte > 0, sb.blockBits > 12 {
            throw .badImage(place, "2-byte compact indexes with lclusters over 4 KiB")
        }
        guard sb.blockBits <= 14 else { throw .badImage(place, "compact indexes with lclusters over 16 KiB") }
        // (entries, entries per pack, bytes per entry) of the three runs.
        let first = min(initial, count)
        let runs = [(first, 2, 4), (twoByte, 16, 2), (count - first - twoByte, 2, 4)]
        let bytes = runs.reduce(0) { $0 + ($1.0 + $1.1 - 1) / $1.1 * $1.1 * $1.2 }
        guard UInt64(count) == (inode.size - 1) >> UInt64(sb.blockBits) + 1, range.contains(ebase, count: UInt64(bytes)) else {
            throw .badImage(place, "the compact index of \(count) lclusters at byte \(ebase) runs past the image's end")
        }
        let all = try range.record(bytes, at: ebase, place: place)
        let big = header.advice.contains(.bigPcluster1)
        var out: [LclusterRecord] = []
        out.reserveCapacity(count)
        var at = 0
        var end = ebase
        for (entries, vcnt, width) in runs where entries > 0 {
            let packBytes = vcnt * width
            for start in stride(from: 0, to: entries, by: vcnt) {
                let pack = decode(Array(all[at..<at + packBytes]), vcnt: vcnt, loBits: max(12, sb.blockBits))
                for i in 0..<min(vcnt, entries - start) {
                    out.append(try record(pack, i, big: big, sb: sb, place: "\(place), lcluster \(out.count)"))
                }
                at += packBytes
                end = ebase + UInt64(at)
            }
        }
        return (out, end)
    }

    /// A pack's entries and address.
    static func decode(_ bytes: [UInt8], vcnt: Int, loBits: Int) -> Pack {
        let encodeBits = (bytes.count - 4) * 8 / vcnt
        let r = StoredRecord(bytes)
        var entries: [(type: UInt8, lo: UInt32)] = []
        for i in 0..<vcnt {
            let bit = encodeBits * i
            let word = r.u32(min(bit / 8, bytes.count - 4)) >> UInt32(bit % 8)
            entries.append((UInt8((word >> UInt32(loBits)) & 3), word & (1 << UInt32(loBits) - 1)))
        }
        return Pack(entries: entries, base: r.u32(bytes.count - 4))
    }

    private static func record(_ pack: Pack, _ i: Int, big: Bool, sb: StoredSuperblock,
                               place: @autoclosure () -> String) throws(EROFSError) -> LclusterRecord {
        let (type, lo) = pack.entries[i]
        var record = LclusterRecord(type: type)
        if !record.isHead {
            if lo & LclusterRecord.compressedBlockCount != 0 {
                guard big else { throw .badImage(place(), "counts pcluster blocks without big pclusters") }
                record.compressedBlocks = lo & ~LclusterRecord.compressedBlockCount
            }
            return record
        }
        guard lo < UInt32(sb.blockSize) else { throw .badImage(place(), "starts an extent at offset \(lo), past the lcluster") }
        record.clusterOffset = lo
        record.block = UInt64(pack.base) + UInt64(try blocksBefore(pack, i, big: big, place: place()))
        return record
    }

    /// The kernel's walk back from entry `i` to the pack's start, counting
    /// the blocks of the pclusters that start before it.
    private static func blocksBefore(_ pack: Pack, _ start: Int, big: Bool, place: @autoclosure () -> String) throws(EROFSError) -> Int {
        var i = start
        var blocks = big ? 0 : 1
        while i > 0 {
            i -= 1
            let (type, lo) = pack.entries[i]
            if type == LclusterRecord.nonhead {
                if !big {
                    i -= Int(lo)
                } else if lo & LclusterRecord.compressedBlockCount != 0 {
                    i -= 1
                    blocks += Int(lo & ~LclusterRecord.compressedBlockCount)
                    continue
                } else {
                    guard lo > 1 else { throw .badImage(place(), "a big-pcluster delta of \(lo) in its pack") }
                    i -= Int(lo) - 2
                    continue
                }
            }
            if i >= 0 { blocks += 1 }
        }
        return blocks
    }
}
