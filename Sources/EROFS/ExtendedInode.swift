/// The 64-byte extended inode (i_format version bit 1).
///
/// i_format u16, i_xattr_icount u16, i_mode u16, i_reserved u16, i_size
/// u64, i_u u32, i_ino u32, i_uid u32, i_gid u32, i_mtime u64,
/// i_mtime_nsec u32, i_nlink u32, 16 reserved bytes.
struct ExtendedInode {
    static let size = 64
    let record: InodeRecord
    let mtime: UInt64

    init(_ record: InodeRecord, mtime: UInt64) {
        self.record = record
        self.mtime = mtime
    }

    /// The extended inode's fields (the reader's `StoredInode` reads the
    /// same table).
    enum Fields {
        static let format = CompactInode.Fields.format
        static let xattrCount = CompactInode.Fields.xattrCount
        static let mode = CompactInode.Fields.mode
        static let size = Field<UInt64>(8)
        static let union = Field<UInt32>(16)
        static let ino = Field<UInt32>(20)
        static let uid = Field<UInt32>(24)
        static let gid = Field<UInt32>(28)
        static let mtime = Field<UInt64>(32)
        static let mtimeNanoseconds = Field<UInt32>(40)
        static let linkCount = Field<UInt32>(44)
    }

    func encode() -> [UInt8] {
        var b = FieldRecord(size: ExtendedInode.size)
        b[Fields.format] = 1 | record.layout.rawValue << 1
        b[Fields.mode] = record.mode
        b[Fields.size] = record.size
        b[Fields.union] = record.union
        b[Fields.ino] = record.ino
        b[Fields.mtime] = mtime
        b[Fields.linkCount] = record.nlink
        return b.bytes
    }
}
