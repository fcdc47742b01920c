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

    /// Each record's fields, from the byte after its length (the reader's
    /// `StoredCompressionConfigs` reads the same table).
    static let length = Field<UInt16>(0)
    enum LZ4 {
        static let maxDistance = Field<UInt16>(0)
        static let maxPclusterBlocks = Field<UInt16>(2)
    }
    enum LZMA {
        static let dictionarySize = Field<UInt32>(0)
        static let format = Field<UInt16>(4)
    }
    /// (deflate's and zstd's are `DeflateConfig.Fields`, `ZstdConfig.Fields`.)

    /// The length of the records this writer makes.
    static let recordSize = 14

    static func lzma(dictionarySize: UInt32) -> [UInt8] {
        var b = FieldRecord(size: 2 + recordSize)
        b[length] = UInt16(recordSize)
        b[LZMA.dictionarySize, at: 2] = dictionarySize
        return b.bytes
    }

    static func lz4(maxPclusterBlocks: UInt16) -> [UInt8] {
        var b = FieldRecord(size: 2 + recordSize)
        b[length] = UInt16(recordSize)
        b[LZ4.maxPclusterBlocks, at: 2] = maxPclusterBlocks
        return b.bytes
    }
}
