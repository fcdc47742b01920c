/// The per-algorithm configuration records that follow the superblock
/// when feature_incompat has COMPR_CFGS: for each bit of the algorithm
/// bitmap from the lowest, at the next 4-byte boundary from byte 1152, a
/// u16 length and the record. LZMA's (14 bytes): dict_size u32 (at most
/// 8 MiB), format u16 (0), 8 reserved bytes.
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
}
