/// Places inode records in the metadata area and so gives each its nid.
///
/// Rules kept: every record starts at a multiple of 32 bytes (a nid is
/// its offset / 32); an inode never crosses a block boundary; a record
/// with inline (tail-packed) data lies wholly within one block, since the
/// reader maps inline data only inside the inode's block. The first
/// record, the root, is at nid 0 (root_nid is 16 bits). To waste little,
/// a record goes into the earliest of the last few blocks' free ends that
/// holds it, else at the end of the area.
struct MetadataArea {
    private var end = 0
    /// Free ends of earlier blocks: (offset, bytes free), oldest first.
    private var holes: [(offset: Int, room: Int)] = []
    private static let holeLimit = 64

    /// Bytes the area spans, whole blocks.
    var size: Int { (end + Geometry.blockSize - 1) / Geometry.blockSize * Geometry.blockSize }

    /// The offset for a record of `size` bytes whose first `inodeSize` are
    /// the inode; `wholeInBlock` for records with inline data.
    mutating func place(size: Int, inodeSize: Int, wholeInBlock: Bool) -> Int {
        let slots = (size + Geometry.slotSize - 1) / Geometry.slotSize * Geometry.slotSize
        if let i = holes.firstIndex(where: { $0.room >= size }) {
            let at = holes[i].offset
            holes[i].offset += slots
            holes[i].room -= slots
            if holes[i].room < Geometry.slotSize { holes.remove(at: i) }
            return at
        }
        let inBlock = end % Geometry.blockSize
        let need = wholeInBlock ? size : inodeSize
        if inBlock != 0 && inBlock + need > Geometry.blockSize {
            holes.append((end, Geometry.blockSize - inBlock))
            if holes.count > MetadataArea.holeLimit { holes.removeFirst() }
            end += Geometry.blockSize - inBlock
        }
        let at = end
        end += slots
        return at
    }
}
