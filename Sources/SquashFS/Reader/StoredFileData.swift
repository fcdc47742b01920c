import ImageReading

/// A file's data, read (the rules are stated on `BlockPipeline` and
/// `DataWriter`): a regular file's full blocks lie one after another from
/// its blocks_start, each named by a size word (bit 24: stored
/// uncompressed; the low 24 bits: the stored size; 0: a hole of zeros);
/// its tail is the last such block or lies in a fragment block at the
/// inode's offset. Checked: no size word has other bits, no stored size
/// exceeds the block size, every block lies between the superblock and
/// bytes_used, an uncompressed block is exactly its share of the file,
/// a fragment index is below the fragment count, and the tail lies inside
/// its fragment block.
enum StoredFileData {
    static func chunks(_ file: StoredInode.File, path: String, superblock sb: Superblock,
                       fragments: [StoredFragment]) throws(SquashFSError) -> [StoredChunk] {
        let place = "data of \(path)"
        let blockSize = UInt64(sb.blockSize)
        var chunks: [StoredChunk] = []
        chunks.reserveCapacity(file.blockSizes.count + 1)
        var at = file.blocksStart
        for (index, word) in file.blockSizes.enumerated() {
            let offset = UInt64(index) * blockSize
            let length = Int(min(blockSize, file.size - offset))
            let stored = Int(word & 0xFF_FFFF), compressed = word & 0x100_0000 == 0
            guard word & ~0x1FF_FFFF == 0, stored <= Int(sb.blockSize), compressed || stored == length || stored == 0 else {
                throw .badImage("\(place), block \(index)", "size word 0x\(String(word, radix: 16)) is not a stored size of 0...\(sb.blockSize) (an uncompressed block holds exactly \(length) bytes)")
            }
            if stored == 0 {
                chunks.append(StoredChunk(source: .sparse(index), offsetInFile: offset, length: length, storedAt: at,
                                          storedSize: 0, compressed: false, within: 0))
                continue
            }
            guard at >= UInt64(Superblock.size), at <= sb.bytesUsed, UInt64(stored) <= sb.bytesUsed - at else {
                throw .badImage("\(place), block \(index)", "\(stored) bytes at byte \(at) lie outside bytes 96..<\(sb.bytesUsed)")
            }
            chunks.append(StoredChunk(source: .block(index), offsetInFile: offset, length: length, storedAt: at,
                                      storedSize: stored, compressed: compressed, within: 0))
            at += UInt64(stored)
        }
        if let index = file.fragment {
            guard index < UInt32(fragments.count) else {
                throw .badImage(place, "fragment \(index) does not exist; the image has \(fragments.count)")
            }
            let tail = Int(file.size % blockSize)
            guard UInt64(file.fragmentOffset) + UInt64(tail) <= blockSize else {
                throw .badImage(place, "a tail of \(tail) bytes at offset \(file.fragmentOffset) of fragment \(index) runs past the block size \(blockSize)")
            }
            let f = fragments[Int(index)]
            chunks.append(StoredChunk(source: .fragment(Int(index)), offsetInFile: file.size - UInt64(tail), length: tail,
                                      storedAt: f.start, storedSize: f.storedSize, compressed: f.compressed,
                                      within: Int(file.fragmentOffset)))
        }
        return chunks
    }
}
