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
/// (0: directory blocks are file system blocks); xattr_prefix_count and
/// xattr_prefix_start (0); packed_nid (u64 at byte 96: with FRAGMENTS,
/// the packed inode, `FragmentPacker`; never 0 then, which means none);
/// then reserved zeros.
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
    /// The packed inode's nid (0: none).
    var packedNid: UInt64 = 0

    /// The superblock's fields (the reader's `StoredSuperblock` reads the
    /// same table).
    enum Fields {
        static let magic = Field<UInt32>(0)
        static let checksum = Field<UInt32>(4)
        static let compatible = Field<UInt32>(8)
        static let blockBits = Field<UInt8>(12)
        static let extraSlots = Field<UInt8>(13)
        static let rootNid = Field<UInt16>(14)
        static let inodeCount = Field<UInt64>(16)
        /// The base of compact inodes' times ("build_time" before
        /// erofs-utils 1.8, "epoch" since).
        static let epoch = Field<UInt64>(24)
        static let epochNanoseconds = Field<UInt32>(32)
        static let blocks = Field<UInt32>(36)
        static let metaBlockAddress = Field<UInt32>(40)
        static let xattrBlockAddress = Field<UInt32>(44)
        /// Where the 16 bytes of each lie.
        static let uuid = 48, volumeName = 64
        static let incompatible = Field<UInt32>(80)
        static let compression = Field<UInt16>(84)
        static let extraDevices = Field<UInt16>(86)
        static let deviceTableOffset = Field<UInt16>(88)
        static let dirBlockBits = Field<UInt8>(90)
        static let packedNid = Field<UInt64>(96)
    }

    func encode() -> [UInt8] {
        precondition(uuid.count == 16)
        var b = FieldRecord(size: Superblock.size)
        b[Fields.magic] = Superblock.magic
        b[Fields.blockBits] = UInt8(Geometry.blockBits)
        b[Fields.rootNid] = rootNid
        b[Fields.inodeCount] = inodeCount
        b[Fields.epoch] = buildTime
        b[Fields.blocks] = blocks
        b[Fields.metaBlockAddress] = metaBlockAddress
        b.put(uuid, at: Fields.uuid)
        b[Fields.incompatible] = incompatible.rawValue
        b[Fields.compression] = compressionField
        b[Fields.packedNid] = packedNid
        return b.bytes
    }
}
