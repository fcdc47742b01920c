/// An inode, read (the rule is stated in Inodes.swift, one struct per
/// type): the 16-byte header (type, permissions, uid and gid indexes,
/// mtime, inode number), then the type's fields. Checked: the type is one
/// of 1...14, the inode number is 1...inode count, a directory's listing
/// starts inside the directory table at an offset below 8192 with a size
/// of at least 3, a symlink target is 1...4096 bytes, and a file's block
/// list (one u32 per full block, plus one for a tail not in a fragment)
/// is no longer than the inode table could hold.
struct StoredInode {
    struct Directory {
        var block: UInt32
        var offset: UInt16
        var fileSize: UInt32
        var parent: UInt32
    }

    struct File {
        var blocksStart: UInt64
        var size: UInt64
        /// The fragment index, nil when the tail is in a block of its own.
        var fragment: UInt32?
        var fragmentOffset: UInt32
        var blockSizes: [UInt32]
    }

    enum Body {
        case directory(Directory)
        case file(File)
        case symlink([UInt8])
        case device(block: Bool, rdev: UInt32)
        case ipc(socket: Bool)
    }

    var type: UInt16
    var permissions: UInt16
    var uidIndex: UInt16
    var gidIndex: UInt16
    var mtime: UInt32
    var number: UInt32
    var linkCount: UInt32
    var body: Body

    /// The basic type directory entries name (1...7).
    var basicType: UInt16 { type > 7 ? type - 7 : type }

    static let noFragment: UInt32 = 0xFFFF_FFFF

    static func read(_ reference: UInt64, in table: MetadataArea, superblock sb: Superblock,
                     directoryTableSize: UInt64) throws(SquashFSError) -> StoredInode {
        let place = "inode \(reference >> 16):\(reference & 0xFFFF) (block at byte \(table.start + (reference >> 16)), offset \(reference & 0xFFFF))"
        guard reference >> 48 == 0, reference & 0xFFFF < 8192, table.start + (reference >> 16) < table.end else {
            throw .badImage(place, "the reference lies outside the inode table")
        }
        var at = MetadataPosition(block: table.start + (reference >> 16), offset: Int(reference & 0xFFFF))
        var h = try table.reader(16, at: &at, what: place)
        let type = try h.u16(), mode = try h.u16(), uid = try h.u16(), gid = try h.u16()
        let mtime = try h.u32(), number = try h.u32()
        guard number >= 1, number <= sb.inodeCount else {
            throw .badImage(place, "inode number \(number) is not in 1...\(sb.inodeCount) (the superblock's inode count)")
        }
        guard mode & ~0o7777 == 0 else { throw .badImage(place, "permissions 0o\(String(mode, radix: 8)) have bits above 0o7777") }
        var inode = StoredInode(type: type, permissions: mode, uidIndex: uid, gidIndex: gid, mtime: mtime,
                                number: number, linkCount: 0, body: .ipc(socket: false))
        let reading = BodyReading(table: table, place: place, sb: sb, directoryTableSize: directoryTableSize)
        (inode.linkCount, inode.body) = try reading.body(type, at: &at)
        return inode
    }
}

/// The per-type part of `StoredInode.read`.
private struct BodyReading {
    let table: MetadataArea
    let place: String
    let sb: Superblock
    let directoryTableSize: UInt64

    func body(_ type: UInt16, at: inout MetadataPosition) throws(SquashFSError) -> (UInt32, StoredInode.Body) {
        switch type {
        case 1, 8: return try directory(extended: type == 8, at: &at)
        case 2, 9: return try file(extended: type == 9, at: &at)
        case 3, 10:
            var r = try table.reader(8, at: &at, what: place)
            let links = try r.u32(), length = try r.u32()
            guard length >= 1, length <= 4096 else {
                throw .badImage(place, "symlink target of \(length) bytes; it must be 1...4096")
            }
            return (links, .symlink(try table.read(Int(length), at: &at, what: place)))
        case 4, 5, 11, 12:
            var r = try table.reader(8, at: &at, what: place)
            return (try r.u32(), .device(block: type == 4 || type == 11, rdev: try r.u32()))
        case 6, 7, 13, 14:
            var r = try table.reader(4, at: &at, what: place)
            return (try r.u32(), .ipc(socket: type == 7 || type == 14))
        default:
            throw .badImage(place, "inode type \(type) is none of 1...14")
        }
    }

    private func directory(extended: Bool, at: inout MetadataPosition) throws(SquashFSError) -> (UInt32, StoredInode.Body) {
        var r = try table.reader(extended ? 24 : 16, at: &at, what: place)
        var d = StoredInode.Directory(block: 0, offset: 0, fileSize: 0, parent: 0)
        let links: UInt32
        if extended {
            links = try r.u32(); d.fileSize = try r.u32(); d.block = try r.u32(); d.parent = try r.u32()
            _ = try r.u16()  // index count: lookups only; the listing is read whole
            d.offset = try r.u16()
        } else {
            d.block = try r.u32(); links = try r.u32(); d.fileSize = UInt32(try r.u16()); d.offset = try r.u16()
            d.parent = try r.u32()
        }
        guard d.fileSize >= 3, d.offset < 8192, UInt64(d.block) < directoryTableSize else {
            throw .badImage(place, "directory listing at block \(d.block), offset \(d.offset), size \(d.fileSize): outside the directory table (\(directoryTableSize) bytes) or smaller than 3")
        }
        return (links, .directory(d))
    }

    private func file(extended: Bool, at: inout MetadataPosition) throws(SquashFSError) -> (UInt32, StoredInode.Body) {
        var f = StoredInode.File(blocksStart: 0, size: 0, fragment: nil, fragmentOffset: 0, blockSizes: [])
        var links: UInt32 = 1
        let fragment: UInt32
        if extended {
            var r = try table.reader(40, at: &at, what: place)
            f.blocksStart = try r.u64(); f.size = try r.u64(); _ = try r.u64()
            links = try r.u32(); fragment = try r.u32(); f.fragmentOffset = try r.u32()
        } else {
            var r = try table.reader(16, at: &at, what: place)
            f.blocksStart = UInt64(try r.u32()); fragment = try r.u32(); f.fragmentOffset = try r.u32()
            f.size = UInt64(try r.u32())
        }
        f.fragment = fragment == StoredInode.noFragment ? nil : fragment
        let blockSize = UInt64(sb.blockSize)
        let full = f.size / blockSize, tail = f.size % blockSize
        let count = full + (f.fragment == nil && tail > 0 ? 1 : 0)
        guard count <= table.decompressedLimit / 4 else {
            throw .badImage(place, "a file of \(f.size) bytes needs \(count) block sizes, more than the inode table can hold")
        }
        if f.fragment != nil && tail == 0 {
            throw .badImage(place, "a file of \(f.size) bytes (a whole number of blocks) names fragment \(fragment)")
        }
        var r = try table.reader(Int(count) * 4, at: &at, what: place)
        f.blockSizes.reserveCapacity(Int(count))
        for _ in 0..<count { f.blockSizes.append(try r.u32()) }
        return (links, .file(f))
    }
}
