/// The per-algorithm configuration records that follow the superblock
/// when feature_incompat has COMPR_CFGS: for each bit of the algorithm
/// bitmap from the lowest, at the next 4-byte boundary from byte 1152, a
/// u16 length and the record. LZMA's (14 bytes): dict_size u32 (at most
/// 8 MiB), format u16 (0), 8 reserved bytes. LZ4's (14 bytes):
/// max_distance u16 (0: 64 KiB), max_pclusterblks u16 (the largest
/// pcluster in blocks, which the reader sizes its buffers by), 10
/// reserved bytes; needed when an lz4 image has pclusters of more than
/// one block.
enum CompressionConfig {
    static let offset = Geometry.superblockOffset + Superblock.size

    static func lzma(dictionarySize: UInt32) -> [UInt8] {
        var b = LittleEndian(capacity: 16)
        b.u16(14)
        b.u32(dictionarySize)
        b.u16(0)
        b.zeros(8)
        return b.bytes
    }

    static func lz4(maxPclusterBlocks: UInt16) -> [UInt8] {
        var b = LittleEndian(capacity: 16)
        b.u16(14)
        b.u16(0)
        b.u16(maxPclusterBlocks)
        b.zeros(10)
        return b.bytes
    }
}
