import ImageReading

/// The data of a flat inode, read: FLAT_PLAIN stores ceil(size / block
/// size) blocks one after another from block i_u; FLAT_INLINE stores all
/// but the last of them so, and the last (the tail, 1 byte to a block)
/// right after the inode and its xattrs, in the same block. Shown as
/// chunks of at most 1 MiB.
///
/// Checked: the blocks lie inside the image; the inline tail lies inside
/// the inode's block (the kernel's rule) and the image.
enum FlatData {
    static let pieceSize = 1 << 20

    static func chunks(_ inode: StoredInode, superblock sb: StoredSuperblock, range: ImageRange,
                       place: String) throws(EROFSError) -> [StoredChunk] {
        guard inode.size > 0 else { return [] }
        let bs = UInt64(sb.blockSize)
        let blocks = (inode.size - 1) / bs + 1
        let inline = inode.layout == .flatInline
        let full = inline ? blocks - 1 : blocks
        var out: [StoredChunk] = []
        if full > 0 {
            let start = UInt64(inode.union) * bs
            let length = inline ? full * bs : inode.size
            guard full <= range.length / bs, range.contains(start, count: length) else {
                throw .badImage(place, "\(full) data blocks from block \(inode.union) run past the image's end")
            }
            out = pieces(from: start, length: length, offsetInFile: 0)
        }
        if inline {
            let tail = inode.size - full * bs
            let at = inode.afterXattrs
            guard at % bs + tail <= bs, range.contains(at, count: tail) else {
                throw .badImage(place, "an inline tail of \(tail) bytes at byte \(at) crosses its block's end")
            }
            out.append(StoredChunk(source: .block(out.count), offsetInFile: full * bs, length: Int(tail), storedAt: at,
                                   storedSize: Int(tail), compressed: false, within: 0))
        }
        return out
    }

    /// `length` stored bytes from `start`, as chunks of at most 1 MiB
    /// numbered from `first`.
    static func pieces(from start: UInt64, length: UInt64, offsetInFile: UInt64, first: Int = 0,
                       sparse: Bool = false) -> [StoredChunk] {
        var out: [StoredChunk] = []
        var done: UInt64 = 0
        while done < length {
            let n = Int(min(UInt64(pieceSize), length - done))
            let index = first + out.count
            out.append(StoredChunk(source: sparse ? .sparse(index) : .block(index), offsetInFile: offsetInFile + done,
                                   length: n, storedAt: sparse ? 0 : start + done, storedSize: sparse ? 0 : n,
                                   compressed: false, within: 0))
            done += UInt64(n)
        }
        return out
    }
}
