/// The fixed geometry of every image this module writes.
///
/// Blocks are 4 KiB on every machine (mkfs.erofs defaults to the page size,
/// so the same command gives another image on a 64 KiB-page machine; the
/// kernel mounts 4 KiB-block images on any page size). Inode slots are 32
/// bytes: a node id (nid) is the byte offset of an inode from the start of
/// the metadata area divided by 32.
enum Geometry {
    static let blockBits = 12
    static let blockSize = 1 << blockBits
    static let slotSize = 32
    /// The superblock's offset in block 0 (room for boot sectors before it).
    static let superblockOffset = 1024

    static func blocks(_ bytes: UInt64) -> UInt64 { (bytes + UInt64(blockSize) - 1) >> UInt64(blockBits) }
}
