import ImageReading

/// The indexed form of the fragment, export and id tables, read (the rule
/// is stated on `MetadataWriter`): `count` entries of `width` bytes fill
/// metadata blocks of 8192 bytes (the last one the rest); at the table's
/// start a list of u64s, one per block, gives each block's byte offset.
/// Checked: the index lies inside bytes_used, each block lies between the
/// superblock and the index and decompresses to exactly its share; so the
/// entries' allocation is bounded by the index the image holds.
extension IndexedTable {
    static func read(_ name: String, count: UInt64, width: Int, start: UInt64, image: ImageRange,
                     superblock sb: Superblock, decoder: BlockDecoder) throws(SquashFSError) -> [UInt8] {
        let total = count * UInt64(width)
        let blocks = (total + 8191) / 8192
        guard blocks * 8 <= sb.bytesUsed, start <= sb.bytesUsed - blocks * 8 else {
            throw .badImage(name, "\(count) entries need an index of \(blocks * 8) bytes at byte \(start), past bytes_used \(sb.bytesUsed)")
        }
        let index = try image.bytes(Int(blocks * 8), at: start, place: "\(name) index")
        var r = LittleEndianReader(index, place: "\(name) index")
        let area = MetadataArea(name, image: image, start: UInt64(Superblock.size), end: start, decoder: decoder)
        var out: [UInt8] = []
        out.reserveCapacity(Int(total))
        for block in 0..<blocks {
            let at = try r.u64()
            let want = Int(min(8192, total - block * 8192))
            let bytes = try area.block(at: at).bytes
            guard bytes.count == want else {
                throw .badImage("\(name) block \(block) at byte \(at)", "holds \(bytes.count) bytes; \(want) expected for \(count) entries")
            }
            out.append(contentsOf: bytes)
        }
        return out
    }
}
