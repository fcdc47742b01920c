import ImageReading

/// The full (non-compact) index, read: from the map header's end + 8
/// reserved bytes, one 8-byte record per lcluster: di_advise u16 (bits
/// 0-1 the type, bit 15 a partial reference to a shared cluster),
/// di_clusterofs u16, then for heads the pcluster's block (u32), for
/// NONHEAD delta[0] u16 (lclusters back to the head, or with bit 11 the
/// previous head's pcluster length in blocks) and delta[1] u16.
///
/// Checked: the records lie inside the image (so their count is bounded
/// by it); a head's offset lies inside its lcluster; a block count only
/// with big pclusters.
enum FullLclusterIndex {
    /// One record's fields (delta[0] shares its bytes with a head's
    /// block address).
    enum Fields {
        static let size = 8
        static let advice = Field<UInt16>(0)
        static let clusterOffset = Field<UInt16>(2)
        static let block = Field<UInt32>(4)
        static let delta0 = Field<UInt16>(4)
    }

    static func read(_ inode: StoredInode, header: StoredMapHeader, superblock sb: StoredSuperblock,
                     range: ImageRange, place: String) throws(EROFSError) -> (records: [LclusterRecord], end: UInt64) {
        let count = (inode.size - 1) >> UInt64(sb.blockBits) + 1
        let start = StoredMapHeader.position(inode) + UInt64(StoredMapHeader.size) + 8
        guard count <= range.length / 8, range.contains(start, count: count * 8) else {
            throw .badImage(place, "\(count) index records at byte \(start) run past the image's end")
        }
        let r = StoredRecord(try range.record(Int(count) * 8, at: start, place: place))
        let big = header.advice.contains(.bigPcluster1) || header.advice.contains(.bigPcluster2)
        var out: [LclusterRecord] = []
        out.reserveCapacity(Int(count))
        for i in 0..<Int(count) {
            let at = i * Fields.size
            var record = LclusterRecord(type: UInt8(r[Fields.advice, at: at] & 3))
            if record.isHead {
                record.clusterOffset = UInt32(r[Fields.clusterOffset, at: at])
                record.block = UInt64(r[Fields.block, at: at])
                guard record.clusterOffset < UInt32(sb.blockSize) else {
                    throw .badImage(place, "lcluster \(i) starts an extent at offset \(record.clusterOffset), past the lcluster")
                }
            } else {
                let delta0 = UInt32(r[Fields.delta0, at: at])
                if delta0 & LclusterRecord.compressedBlockCount != 0 {
                    guard big else { throw .badImage(place, "lcluster \(i) counts pcluster blocks without big pclusters") }
                    record.compressedBlocks = delta0 & ~LclusterRecord.compressedBlockCount
                }
            }
            out.append(record)
        }
        return (out, start + count * 8)
    }
}
