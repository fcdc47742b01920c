// The squashfs 4.0 inodes this writer emits, one struct per on-disk type
// (squashfs-tools' squashfs_fs.h, the kernel's fs/squashfs/squashfs_fs.h).
// Each struct's stored properties are the inode's fields in on-disk order,
// and its `encode(into:)` writes exactly those fields, in that order, so
// the encoder can be read against the format field by field. All fields
// are little-endian and unaligned. Which struct a node gets is decided in
// `InodeTable` (InodeTable.swift).

/// The xattr index meaning "no extended attributes" (this writer stores
/// none).
let noXattrs: UInt32 = 0xFFFF_FFFF

/// An inode's bytes as they are encoded, and the u32 fields among them that
/// must hold the stored start of a directory-table block. Those starts are
/// known only once the directory table is compressed: each such field is
/// written as zero and recorded, and the `MetadataCompressor` fills it in.
struct InodeEncoder {
    var buffer: ByteBuffer
    /// (offset in `buffer`, directory-table block index).
    private(set) var directoryBlockFields: [(offset: Int, block: Int)] = []

    init(capacity: Int) { buffer = ByteBuffer(capacity: capacity) }

    mutating func u16(_ v: UInt16) { buffer.u16(v) }
    mutating func u32(_ v: UInt32) { buffer.u32(v) }
    mutating func u64(_ v: UInt64) { buffer.u64(v) }
    mutating func append(_ b: [UInt8]) { buffer.append(b) }

    /// A u32 that will hold the stored start of directory-table block
    /// `block`, relative to the table's start.
    mutating func directoryBlockStart(_ block: Int) {
        directoryBlockFields.append((buffer.count, block))
        buffer.u32(0)
    }
}

protocol InodeEncoding {
    func encode(into e: inout InodeEncoder)
}

/// The header every inode starts with (squashfs_base_inode_header), 16
/// bytes.
struct InodeHeader: InodeEncoding {
    /// u16: the inode's type; directory entries name it by its basic type.
    var type: InodeType
    /// u16: the permission bits only (0o7777); the file type is `type`.
    var permissions: UInt16
    /// u16: the owner, as an index into the id table.
    var uidIndex: UInt16
    /// u16: the group, as an index into the id table.
    var gidIndex: UInt16
    /// u32: modification time, seconds since the epoch.
    var mtime: UInt32
    /// u32: the inode number, 1...inode count, unique in the image.
    var inodeNumber: UInt32

    static let size = 16

    func encode(into e: inout InodeEncoder) {
        e.u16(type.rawValue)
        e.u16(permissions)
        e.u16(uidIndex)
        e.u16(gidIndex)
        e.u32(mtime)
        e.u32(inodeNumber)
    }
}

/// A basic directory (type 1, squashfs_dir_inode_header), 32 bytes: for
/// listings whose stored size fits in 16 bits and that need no index.
struct BasicDirectoryInode: InodeEncoding {
    var header: InodeHeader
    /// u32: stored start of the directory-table block holding the listing's
    /// first byte, relative to the table's start (a fixup; held here as the
    /// block index).
    var listingBlock: Int
    /// u32: link count: 2 + the number of subdirectories.
    var linkCount: UInt32
    /// u16: the listing's size in bytes plus 3 (the implicit "." and "..").
    var fileSize: UInt16
    /// u16: offset of the listing's first byte in its uncompressed block.
    var listingOffset: UInt16
    /// u32: inode number of the parent directory; the root's is the inode
    /// count + 1.
    var parentInode: UInt32

    static let size = InodeHeader.size + 16

    func encode(into e: inout InodeEncoder) {
        header.encode(into: &e)
        e.directoryBlockStart(listingBlock)
        e.u32(linkCount)
        e.u16(fileSize)
        e.u16(listingOffset)
        e.u32(parentInode)
    }
}

/// An extended directory (type 8, squashfs_ldir_inode_header), 40 bytes
/// plus its index: for listings of 64 KiB or more, or with index entries.
/// Note the field order differs from the basic form.
struct ExtendedDirectoryInode: InodeEncoding {
    var header: InodeHeader
    /// u32: link count: 2 + the number of subdirectories.
    var linkCount: UInt32
    /// u32: the listing's size in bytes plus 3 (the implicit "." and "..").
    var fileSize: UInt32
    /// u32: stored start of the directory-table block holding the listing's
    /// first byte, relative to the table's start (a fixup; held here as the
    /// block index).
    var listingBlock: Int
    /// u32: inode number of the parent directory; the root's is the inode
    /// count + 1.
    var parentInode: UInt32
    /// u16: the number of index entries that follow (not minus one).
    var indexCount: UInt16
    /// u16: offset of the listing's first byte in its uncompressed block.
    var listingOffset: UInt16
    /// u32: xattr index; `noXattrs`.
    var xattrIndex: UInt32
    /// `indexCount` entries, in listing order.
    var index: [DirectoryIndexEntry]

    static let fixedSize = InodeHeader.size + 24

    func encode(into e: inout InodeEncoder) {
        precondition(index.count == Int(indexCount))
        header.encode(into: &e)
        e.u32(linkCount)
        e.u32(fileSize)
        e.directoryBlockStart(listingBlock)
        e.u32(parentInode)
        e.u16(indexCount)
        e.u16(listingOffset)
        e.u32(xattrIndex)
        for entry in index { entry.encode(into: &e) }
    }
}

/// A directory index entry (squashfs_dir_index), 12 bytes plus the name:
/// lets the kernel's lookup skip to the metadata block holding the header
/// whose first name is `name`.
struct DirectoryIndexEntry: InodeEncoding {
    /// u32: offset of that header within this directory's listing.
    var listingOffset: UInt32
    /// u32: stored start of the directory-table block holding that header,
    /// relative to the table's start (a fixup; held here as the block
    /// index).
    var block: Int
    /// The header's first name; stored as u32 length − 1, then the bytes
    /// (no terminator).
    var name: [UInt8]

    func encode(into e: inout InodeEncoder) {
        e.u32(listingOffset)
        e.directoryBlockStart(block)
        e.u32(UInt32(name.count - 1))
        e.append(name)
    }
}

/// A basic regular file (type 2, squashfs_reg_inode_header), 32 bytes plus
/// the block list: for files under 4 GiB whose blocks start below 4 GiB and
/// have no blocks stored sparse.
struct BasicFileInode: InodeEncoding {
    var header: InodeHeader
    /// u32: absolute position of the file's first data block; 0 for a
    /// file without full blocks.
    var blocksStart: UInt32
    /// u32: index of the fragment block holding the tail in the fragment
    /// table, or 0xFFFFFFFF when the file has no tail there.
    var fragmentIndex: UInt32
    /// u32: offset of the tail within the uncompressed fragment block.
    var fragmentOffset: UInt32
    /// u32: the file's size in bytes.
    var fileSize: UInt32
    /// u32 each, one per full block, in file order (the blocks are
    /// contiguous from `blocksStart`): the stored size, with bit 24 set
    /// when stored uncompressed; 0 for a block of zeros stored sparse,
    /// which takes no space. The tail is in the fragment.
    var blockSizes: [UInt32]

    func encode(into e: inout InodeEncoder) {
        header.encode(into: &e)
        e.u32(blocksStart)
        e.u32(fragmentIndex)
        e.u32(fragmentOffset)
        e.u32(fileSize)
        for s in blockSizes { e.u32(s) }
    }
}

/// An extended regular file (type 9, squashfs_lreg_inode_header), 56 bytes
/// plus the block list: for files of 4 GiB or more, blocks starting at or
/// beyond 4 GiB, or files with blocks stored sparse.
struct ExtendedFileInode: InodeEncoding {
    var header: InodeHeader
    /// u64: absolute position of the file's first data block; 0 for a
    /// file without full blocks.
    var blocksStart: UInt64
    /// u64: the file's size in bytes.
    var fileSize: UInt64
    /// u64: bytes of the file in blocks stored sparse (size word 0): their
    /// count times the block size.
    var sparse: UInt64
    /// u32: link count; 1 (hard links are never shared).
    var linkCount: UInt32
    /// u32: index of the fragment block holding the tail, or 0xFFFFFFFF.
    var fragmentIndex: UInt32
    /// u32: offset of the tail within the uncompressed fragment block.
    var fragmentOffset: UInt32
    /// u32: xattr index; `noXattrs`.
    var xattrIndex: UInt32
    /// u32 each, as in `BasicFileInode.blockSizes`.
    var blockSizes: [UInt32]

    static let fixedSize = InodeHeader.size + 40

    func encode(into e: inout InodeEncoder) {
        header.encode(into: &e)
        e.u64(blocksStart)
        e.u64(fileSize)
        e.u64(sparse)
        e.u32(linkCount)
        e.u32(fragmentIndex)
        e.u32(fragmentOffset)
        e.u32(xattrIndex)
        for s in blockSizes { e.u32(s) }
    }
}

/// A basic symbolic link (type 3, squashfs_symlink_inode_header), 24 bytes
/// plus the target.
struct SymlinkInode: InodeEncoding {
    var header: InodeHeader
    /// u32: link count; 1.
    var linkCount: UInt32
    /// u32: the target's length in bytes.
    var targetSize: UInt32
    /// The target's bytes, with no terminator.
    var target: [UInt8]

    static let fixedSize = InodeHeader.size + 8

    func encode(into e: inout InodeEncoder) {
        precondition(target.count == Int(targetSize))
        header.encode(into: &e)
        e.u32(linkCount)
        e.u32(targetSize)
        e.append(target)
    }
}

/// A basic block or character device (types 4 and 5,
/// squashfs_dev_inode_header), 24 bytes.
struct DeviceInode: InodeEncoding {
    var header: InodeHeader
    /// u32: link count; 1.
    var linkCount: UInt32
    /// u32: the device number, as `encodeDevice` packs it.
    var device: UInt32

    static let size = InodeHeader.size + 8

    /// The kernel's new_encode_dev layout, which squashfs reads back with
    /// new_decode_dev: minor bits 0-7, then major bits 0-11, then minor
    /// bits 8-19.
    static func encodeDevice(major: UInt32, minor: UInt32) -> UInt32 {
        (minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12)
    }

    func encode(into e: inout InodeEncoder) {
        header.encode(into: &e)
        e.u32(linkCount)
        e.u32(device)
    }
}

/// A basic fifo or socket (types 6 and 7, squashfs_ipc_inode_header), 20
/// bytes.
struct IPCInode: InodeEncoding {
    var header: InodeHeader
    /// u32: link count; 1.
    var linkCount: UInt32

    static let size = InodeHeader.size + 4

    func encode(into e: inout InodeEncoder) {
        header.encode(into: &e)
        e.u32(linkCount)
    }
}
