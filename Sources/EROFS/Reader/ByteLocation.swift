import ImageReading

/// Says what a byte offset of an erofs image holds, in the format's
/// terms: the area before the superblock, a superblock field, the
/// compression configurations, the inode of which path (or what follows
/// it: xattrs, inline data, a compressed file's index), data cluster N of
/// which file, a cluster of the packed inode, a block of which directory,
/// or bytes nothing claims.
extension EROFSImage {
    /// The superblock's fields: (offset, width, name).
    static let superblockFields: [(Int, Int, String)] = [
        (0, 4, "magic"), (4, 4, "checksum"), (8, 4, "feature_compat"), (12, 1, "blkszbits"), (13, 1, "sb_extslots"),
        (14, 2, "root_nid"), (16, 8, "inos"), (24, 8, "epoch"), (32, 4, "fixed_nsec"), (36, 4, "blocks"),
        (40, 4, "meta_blkaddr"), (44, 4, "xattr_blkaddr"), (48, 16, "uuid"), (64, 16, "volume_name"),
        (80, 4, "feature_incompat"), (84, 2, "available_compr_algs"), (86, 2, "extra_devices"),
        (88, 2, "devt_slotoff"), (90, 1, "dirblkbits"), (91, 1, "xattr_prefix_count"), (92, 4, "xattr_prefix_start"),
        (96, 8, "packed_nid"), (104, 24, "reserved fields"),
    ]

    public func describe(offset: UInt64, entries: [ImageEntry]) -> String {
        let sb = superblock
        if offset >= range.length { return "past the end of the image (\(range.length) bytes)" }
        if offset < StoredSuperblock.offset { return "the bytes before the superblock (0..<1024)" }
        let inSuperblock = Int(offset - StoredSuperblock.offset)
        if inSuperblock < 128, let field = Self.superblockFields.first(where: { $0.0 <= inSuperblock && inSuperblock < $0.0 + $0.1 }) {
            return "the superblock's \(field.2) field"
        }
        if inSuperblock < sb.size { return "the superblock's extension slots" }
        if let data = dataCluster(at: offset, entries: entries) { return data }
        if let inode = inodeArea(at: offset, entries: entries) { return inode }
        if offset < UInt64(sb.blockSize) { return "the compression configurations or the rest of block 0" }
        return "bytes no inode or file claims"
    }

    private func dataCluster(at offset: UInt64, entries: [ImageEntry]) -> String? {
        var packedCluster: (index: Int, bytes: String)?
        var holders: [String] = []
        for e in entries {
            guard e.type == .file || e.type == .directory, let i = try? inode(e.handle),
                  let chunks = try? dataChunks(i, place: "") else { continue }
            for c in chunks where c.storedSize > 0 && offset >= c.storedAt && offset < c.storedAt + UInt64(c.storedSize) {
                let bytes = "bytes \(c.storedAt)..<\(c.storedAt + UInt64(c.storedSize))"
                switch c.source {
                case .fragment(let k):
                    packedCluster = (k, bytes)
                    if holders.last != e.pathString { holders.append(e.pathString) }
                case .block(let n), .sparse(let n):
                    return e.type == .directory ? "a block of the directory \(e.pathString) (\(bytes))" : "data cluster \(n) of \(e.pathString) (\(bytes))"
                }
            }
        }
        guard let (k, bytes) = packedCluster else { return nil }
        let named = holders.prefix(3).joined(separator: ", ") + (holders.count > 3 ? " and \(holders.count - 3) more" : "")
        return "cluster \(k) of the packed inode (\(bytes)), holding parts of \(named)"
    }

    /// The inode whose slot, or what follows it up to the next inode,
    /// holds `offset`.
    private func inodeArea(at offset: UInt64, entries: [ImageEntry]) -> String? {
        var best: (position: UInt64, path: String, end: UInt64)?
        for e in entries {
            guard let i = try? inode(e.handle), i.position <= offset, best.map({ i.position > $0.position }) ?? true else { continue }
            best = (i.position, e.pathString, i.position + UInt64(i.inodeSize))
        }
        guard let best, offset - best.position < UInt64(superblock.blockSize) else { return nil }
        return offset < best.end ? "the inode of \(best.path)" : "the xattrs, inline data or index after the inode of \(best.path)"
    }
}
