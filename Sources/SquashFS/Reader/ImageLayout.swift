import ImageReading

/// Where each part of a squashfs image lies, for saying where two images
/// differ: the superblock's fields, the options block, the metadata
/// tables (an indexed table from its first entry block to the end of its
/// index), the data area (every file's blocks and every fragment block)
/// and the padding after bytes_used.
struct ImageLayout {
    struct Region {
        var name: String
        var start: UInt64
        var end: UInt64
    }

    /// The superblock's fields: (offset, width, name).
    static let superblockFields: [(Int, Int, String)] = [
        (0, 4, "magic"), (4, 4, "inode_count"), (8, 4, "modification_time"), (12, 4, "block_size"),
        (16, 4, "fragment_entry_count"), (20, 2, "compression_id"), (22, 2, "block_log"), (24, 2, "flags"),
        (26, 2, "id_count"), (28, 2, "version_major"), (30, 2, "version_minor"), (32, 8, "root_inode_ref"),
        (40, 8, "bytes_used"), (48, 8, "id_table_start"), (56, 8, "xattr_id_table_start"),
        (64, 8, "inode_table_start"), (72, 8, "directory_table_start"), (80, 8, "fragment_table_start"),
        (88, 8, "export_table_start"),
    ]

    /// The metadata tables, in image order.
    let tables: [Region]

    init(_ image: SquashFSImage) {
        let sb = image.superblock
        var tables = [Region(name: "inode table", start: sb.inodeTableStart, end: sb.directoryTableStart)]
        var indexed: [Region] = []
        let counts: [(String, UInt64, UInt64, UInt64)] = [
            ("fragment table", sb.fragmentTableStart, UInt64(sb.fragmentCount), 16),
            ("export table", sb.exportTableStart, UInt64(sb.inodeCount), 8),
            ("id table", sb.idTableStart, UInt64(sb.idCount), 4),
        ]
        for (name, start, count, width) in counts where start != Superblock.absent && count > 0 {
            let blocks = (count * width + 8191) / 8192
            let first = (try? image.range.read(8, at: start)).map { $0.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) } }
            let entries = first.flatMap { $0 < start && $0 >= sb.directoryTableStart ? $0 : nil } ?? start
            indexed.append(Region(name: name, start: entries, end: start + blocks * 8))
        }
        let directoryEnd = indexed.map(\.start).filter { $0 > sb.directoryTableStart }.min() ?? sb.bytesUsed
        tables.append(Region(name: "directory table", start: sb.directoryTableStart, end: directoryEnd))
        if sb.xattrTableStart != Superblock.absent {
            indexed.append(Region(name: "xattr table", start: sb.xattrTableStart, end: sb.bytesUsed))
        }
        self.tables = (tables + indexed).sorted { $0.start < $1.start }
    }

    /// The table holding `offset`, if any.
    func table(at offset: UInt64) -> Region? {
        tables.first { offset >= $0.start && offset < $0.end }
    }

    static func superblockField(at offset: UInt64) -> String? {
        superblockFields.first { UInt64($0.0) <= offset && offset < UInt64($0.0 + $0.1) }?.2
    }
}
