import ImageReading

/// The packed inode, read: with FRAGMENTS, the superblock's packed_nid
/// names a regular file that is in no directory and holds the tails of
/// other files (or whole files) one after another; a file's map header
/// gives the offset of its part. Its own data is stored as any file's,
/// but never in fragments.
///
/// Checked: the packed inode exists when a file names a fragment, is a
/// regular file, and each fragment lies inside it.
extension EROFSImage {
    func packedInode() throws(EROFSError) -> (size: UInt64, chunks: [StoredChunk]) {
        if let known = packedCache.chunks() { return known }
        guard let nid = superblock.packedNid else {
            throw .badImage(StoredSuperblock.place, "a file names a fragment, but the image has no packed inode")
        }
        let inode = try self.inode(nid)
        guard inode.type == .file else {
            throw .badImage("packed inode \(nid)", "is a \(inode.type.rawValue), not a regular file")
        }
        let found = (inode.size, try dataChunks(inode, place: "packed inode \(nid)", packedInode: true))
        packedCache.set(found)
        return found
    }

    /// `length` bytes at `offset` of the packed inode, as chunks of a file
    /// from `offsetInFile`: one per packed cluster they touch.
    func fragmentChunks(_ offset: UInt64, _ length: UInt64, _ offsetInFile: UInt64,
                        place: String) throws(EROFSError) -> [StoredChunk] {
        let (size, chunks) = try packedInode()
        guard offset <= size, length <= size - offset else {
            throw .badImage(place, "a fragment of \(length) bytes at offset \(offset) of the packed inode runs past its \(size) bytes")
        }
        let end = offset + length
        var low = 0, high = chunks.count
        while low < high {
            let mid = (low + high) / 2
            if chunks[mid].offsetInFile + UInt64(chunks[mid].length) <= offset { low = mid + 1 } else { high = mid }
        }
        var out: [StoredChunk] = []
        var index = low
        while index < chunks.count, chunks[index].offsetInFile < end {
            let c = chunks[index]
            let from = max(offset, c.offsetInFile), to = min(end, c.offsetInFile + UInt64(c.length))
            out.append(StoredChunk(source: .fragment(index), offsetInFile: offsetInFile + (from - offset), length: Int(to - from),
                                   storedAt: c.storedAt, storedSize: c.storedSize, compressed: c.compressed,
                                   within: Int(from - c.offsetInFile), decoding: c.decoding))
            index += 1
        }
        return out
    }

    /// Cluster `index` of the packed inode, decoded whole.
    func packedChunk(_ index: Int) throws(EROFSError) -> [UInt8] {
        if let hit = packedCache.cluster(index) { return hit }
        let (_, chunks) = try packedInode()
        guard index >= 0, index < chunks.count else {
            throw .badImage("packed inode", "cluster \(index) does not exist; it has \(chunks.count)")
        }
        let bytes = try decoded(chunks[index])
        packedCache.put(index, bytes)
        return bytes
    }
}
