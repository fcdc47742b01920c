import ImageReading

/// The id table, read (the rule is stated on `IdTable`): id count u32s,
/// the uids and gids inodes name by index. Checked where an inode's index
/// is looked up: below the count.
enum StoredIdTable {
    static func read(_ sb: Superblock, image: ImageRange, decoder: BlockDecoder) throws(SquashFSError) -> [UInt32] {
        let bytes = try IndexedTable.read("id table", count: UInt64(sb.idCount), width: 4, start: sb.idTableStart,
                                          image: image, superblock: sb, decoder: decoder)
        var r = LittleEndianReader(bytes, place: "id table")
        var ids: [UInt32] = []
        for _ in 0..<Int(sb.idCount) { ids.append(try r.u32()) }
        return ids
    }
}
