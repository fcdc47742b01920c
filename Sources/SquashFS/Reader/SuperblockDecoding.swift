/// Reading the 96-byte superblock (the rule is stated on `Superblock`).
///
/// Checked before anything else is read: the magic, version 4.0, a block
/// size that is a power of two from 4 KiB to 1 MiB and agrees with
/// block_log, a known compressor, bytes_used inside the image, every
/// present table starting after the superblock and before bytes_used, the
/// inode table before the directory table and every other table after
/// it (so none overlaps them), and a root inode reference
/// inside the inode table. Counts are checked where the tables are read.
extension Superblock {
    static func decode(_ bytes: [UInt8], imageLength: UInt64) throws(SquashFSError) -> Superblock {
        let place = "superblock"
        var r = LittleEndianReader(bytes, place: place)
        guard try r.u32() == magic else {
            throw .badImage(place, "no squashfs magic \"hsqs\" at byte 0; not a squashfs image")
        }
        let inodeCount = try r.u32(), mtime = try r.u32(), blockSize = try r.u32(), fragments = try r.u32()
        let compressorRaw = try r.u16(), blockLog = try r.u16(), flags = try r.u16(), idCount = try r.u16()
        let major = try r.u16(), minor = try r.u16()
        guard major == 4, minor == 0 else {
            throw SquashFSError("\(place): squashfs version \(major).\(minor); only 4.0 is read", kind: .unsupportedImage)
        }
        guard blockSize >= 4096, blockSize <= 1 << 20, blockSize.nonzeroBitCount == 1,
              UInt32(blockLog) == UInt32(blockSize.trailingZeroBitCount) else {
            throw .badImage(place, "block size \(blockSize) with block_log \(blockLog): not a power of two from 4096 to 1048576 that matches")
        }
        guard let compressor = CompressorID(rawValue: compressorRaw) else {
            throw .badImage(place, "compressor id \(compressorRaw) is none of gzip (1), lzma (2), lzo (3), xz (4), lz4 (5), zstd (6)")
        }
        guard compressor != .lzma else {
            throw SquashFSError("\(place): the lzma compressor (id 2, squashfs 4.0's legacy one) is not read; repack with xz", kind: .unsupportedImage)
        }
        let sb = Superblock(
            inodeCount: inodeCount, modificationTime: mtime, blockSize: blockSize, fragmentCount: fragments,
            compressor: compressor, flags: Flags(rawValue: flags), idCount: idCount,
            rootInode: try r.u64(), bytesUsed: try r.u64(), idTableStart: try r.u64(),
            xattrTableStart: try r.u64(), inodeTableStart: try r.u64(), directoryTableStart: try r.u64(),
            fragmentTableStart: try r.u64(), exportTableStart: try r.u64())
        try sb.checkLayout(imageLength: imageLength)
        return sb
    }

    /// The table starts, in the order of the fields, with their names.
    var tableStarts: [(name: String, start: UInt64)] {
        [("id table", idTableStart), ("xattr table", xattrTableStart), ("inode table", inodeTableStart),
         ("directory table", directoryTableStart), ("fragment table", fragmentTableStart),
         ("export table", exportTableStart)]
    }

    private func checkLayout(imageLength: UInt64) throws(SquashFSError) {
        let place = "superblock"
        guard bytesUsed >= UInt64(Superblock.size), bytesUsed <= imageLength else {
            throw .badImage(place, "bytes_used \(bytesUsed) is outside the image's \(imageLength) bytes; the image is truncated or damaged")
        }
        let required: Set<String> = ["id table", "inode table", "directory table"]
        for (name, start) in tableStarts where start != Superblock.absent || required.contains(name) {
            guard start >= UInt64(Superblock.size), start < bytesUsed else {
                throw .badImage(place, "the \(name) starts at byte \(start), outside bytes 96..<\(bytesUsed)")
            }
        }
        guard inodeTableStart < directoryTableStart else {
            throw .badImage(place, "the inode table (byte \(inodeTableStart)) does not start before the directory table (byte \(directoryTableStart))")
        }
        // The inode table ends where the directory table starts, and every
        // indexed table follows both (each writer lays them out so), so no
        // table can overlap the inode or directory table.
        for (name, start) in tableStarts where start != Superblock.absent && !name.hasPrefix("inode") && !name.hasPrefix("directory") {
            guard start > directoryTableStart else {
                throw .badImage(place, "the \(name) starts at byte \(start), not after the directory table (byte \(directoryTableStart)); tables overlap")
            }
        }
        guard inodeCount >= 1, idCount >= 1 else {
            throw .badImage(place, "\(inodeCount) inodes and \(idCount) ids; an image has at least one of each")
        }
        let rootBlock = rootInode >> 16, rootOffset = rootInode & 0xFFFF
        guard rootBlock < directoryTableStart - inodeTableStart, rootOffset < 8192, rootInode >> 48 == 0 else {
            throw .badImage(place, "the root inode reference \(rootInode) (block \(rootBlock), offset \(rootOffset)) lies outside the inode table")
        }
    }
}
