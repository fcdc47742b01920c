/// The 96-byte squashfs 4.0 superblock at offset 0.
///
/// On-disk rule: magic "hsqs", version 4.0, block_log = log2(block_size),
/// every table start is an absolute byte offset, absent tables (xattrs here)
/// are 0xFFFF_FFFF_FFFF_FFFF, and bytes_used is the image length before the
/// padding to a 4 KiB multiple. Flags describe the image honestly: data is
/// deduplicated, the export table is present, there are no xattrs, tails of
/// large files live in fragments, and the options block follows if present.
struct Superblock {
    static let size = 96
    static let magic: UInt32 = 0x7371_7368
    static let absent: UInt64 = 0xFFFF_FFFF_FFFF_FFFF

    struct Flags: OptionSet {
        let rawValue: UInt16
        static let uncompressedInodes = Flags(rawValue: 0x0001)
        static let uncompressedData = Flags(rawValue: 0x0002)
        static let uncompressedFragments = Flags(rawValue: 0x0008)
        static let noFragments = Flags(rawValue: 0x0010)
        static let alwaysFragments = Flags(rawValue: 0x0020)
        static let duplicates = Flags(rawValue: 0x0040)
        static let exportable = Flags(rawValue: 0x0080)
        static let uncompressedXattrs = Flags(rawValue: 0x0100)
        static let noXattrs = Flags(rawValue: 0x0200)
        static let compressorOptions = Flags(rawValue: 0x0400)
        static let uncompressedIds = Flags(rawValue: 0x0800)
    }

    var inodeCount: UInt32
    var modificationTime: UInt32
    var blockSize: UInt32
    var fragmentCount: UInt32
    var compressor: CompressorID
    var flags: Flags
    var idCount: UInt16
    var rootInode: UInt64
    var bytesUsed: UInt64
    var idTableStart: UInt64
    var xattrTableStart: UInt64 = Superblock.absent
    var inodeTableStart: UInt64
    var directoryTableStart: UInt64
    var fragmentTableStart: UInt64
    var exportTableStart: UInt64

    var blockLog: UInt16 {
        UInt16(blockSize.trailingZeroBitCount)
    }

    func encode() -> [UInt8] {
        var b = ByteBuffer(capacity: Superblock.size)
        b.u32(Superblock.magic)
        b.u32(inodeCount)
        b.u32(modificationTime)
        b.u32(blockSize)
        b.u32(fragmentCount)
        b.u16(compressor.rawValue)
        b.u16(blockLog)
        b.u16(flags.rawValue)
        b.u16(idCount)
        b.u16(4)  // version major
        b.u16(0)  // version minor
        b.u64(rootInode)
        b.u64(bytesUsed)
        b.u64(idTableStart)
        b.u64(xattrTableStart)
        b.u64(inodeTableStart)
        b.u64(directoryTableStart)
        b.u64(fragmentTableStart)
        b.u64(exportTableStart)
        assert(b.count == Superblock.size)
        return b.bytes
    }
}
