/// What an on-disk inode says, before it is encoded compact or extended.
///
/// i_format = version bit (0 compact, 1 extended) | data layout << 1.
/// `union` is i_u: raw_blkaddr for flat data, the compressed block count
/// for compressed data, the device number for devices. No inline xattrs
/// (i_xattr_icount 0), owner 0:0, every time the build time.
struct InodeRecord {
    var layout: DataLayout
    /// i_mode: the file type bits and the permission bits.
    var mode: UInt16
    var nlink: UInt32
    var size: UInt64
    var union: UInt32
    /// i_ino, for 32-bit stat(2) only; the nid is the real identity.
    var ino: UInt32

    /// A compact inode cannot hold a size of 4 GiB or more nor more than
    /// 65535 links; then the extended one is needed.
    var needsExtended: Bool { size > UInt64(UInt32.max) || nlink > UInt32(UInt16.max) }
    var encodedSize: Int { needsExtended ? ExtendedInode.size : CompactInode.size }

    func encode(mtime: UInt64) -> [UInt8] {
        needsExtended ? ExtendedInode(self, mtime: mtime).encode() : CompactInode(self).encode()
    }
}
