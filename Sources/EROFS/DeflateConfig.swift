/// The deflate configuration record in the superblock's configuration
/// area (see `CompressionConfig` for where it goes), 6 bytes after its
/// u16 length: windowbits u8, the log2 of the largest match distance the
/// streams use (8...15; the kernel refuses more than 15 and inflates every
/// cluster with a 32 KiB window whatever the record says), then 5
/// reserved zero bytes. Each pcluster is one raw deflate stream (RFC 1951,
/// no zlib header or checksum) that ends with a final block.
struct DeflateConfig {
    /// zlib's largest window, the one `DeflateClusterEncoder` uses.
    static let windowBits: UInt8 = 15

    var windowBits = DeflateConfig.windowBits

    /// The record's fields after its length (the reader's
    /// `StoredCompressionConfigs` reads the same table), and its length.
    enum Fields {
        static let windowBits = Field<UInt8>(0)
        static let size = 6
    }

    func encode() -> [UInt8] {
        var b = FieldRecord(size: 2 + Fields.size)
        b[CompressionConfig.length] = UInt16(Fields.size)
        b[Fields.windowBits, at: 2] = windowBits
        return b.bytes
    }
}
