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

/// The inode table.
///
/// On-disk rule: inodes are a stream of metadata blocks, each inode one of
/// the structs in Inodes.swift (squashfs-tools' squashfs_fs.h names them
/// squashfs_*_inode_header), all little-endian and unaligned. The writer
/// emits the basic and extended directory, the basic and extended file,
/// and the basic symlink, device and fifo/socket inodes; the other
/// extended forms exist only to carry an xattr index, and this writer
/// stores no xattrs.
///
/// Basic or extended is decided here, in `addFile` and `addDirectory`, and
/// nowhere else: the basic form whenever its fields can hold the values.
/// Link counts: 1 for non-directories (hard links are never shared), 2 +
/// subdirectories for directories.
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

    private func header(_ type: InodeType, mode: UInt16, number: UInt32) -> InodeHeader {
        InodeHeader(type: type, permissions: mode & 0o7777, uidIndex: IdTable.rootIndex,
                    gidIndex: IdTable.rootIndex, mtime: mtime, inodeNumber: number)
    }

    /// Encodes `inode` into the stream; returns its layout reference.
    private mutating func add(_ inode: some InodeEncoding, capacity: Int) -> UInt64 {
        let ref = nextReference
        var e = InodeEncoder(capacity: capacity)
        inode.encode(into: &e)
        stream.append(e.buffer.bytes, fields: e.directoryBlockFields.map {
            ($0.offset, MetadataTable.directories.rawValue, $0.block)
        })
        return ref
    }

    /// Writes a regular file inode; returns its reference. Extended when
    /// the size or the blocks' start needs 64 bits, or when blocks are
    /// sparse (only the extended form can say how many bytes are holes).
    mutating func addFile(mode: UInt16, number: UInt32, size: UInt64, blocksStart: UInt64,
                          blockSizes: [UInt32], fragment: UInt32, fragmentOffset: UInt32,
                          sparseBytes: UInt64) -> UInt64 {
        let capacity = ExtendedFileInode.fixedSize + 4 * blockSizes.count
        if size < (1 << 32) && blocksStart < (1 << 32) && sparseBytes == 0 {
            return add(BasicFileInode(
                header: header(.file, mode: mode, number: number),
                blocksStart: UInt32(blocksStart), fragmentIndex: fragment,
                fragmentOffset: fragmentOffset, fileSize: UInt32(size), blockSizes: blockSizes),
                capacity: capacity)
        }
        return add(ExtendedFileInode(
            header: header(.extendedFile, mode: mode, number: number),
            blocksStart: blocksStart, fileSize: size, sparse: sparseBytes, linkCount: 1,
            fragmentIndex: fragment, fragmentOffset: fragmentOffset,
            xattrIndex: noXattrs, blockSizes: blockSizes),
            capacity: capacity)
    }

    /// Writes a directory inode; returns its reference. `block` and
    /// `blockOffset`: where the listing starts in the directory table
    /// (block index, offset). Extended when the stored size passes 16 bits
    /// or the listing has index entries (only the extended form holds them).
    mutating func addDirectory(mode: UInt16, number: UInt32, linkCount: UInt32, listingSize: Int,
                               block: Int, blockOffset: Int, parent: UInt32,
                               index: [DirectoryIndexEntry]) -> UInt64 {
        // The stored size counts the implicit "." and ".." as 3 bytes.
        let fileSize = listingSize + 3
        if fileSize <= 0xFFFF && index.isEmpty {
            return add(BasicDirectoryInode(
                header: header(.directory, mode: mode, number: number),
                listingBlock: block, linkCount: linkCount, fileSize: UInt16(fileSize),
                listingOffset: UInt16(blockOffset), parentInode: parent),
                capacity: BasicDirectoryInode.size)
        }
        return add(ExtendedDirectoryInode(
            header: header(.extendedDirectory, mode: mode, number: number),
            linkCount: linkCount, fileSize: UInt32(fileSize), listingBlock: block,
            parentInode: parent, indexCount: UInt16(index.count),
            listingOffset: UInt16(blockOffset), xattrIndex: noXattrs, index: index),
            capacity: ExtendedDirectoryInode.fixedSize + index.reduce(0) { $0 + 12 + $1.name.count })
    }

    mutating func addSymlink(mode: UInt16, number: UInt32, target: [UInt8]) -> UInt64 {
        add(SymlinkInode(header: header(.symlink, mode: mode, number: number),
                         linkCount: 1, targetSize: UInt32(target.count), target: target),
            capacity: SymlinkInode.fixedSize + target.count)
    }

    mutating func addDevice(_ type: InodeType, mode: UInt16, number: UInt32, major: UInt32, minor: UInt32) -> UInt64 {
        precondition(type == .blockDevice || type == .characterDevice)
        return add(DeviceInode(header: header(type, mode: mode, number: number), linkCount: 1,
                               device: DeviceInode.encodeDevice(major: major, minor: minor)),
                   capacity: DeviceInode.size)
    }

    mutating func addIPC(_ type: InodeType, mode: UInt16, number: UInt32) -> UInt64 {
        precondition(type == .fifo || type == .socket)
        return add(IPCInode(header: header(type, mode: mode, number: number), linkCount: 1),
                   capacity: IPCInode.size)
    }
}
