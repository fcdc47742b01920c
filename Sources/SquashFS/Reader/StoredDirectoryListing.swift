import ImageReading

/// One child as a directory listing names it.
struct StoredDirectoryEntry {
    var name: [UInt8]
    var inodeReference: UInt64
    var inodeNumber: UInt32
    var type: UInt16
}

/// A directory's listing, read (the rule is stated on `DirectoryTable`):
/// the directory inode's size minus 3 bytes at its block and offset, as
/// runs of a 12-byte header (count - 1, inode block start, base inode
/// number) and up to 256 entries (u16 offset, i16 number delta, u16 type,
/// u16 name length - 1, name). Checked: a header's count is 1...256, each
/// entry's inode offset is below 8192 and its number 1...inode count, its
/// type 1...7, its name 1...256 bytes without "/" or NUL and neither "."
/// nor "..", and names strictly increase bytewise (so none repeats).
enum StoredDirectoryListing {
    static func read(_ directory: StoredInode.Directory, path: String, in table: MetadataArea,
                     superblock sb: Superblock) throws(SquashFSError) -> [StoredDirectoryEntry] {
        let place = "directory table, listing of \(path)"
        var at = MetadataPosition(block: table.start + UInt64(directory.block), offset: Int(directory.offset))
        var r = try table.reader(Int(directory.fileSize) - 3, at: &at, what: place)
        var entries: [StoredDirectoryEntry] = []
        while r.remaining > 0 {
            let count = try r.u32() + 1, start = try r.u32(), base = try r.u32()
            guard count <= 256 else {
                throw .badImage(place, "a header counts \(count) entries; at most 256")
            }
            for _ in 0..<count {
                let entry = try self.entry(&r, start: start, base: base, sb: sb, place: place)
                if let last = entries.last, !last.name.lexicographicallyPrecedes(entry.name) {
                    throw .badImage(place, "\(quoted(entry.name)) follows \(quoted(last.name)); names must be unique and sorted")
                }
                entries.append(entry)
            }
        }
        return entries
    }

    private static func entry(_ r: inout LittleEndianReader, start: UInt32, base: UInt32, sb: Superblock,
                              place: String) throws(SquashFSError) -> StoredDirectoryEntry {
        let offset = try r.u16(), delta = Int16(bitPattern: try r.u16()), type = try r.u16()
        let nameLength = Int(try r.u16()) + 1
        let name = Array(try r.take(nameLength))
        let number = Int64(base) + Int64(delta)
        guard offset < 8192, number >= 1, number <= Int64(sb.inodeCount) else {
            throw .badImage(place, "entry \(quoted(name)) names inode \(number) at offset \(offset); the image has \(sb.inodeCount) inodes and blocks of 8192 bytes")
        }
        guard (1...7).contains(type) else { throw .badImage(place, "entry \(quoted(name)) has type \(type), none of 1...7") }
        guard nameLength <= 256, !name.contains(0x2F), !name.contains(0), name != [0x2E], name != [0x2E, 0x2E] else {
            throw .badImage(place, "entry name \(quoted(name)) is \".\", \"..\", longer than 256 bytes or holds \"/\" or NUL")
        }
        return StoredDirectoryEntry(name: name, inodeReference: UInt64(start) << 16 | UInt64(offset),
                                    inodeNumber: UInt32(number), type: type)
    }

    static func quoted(_ name: [UInt8]) -> String { Shown.quoted(name) }
}
