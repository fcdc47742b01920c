/// One child as its parent's listing needs it.
struct DirectoryChild {
    var name: [UInt8]
    var inodeRef: UInt64
    var inodeNumber: UInt32
    var type: InodeType
}

/// The directory table.
///
/// On-disk rule: each directory's listing is a run of headers (u32 count-1,
/// u32 inode block start, u32 base inode number), each followed by up to
/// 256 entries (u16 offset in the inode block, i16 inode number minus the
/// base, u16 basic type, u16 name length-1, name). Entries are sorted
/// bytewise by name. A new header starts when 256 entries are reached, when
/// the child's inode lives in another inode-table block, when the number
/// difference leaves the i16 range, or when the run since the last index
/// point would pass 8 KiB; in that last case an index entry (listing offset
/// of the new header, its directory block, its first name) is recorded so
/// that lookups in large directories can seek. Listings are stored in
/// metadata blocks, exactly as mksquashfs lays them out.
///
/// The table is laid out here and compressed by a `MetadataCompressor`;
/// children's inode references are layout references (see
/// `MetadataWriter`), and each header's inode block start is a fixup.
struct DirectoryTable {
    private(set) var stream: MetadataWriter

    /// Hands the last block to the compressor; add nothing after this.
    mutating func close() {
        stream.close()
    }

    init(into compressor: MetadataCompressor) {
        stream = MetadataWriter(table: MetadataTable.directories.rawValue, into: compressor)
    }

    struct Placement {
        /// Where the listing starts: block index and offset.
        var block: Int
        var blockOffset: Int
        var listingSize: Int
        var index: [DirectoryIndexEntry]
    }

    /// A listing before placement: its bytes, the header fields that must
    /// hold an inode-table block start (offset in the listing, block
    /// index), and the index points (listing offset, first name).
    struct Listing {
        var bytes: [UInt8]
        var inodeBlockFields: [(offset: Int, block: Int)]
        var index: [(offset: Int, name: [UInt8])]
    }

    /// Encodes a listing without placing it.
    static func encodeListing(_ children: [DirectoryChild]) -> Listing {
        var b = ByteBuffer()
        var index: [(offset: Int, name: [UInt8])] = []
        var fields: [(offset: Int, block: Int)] = []
        var headerAt = -1
        var count = 0
        var start = 0
        var base: UInt32 = 0
        var indexPoint = 0  // listing offset of the current index run
        let entryFixed = 8

        func closeHeader(_ b: inout ByteBuffer) {
            if headerAt >= 0 { b.setU32(UInt32(count - 1), at: headerAt) }
        }

        for c in children {
            let block = Int(c.inodeRef >> 16)
            let delta = Int64(c.inodeNumber) - Int64(base)
            let runTooLong = headerAt >= 0 && (b.count + entryFixed + c.name.count - indexPoint) > MetadataWriter.blockSize
            if headerAt < 0 || count == 256 || block != start || runTooLong || delta > 32767 || delta < -32768 {
                closeHeader(&b)
                if runTooLong {
                    index.append((b.count, c.name))
                    indexPoint = b.count
                }
                headerAt = b.count
                count = 0
                start = block
                base = c.inodeNumber
                b.u32(0)  // count, patched when the header closes
                fields.append((b.count, block))
                b.u32(0)  // the inode block's stored start, a fixup
                b.u32(base)
            }
            b.u16(UInt16(c.inodeRef & 0xFFFF))
            b.i16(Int16(Int64(c.inodeNumber) - Int64(base)))
            b.u16(c.type.basic.rawValue)
            b.u16(UInt16(c.name.count - 1))
            b.append(c.name)
            count += 1
        }
        closeHeader(&b)
        return Listing(bytes: b.bytes, inodeBlockFields: fields, index: index)
    }

    /// Appends one directory's listing; returns where it went.
    mutating func add(_ children: [DirectoryChild]) -> Placement {
        let listing = Self.encodeListing(children)
        let pos = stream.position
        let streamStart = stream.count
        stream.append(listing.bytes, fields: listing.inodeBlockFields.map { ($0.offset, MetadataTable.inodes.rawValue, $0.block) })
        let index = listing.index.map { entry in
            DirectoryIndexEntry(listingOffset: UInt32(entry.offset),
                                block: (streamStart + entry.offset) / MetadataWriter.blockSize,
                                name: entry.name)
        }
        return Placement(block: pos.block, blockOffset: pos.offset, listingSize: listing.bytes.count, index: index)
    }
}
