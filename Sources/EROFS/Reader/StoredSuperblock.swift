import ImageReading

/// The superblock, read: 128 bytes at byte 1024 (plus `sb_extslots` × 16
/// bytes), little-endian: magic 0xE0F5E1E2, checksum, feature_compat,
/// blkszbits, sb_extslots, root_nid (u16), inos (u64), epoch (u64: the
/// base of compact inodes' times; "build_time" before erofs-utils 1.8),
/// fixed_nsec, blocks, meta_blkaddr, xattr_blkaddr, uuid[16],
/// volume_name[16], feature_incompat, a u16 (the compression algorithm
/// bitmap with COMPR_CFGS, LZ4's maximum distance without), extra_devices,
/// devt_slotoff, dirblkbits, xattr_prefix_count, xattr_prefix_start,
/// packed_nid (u64: the inode holding fragments), then reserved bytes.
///
/// Checked before anything else is read: the magic; a block size of 512
/// bytes to 64 KiB; no feature_incompat bit this reader does not know
/// (the kernel refuses those too) and none of those it knows but does not
/// read (48-bit layouts, the metabox); no extra devices and no
/// directory blocks other than file system blocks; the superblock and the
/// metadata area's start inside the image, and the image at least
/// `blocks` blocks long.
struct StoredSuperblock {
    static let offset: UInt64 = 1024
    static let magic = Superblock.magic
    static let place = "superblock"

    var blockBits: Int
    var extraSlots: Int
    var compatible: UInt32
    var incompatible: IncompatibleFeatures
    var rootNid: UInt64
    var inodeCount: UInt64
    var epoch: UInt64
    var blocks: UInt32
    var metaBlockAddress: UInt32
    var uuid: [UInt8]
    var volumeName: [UInt8]
    var compressionField: UInt16
    var packedNid: UInt64?

    var blockSize: Int { 1 << blockBits }
    /// The superblock's length, extension slots included.
    var size: Int { 128 + 16 * extraSlots }
    /// The byte where nid 0 lies.
    var metaStart: UInt64 { UInt64(metaBlockAddress) << UInt64(blockBits) }

    static func read(_ range: ImageRange) throws(EROFSError) -> StoredSuperblock {
        let head = try range.record(Superblock.size, at: offset, place: "\(place) (the image is \(range.length) bytes)")
        typealias F = Superblock.Fields
        let r = StoredRecord(head)
        guard r[F.magic] == magic else {
            throw .badImage(place, "no erofs magic 0xE0F5E1E2 at byte 1024; not an erofs image")
        }
        let bits = Int(r[F.blockBits])
        guard (9...16).contains(bits) else {
            throw .badImage(place, "blkszbits \(bits): the block size must be 512 bytes to 64 KiB (9...16)")
        }
        let sb = StoredSuperblock(
            blockBits: bits, extraSlots: Int(r[F.extraSlots]), compatible: r[F.compatible],
            incompatible: IncompatibleFeatures(rawValue: r[F.incompatible]), rootNid: UInt64(r[F.rootNid]),
            inodeCount: r[F.inodeCount], epoch: r[F.epoch], blocks: r[F.blocks], metaBlockAddress: r[F.metaBlockAddress],
            uuid: Array(head[F.uuid..<F.uuid + 16]), volumeName: Array(head[F.volumeName..<F.volumeName + 16]),
            compressionField: r[F.compression], packedNid: nil)
        try sb.checkFeatures(extraDevices: r[F.extraDevices], dirBlockBits: r[F.dirBlockBits])
        var checked = sb
        if sb.incompatible.contains(.fragments), r[F.packedNid] != 0 { checked.packedNid = r[F.packedNid] }
        try checked.checkLayout(range)
        return checked
    }

    private func checkFeatures(extraDevices: UInt16, dirBlockBits: UInt8) throws(EROFSError) {
        let unknown = incompatible.rawValue & ~IncompatibleFeatures.known.rawValue
        guard unknown == 0 else {
            throw .unsupported(Self.place, "unknown incompatible features 0x\(String(unknown, radix: 16)) (feature_incompat 0x\(String(incompatible.rawValue, radix: 16))); a newer erofs, not read here")
        }
        let unread = incompatible.intersection(IncompatibleFeatures.unread)
        guard unread.isEmpty else {
            throw .unsupported(Self.place, "the features \(unread.names.joined(separator: ", ")) are not read; make the image without them")
        }
        guard extraDevices == 0 else {
            throw .unsupported(Self.place, "\(extraDevices) extra devices; only single-device images are read")
        }
        guard dirBlockBits == 0 else {
            throw .unsupported(Self.place, "dirblkbits \(dirBlockBits); only directory blocks of the file system's block size are read")
        }
    }

    private func checkLayout(_ range: ImageRange) throws(EROFSError) {
        guard range.contains(Self.offset, count: UInt64(size)) else {
            throw .badImage(Self.place, "\(size) bytes of superblock (\(extraSlots) extension slots) run past the image's end")
        }
        let length = range.length
        guard UInt64(blocks) <= length >> UInt64(blockBits) else {
            throw .badImage(Self.place, "\(blocks) blocks of \(blockSize) bytes, but the image holds \(length) bytes; it is truncated")
        }
        guard metaStart < length else {
            throw .badImage(Self.place, "the metadata area starts at block \(metaBlockAddress), past the image's end")
        }
    }
}
