/// Places inode records in the metadata area and so gives each its nid.
///
/// Rules kept: every record starts at a multiple of 32 bytes (a nid is
/// its offset / 32); an inode never crosses a block boundary; a record
/// with inline data (a flat tail or a tail pcluster) lies wholly within
/// one block, since the reader maps inline data only inside the inode's
/// block. The first record, the root, is at nid 0 (root_nid is 16 bits).
///
/// To waste little, a record that fits a block goes into the block whose
/// free end is the smallest that holds it (best fit; among equals, the
/// one that got that much room last), else into a new block at the
/// area's end; a longer one (an inode with a long index) starts a new
/// block. The choice depends on the records' order and sizes alone.
struct MetadataArea {
    private static let slotsPerBlock = Geometry.blockSize / Geometry.slotSize
    /// Blocks in use.
    private var blocks = 0
    /// `free[r]`: blocks whose last `r` slots are free, in the order they
    /// came to have that room.
    private var free = [[Int]](repeating: [], count: slotsPerBlock + 1)

    /// Bytes the area spans, whole blocks.
    var size: Int { blocks * Geometry.blockSize }

    /// The offset for a record of `size` bytes (its inode first).
    mutating func place(size: Int) -> Int {
        let slots = (size + Geometry.slotSize - 1) / Geometry.slotSize
        let perBlock = MetadataArea.slotsPerBlock
        if slots <= perBlock {
            if let room = (slots...perBlock).first(where: { !free[$0].isEmpty }) {
                let block = free[room].removeLast()
                if room > slots { free[room - slots].append(block) }
                return block * Geometry.blockSize + (perBlock - room) * Geometry.slotSize
            }
        }
        let block = blocks
        blocks += (slots + perBlock - 1) / perBlock
        let left = (perBlock - slots % perBlock) % perBlock
        if left > 0 { free[left].append(blocks - 1) }
        return block * Geometry.blockSize
    }
}
