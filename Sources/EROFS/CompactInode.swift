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

    func encode() -> [UInt8] {
        var b = LittleEndian(capacity: CompactInode.size)
        b.u16(record.layout.rawValue << 1)
        b.u16(0)
        b.u16(record.mode)
        b.u16(UInt16(record.nlink))
        b.u32(UInt32(record.size))
        b.u32(0)
        b.u32(record.union)
        b.u32(record.ino)
        b.u16(0)
        b.u16(0)
        b.u32(0)
        return b.bytes
    }
}
