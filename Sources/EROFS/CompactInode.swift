/// The 32-byte compact inode (i_format version bit 0).
///
/// i_format u16, i_xattr_icount u16, i_mode u16, i_nlink u16, i_size u32,
/// i_reserved u32, i_u u32, i_ino u32, i_uid u16, i_gid u16, i_reserved2
/// u32. It has no time: the reader takes the superblock's build time.
struct CompactInode {
    static let size = 32
    let record: InodeRecord

    init(_ record: InodeRecord) {
        precondition(!record.needsExtended)
        self.record = record
    }

    /// The compact inode's fields (the reader's `StoredInode` reads the
    /// same table); the first three are the extended inode's too.
    enum Fields {
        static let format = Field<UInt16>(0)
        static let xattrCount = Field<UInt16>(2)
        static let mode = Field<UInt16>(4)
        static let linkCount = Field<UInt16>(6)
        static let size = Field<UInt32>(8)
        /// Seconds after the superblock's epoch (erofs-utils 1.8 on; 0 here).
        static let mtime = Field<UInt32>(12)
        static let union = Field<UInt32>(16)
        static let ino = Field<UInt32>(20)
        static let uid = Field<UInt16>(24)
        static let gid = Field<UInt16>(26)
    }

    func encode() -> [UInt8] {
        var b = FieldRecord(size: CompactInode.size)
        b[Fields.format] = record.layout.rawValue << 1
        b[Fields.mode] = record.mode
        b[Fields.linkCount] = UInt16(record.nlink)
        b[Fields.size] = UInt32(record.size)
        b[Fields.union] = record.union
        b[Fields.ino] = record.ino
        return b.bytes
    }
}
