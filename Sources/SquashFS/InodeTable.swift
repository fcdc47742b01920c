/// Inode types as stored in inode headers. Directory entries always carry
/// the basic type (1...7), even when the inode itself is extended.
enum InodeType: UInt16 {
    case directory = 1, file, symlink, blockDevice, characterDevice, fifo, socket
    case extendedDirectory, extendedFile, extendedSymlink, extendedBlockDevice
    case extendedCharacterDevice, extendedFifo, extendedSocket

    var basic: InodeType {
        rawValue > 7 ? InodeType(rawValue: rawValue - 7)! : self
    }
}

/// A directory index entry: lets the kernel's lookup skip to the metadata
/// block holding the header whose first name is `name`.
struct DirectoryIndexEntry {
    /// Offset of the header within this directory's listing.
    var listingOffset: UInt32
    /// Index of the directory-table block holding that header (stored as
    /// that block's start).
    var block: Int
    var name: [UInt8]
}

/// The inode table.
///
/// On-disk rule: inodes are a stream of metadata blocks. Every inode starts
/// with the common header (u16 type, u16 permission bits, u16 uid index,
/// u16 gid index, u32 mtime, u32 inode number) followed by its type's body.
/// The basic form is used whenever it can hold the values; the extended
/// form is used for files of 4 GiB or more, files whose data starts beyond
/// 4 GiB, sparse files, and directories whose listing exceeds 64 KiB or that
/// carry a directory index. Link counts: 1 for non-directories (hard links
/// are never shared), 2 + subdirectories for directories.
///
/// The table is laid out here and compressed by a `MetadataCompressor`; the
/// references returned are layout references (see `MetadataWriter`).
struct InodeTable {
    private(set) var stream: MetadataWriter

    /// Hands the last block to the compressor; add nothing after this.
    mutating func close() {
        stream.close()
    }
    let mtime: UInt32

    init(mtime: UInt32, into compressor: MetadataCompressor) {
        stream = MetadataWriter(table: MetadataTable.inodes.rawValue, into: compressor)
        self.mtime = mtime
    }

    /// The layout reference of the next inode to be written.
    var nextReference: UInt64 {
        let p = stream.position
        return (UInt64(p.block) << 16) | UInt64(p.offset)
    }

    private func header(_ b: inout ByteBuffer, _ type: InodeType, mode: UInt16, number: UInt32) {
        b.u16(type.rawValue)
        b.u16(mode & 0o7777)
        b.u16(IdTable.rootIndex)
        b.u16(IdTable.rootIndex)
        b.u32(mtime)
        b.u32(number)
    }

    /// Writes a regular file inode (basic, or extended when the size, the
    /// blocks' start or sparse blocks need it); returns its reference.
    mutating func addFile(mode: UInt16, number: UInt32, size: UInt64, blocksStart: UInt64,
                          blockSizes: [UInt32], fragment: UInt32, fragmentOffset: UInt32,
                          sparseBytes: UInt64) -> UInt64 {
        let ref = nextReference
        var b = ByteBuffer(capacity: 56 + 4 * blockSizes.count)
        if size < (1 << 32) && blocksStart < (1 << 32) && sparseBytes == 0 {
            header(&b, .file, mode: mode, number: number)
            b.u32(UInt32(blocksStart))
            b.u32(fragment)
            b.u32(fragmentOffset)
            b.u32(UInt32(size))
        } else {
            header(&b, .extendedFile, mode: mode, number: number)
            b.u64(blocksStart)
            b.u64(size)
            b.u64(sparseBytes)
            b.u32(1)  // link count
            b.u32(fragment)
            b.u32(fragmentOffset)
            b.u32(0xFFFF_FFFF)  // no xattrs
        }
        for s in blockSizes { b.u32(s) }
        stream.append(b.bytes)
        return ref
    }

    /// `block` and `blockOffset`: where the listing starts in the directory
    /// table (block index, offset).
    mutating func addDirectory(mode: UInt16, number: UInt32, linkCount: UInt32, listingSize: Int,
                               block: Int, blockOffset: Int, parent: UInt32,
                               index: [DirectoryIndexEntry]) -> UInt64 {
        let ref = nextReference
        // The stored size counts the implicit "." and ".." as 3 bytes.
        let fileSize = listingSize + 3
        var b = ByteBuffer(capacity: 40)
        var fields: [(offset: Int, table: Int, block: Int)] = []
        if fileSize <= 0xFFFF && index.isEmpty {
            header(&b, .directory, mode: mode, number: number)
            fields.append((b.count, MetadataTable.directories.rawValue, block))
            b.u32(0)
            b.u32(linkCount)
            b.u16(UInt16(fileSize))
            b.u16(UInt16(blockOffset))
            b.u32(parent)
        } else {
            header(&b, .extendedDirectory, mode: mode, number: number)
            b.u32(linkCount)
            b.u32(UInt32(fileSize))
            fields.append((b.count, MetadataTable.directories.rawValue, block))
            b.u32(0)
            b.u32(parent)
            b.u16(UInt16(index.count))
            b.u16(UInt16(blockOffset))
            b.u32(0xFFFF_FFFF)  // no xattrs
            for e in index {
                b.u32(e.listingOffset)
                fields.append((b.count, MetadataTable.directories.rawValue, e.block))
                b.u32(0)
                b.u32(UInt32(e.name.count - 1))
                b.append(e.name)
            }
        }
        stream.append(b.bytes, fields: fields)
        return ref
    }

    mutating func addSymlink(mode: UInt16, number: UInt32, target: [UInt8]) -> UInt64 {
        let ref = nextReference
        var b = ByteBuffer(capacity: 24 + target.count)
        header(&b, .symlink, mode: mode, number: number)
        b.u32(1)
        b.u32(UInt32(target.count))
        b.append(target)
        stream.append(b.bytes)
        return ref
    }

    mutating func addDevice(_ type: InodeType, mode: UInt16, number: UInt32, major: UInt32, minor: UInt32) -> UInt64 {
        let ref = nextReference
        var b = ByteBuffer(capacity: 24)
        header(&b, type, mode: mode, number: number)
        b.u32(1)
        // The kernel's new_decode_dev layout.
        b.u32((minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12))
        stream.append(b.bytes)
        return ref
    }

    mutating func addIPC(_ type: InodeType, mode: UInt16, number: UInt32) -> UInt64 {
        let ref = nextReference
        var b = ByteBuffer(capacity: 20)
        header(&b, type, mode: mode, number: number)
        b.u32(1)
        stream.append(b.bytes)
        return ref
    }
}
