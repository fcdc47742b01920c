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
struct DirectoryTable {
    private var meta: MetadataWriter

    init(worker: any CompressorWorker) {
        meta = MetadataWriter(worker: worker)
    }

    struct Placement {
        var blockStart: UInt64
        var blockOffset: Int
        var listingSize: Int
        var index: [DirectoryIndexEntry]
    }

    /// Encodes a listing without placing it: the bytes and the index entries
    /// with their listing offsets (block starts not yet known).
    static func encodeListing(_ children: [DirectoryChild]) -> (bytes: [UInt8], index: [(offset: Int, name: [UInt8])]) {
        var b = ByteBuffer()
        var index: [(Int, [UInt8])] = []
        var headerAt = -1
        var count = 0
        var start: UInt64 = 0
        var base: UInt32 = 0
        var indexPoint = 0  // listing offset of the current index run
        let entryFixed = 8

        func closeHeader(_ b: inout ByteBuffer) {
            if headerAt >= 0 { b.setU32(UInt32(count - 1), at: headerAt) }
        }

        for c in children {
            let blockStart = c.inodeRef >> 16
            let delta = Int64(c.inodeNumber) - Int64(base)
            let runTooLong = headerAt >= 0 && (b.count + entryFixed + c.name.count - indexPoint) > MetadataWriter.blockSize
            if headerAt < 0 || count == 256 || blockStart != start || runTooLong || delta > 32767 || delta < -32768 {
                closeHeader(&b)
                if runTooLong {
                    index.append((b.count, c.name))
                    indexPoint = b.count
                }
                headerAt = b.count
                count = 0
                start = blockStart
                base = c.inodeNumber
                b.u32(0)  // count, patched when the header closes
                b.u32(UInt32(blockStart))
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
        return (b.bytes, index)
    }

    /// Appends one directory's listing; returns where it went.
    mutating func add(_ children: [DirectoryChild]) throws(SquashFSError) -> Placement {
        let (bytes, rawIndex) = Self.encodeListing(children)
        let pos = meta.position
        let streamStart = meta.uncompressedCount
        try meta.append(bytes)
        let index = rawIndex.map { entry in
            DirectoryIndexEntry(
                listingOffset: UInt32(entry.offset),
                blockStart: UInt32(meta.blockStart(forUncompressed: streamStart + entry.offset)),
                name: entry.name)
        }
        return Placement(blockStart: pos.block, blockOffset: pos.offset, listingSize: bytes.count, index: index)
    }

    mutating func finish() throws(SquashFSError) -> [UInt8] {
        try meta.finish()
    }
}
