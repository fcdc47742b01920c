/// The erofs superblock: 128 bytes at byte 1024 of block 0, little-endian.
///
/// magic 0xE0F5E1E2; checksum (unused: feature_compat lacks SB_CHKSUM);
/// feature_compat; blkszbits = 12; sb_extslots = 0; root_nid (u16, so the
/// root inode lies in the first 2 MiB of the metadata area); inos; build
/// time (s, ns: the time of every compact inode); blocks (the image's
/// size in blocks); meta_blkaddr (first block of the metadata area);
/// xattr_blkaddr; uuid; volume name; feature_incompat; a u16 that is the
/// compression algorithm bitmap when COMPR_CFGS is set and LZ4's maximum
/// distance (0: 64 KiB) otherwise; extra_devices; devt_slotoff; dirblkbits
/// (0: directory blocks are file system blocks); then reserved zeros.
struct Superblock {
    static let magic: UInt32 = 0xE0F5_E1E2
    static let size = 128

    var rootNid: UInt16
    var inodeCount: UInt64
    var buildTime: UInt64
    var blocks: UInt32
    var metaBlockAddress: UInt32
    var uuid: [UInt8]
    var incompatible: IncompatibleFeatures
    /// The compression algorithm bitmap (with `.compressionConfigs`) or
    /// LZ4's maximum distance (without).
    var compressionField: UInt16

    func encode() -> [UInt8] {
        precondition(uuid.count == 16)
        var b = LittleEndian(capacity: Superblock.size)
        b.u32(Superblock.magic)
        b.u32(0)                       // checksum
        b.u32(0)                       // feature_compat
        b.u8(UInt8(Geometry.blockBits))
        b.u8(0)                        // sb_extslots
        b.u16(rootNid)
        b.u64(inodeCount)
        b.u64(buildTime)
        b.u32(0)                       // build_time_nsec
        b.u32(blocks)
        b.u32(metaBlockAddress)
        b.u32(0)                       // xattr_blkaddr
        b.append(uuid)
        b.zeros(16)                    // volume_name
        b.u32(incompatible.rawValue)
        b.u16(compressionField)
        b.u16(0)                       // extra_devices
        b.u16(0)                       // devt_slotoff
        b.u8(0)                        // dirblkbits
        b.zeros(Superblock.size - b.bytes.count)
        return b.bytes
    }
}

/// feature_incompat bits this writer sets. A kernel refuses to mount an
/// image with a bit it does not know.
struct IncompatibleFeatures: OptionSet {
    let rawValue: UInt32
    /// Compressed data is right-aligned in its physical cluster, zeros
    /// before it (the reader skips them to find the compressed length).
    static let zeroPadding = IncompatibleFeatures(rawValue: 0x01)
    /// Per-algorithm configuration records follow the superblock.
    static let compressionConfigs = IncompatibleFeatures(rawValue: 0x02)
    /// Physical clusters of more than one block (the same bit: big
    /// pclusters came with the configuration records).
    static let bigPcluster = IncompatibleFeatures(rawValue: 0x02)
    /// A compressed file's last pcluster may be inline after its index.
    static let ztailpacking = IncompatibleFeatures(rawValue: 0x10)
}
