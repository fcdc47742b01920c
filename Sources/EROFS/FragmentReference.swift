/// The map header of a file stored whole in the packed inode (a whole-file
/// fragment): the compressed layout with full indexes (data layout 1, as
/// mkfs.erofs writes it), i_u (compressed blocks) 0, and in place of the
/// 8-byte `MapHeader` one little-endian u64 whose top bit (bit 7 of
/// h_clusterbits, Z_EROFS_FRAGMENT_INODE_BIT) is set and whose other 63
/// bits are the offset of the file's bytes in the packed inode. No index
/// follows: the reader maps every byte of the file to `offset + position`
/// of the packed inode (Linux 6.1's z_erofs_fill_inode_lazy).
struct FragmentReference {
    static let size = 8
    static let wholeFileBit: UInt64 = 1 << 63

    var offset: UInt64

    func encode() -> [UInt8] {
        precondition(offset < FragmentReference.wholeFileBit)
        var b = FieldRecord(size: FragmentReference.size)
        b[MapHeader.Fields.word] = offset | FragmentReference.wholeFileBit
        return b.bytes
    }
}
