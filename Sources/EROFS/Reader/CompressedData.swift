import ImageReading

/// The data of a compressed inode, read (zmap.c's rules): every HEAD or
/// PLAIN lcluster starts an extent at its lcluster's offset plus its
/// cluster offset; the extent runs to the next one's start or the file's
/// end, and decodes from one pcluster: the head's block, one block long,
/// or with big pclusters as many blocks as the next lcluster's count
/// says. The last extent may instead be stored inline after the index
/// (INLINE: h_idata_size bytes, in the same block) or lie in the packed
/// inode (FRAGMENT, at h_fragmentoff; the whole file when that extent
/// starts in lcluster 0, or when the header says so).
///
/// Checked: the first extent starts at byte 0; no extent decodes to more
/// than 12 MiB (Z_EROFS_PCLUSTER_MAX_DSIZE) nor uses more than 1 MiB of
/// stored bytes; every pcluster lies inside the image, the inline one
/// inside its block; a raw extent is no longer than its pcluster; each
/// head's algorithm is one the superblock declares.
enum CompressedData {
    static let maxExtent: UInt64 = 12 << 20
    static let maxPcluster: UInt64 = 1 << 20

    /// Maps `length` bytes at `offset` of the packed inode onto chunks of
    /// the file from `offsetInFile`.
    typealias Fragments = (_ offset: UInt64, _ length: UInt64, _ offsetInFile: UInt64) throws(EROFSError) -> [StoredChunk]

    struct Context {
        var inode: StoredInode
        var sb: StoredSuperblock
        var configs: StoredCompressionConfigs
        var range: ImageRange
        var place: String
    }

    static func chunks(_ c: Context, fragments: Fragments) throws(EROFSError) -> [StoredChunk] {
        let inode = c.inode
        guard inode.size > 0 else { return [] }
        let header = try StoredMapHeader.read(inode, superblock: c.sb, range: c.range, place: c.place)
        if header.wholeFileFragment { return try fragments(header.fragmentOffset, inode.size, 0) }
        let (records, end) = inode.layout == .compressedFull
            ? try FullLclusterIndex.read(inode, header: header, superblock: c.sb, range: c.range, place: c.place)
            : try CompactLclusterIndex.read(inode, header: header, superblock: c.sb, range: c.range, place: c.place)
        let extents = try self.extents(records, c)
        var out: [StoredChunk] = []
        for (k, e) in extents.enumerated() {
            let record = records[e.lcn]
            if k == extents.count - 1, header.advice.contains(.fragment) {
                var offset = header.fragmentOffset
                if inode.layout == .compressedFull { offset |= record.block << 32 }
                if e.lcn == 0 { return try fragments(offset, inode.size, 0) }
                return out + (try fragments(offset, inode.size - e.start, e.start))
            }
            let coding = try self.coding(record.type, start: e.start, header: header, c)
            var at = record.block << UInt64(c.sb.blockBits)
            var stored = try pclusterBlocks(records, e.lcn, header: header, c) << UInt64(c.sb.blockBits)
            if k == extents.count - 1, header.inlineSize > 0 {
                (at, stored) = (end, UInt64(header.inlineSize))
                guard at % UInt64(c.sb.blockSize) + stored <= UInt64(c.sb.blockSize) else {
                    throw .badImage(c.place, "an inline tail cluster of \(stored) bytes at byte \(at) crosses its block's end")
                }
            }
            guard stored <= maxPcluster, c.range.contains(at, count: stored) else {
                throw .badImage("\(c.place), extent \(k)", "a pcluster of \(stored) bytes at byte \(at) is over 1 MiB or runs past the image's end")
            }
            if coding == .raw, e.length > stored {
                throw .badImage("\(c.place), extent \(k)", "\(e.length) raw bytes in a pcluster of \(stored)")
            }
            out.append(StoredChunk(source: .block(k), offsetInFile: e.start, length: Int(e.length), storedAt: at,
                                   storedSize: Int(stored), compressed: record.type != LclusterRecord.plain, within: 0,
                                   decoding: coding.code))
        }
        return out
    }

    /// Where each extent starts (its head lcluster and byte) and its length.
    static func extents(_ records: [LclusterRecord], _ c: Context) throws(EROFSError) -> [(lcn: Int, start: UInt64, length: UInt64)] {
        var starts: [(lcn: Int, start: UInt64)] = []
        for (i, r) in records.enumerated() where r.isHead {
            let start = UInt64(i) << UInt64(c.sb.blockBits) + UInt64(r.clusterOffset)
            if start >= c.inode.size { break }
            starts.append((i, start))
        }
        guard let first = starts.first, first.start == 0 else {
            throw .badImage(c.place, "no extent starts at byte 0 (lcluster 0 is no head at offset 0)")
        }
        var out: [(lcn: Int, start: UInt64, length: UInt64)] = []
        out.reserveCapacity(starts.count)
        for (k, s) in starts.enumerated() {
            let next = k + 1 < starts.count ? starts[k + 1].start : c.inode.size
            guard next - s.start <= maxExtent else {
                throw .badImage("\(c.place), extent \(k)", "decodes to \(next - s.start) bytes; at most 12 MiB")
            }
            out.append((s.lcn, s.start, next - s.start))
        }
        return out
    }

    /// The pcluster's length in blocks (zmap.c's compressed length).
    static func pclusterBlocks(_ records: [LclusterRecord], _ lcn: Int, header: StoredMapHeader,
                               _ c: Context) throws(EROFSError) -> UInt64 {
        let big = records[lcn].type == LclusterRecord.head1
            ? header.advice.contains(.bigPcluster1) : header.advice.contains(.bigPcluster2)
        guard big, UInt64(lcn + 1) << UInt64(c.sb.blockBits) < c.inode.size, lcn + 1 < records.count else { return 1 }
        let next = records[lcn + 1]
        if next.isHead { return 1 }
        guard next.compressedBlocks > 0 else {
            throw .badImage("\(c.place), lcluster \(lcn + 1)", "a big pcluster's head is followed by no block count")
        }
        return UInt64(next.compressedBlocks)
    }

    static func coding(_ type: UInt8, start: UInt64, header: StoredMapHeader, _ c: Context) throws(EROFSError) -> ClusterCoding {
        if type == LclusterRecord.plain {
            return header.advice.contains(.interlaced) ? .interlaced(offset: Int(start % UInt64(c.sb.blockSize))) : .raw
        }
        let number = type == LclusterRecord.head1 ? header.head1Algorithm : header.head2Algorithm
        guard let algorithm = StoredCompressionConfigs.Algorithm(rawValue: number), c.configs.algorithms.contains(algorithm) else {
            throw .badImage(c.place, "algorithm \(number) is not one the superblock declares (\(c.configs.algorithms.map(\.name).joined(separator: ", ")))")
        }
        return .compressed(algorithm)
    }
}
