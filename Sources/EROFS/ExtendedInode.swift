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

    func encode() -> [UInt8] {
        var b = LittleEndian(capacity: ExtendedInode.size)
        b.u16(1 | record.layout.rawValue << 1)
        b.u16(0)
        b.u16(record.mode)
        b.u16(0)
        b.u64(record.size)
        b.u32(record.union)
        b.u32(record.ino)
        b.u32(0)
        b.u32(0)
        b.u64(mtime)
        b.u32(0)
        b.u32(record.nlink)
        b.zeros(16)
        return b.bytes
    }
}
