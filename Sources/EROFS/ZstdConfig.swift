/// The zstd configuration record in the superblock's configuration area
/// (see `CompressionConfig` for where it goes), 6 bytes after its u16
/// length: format u8 (0, the only one: each pcluster is one zstd frame,
/// RFC 8878), windowlog u8 = log2(window) - 10, then 4 reserved zero
/// bytes. The kernel sizes its decoders' buffers by this window and
/// refuses more than 1 MiB (windowlog 10), and a frame that declares a
/// larger window than the record fails to decode.
struct ZstdConfig {
    /// log2 of the window the frames declare, 10...20.
    var windowLog: Int

    /// The window for pclusters of `pclusterSize` bytes, as mkfs.erofs
    /// picks it: eight pclusters, rounded down to a power of two, at most
    /// 1 MiB (Z_EROFS_ZSTD_MAX_DICT_SIZE, the kernel's largest pcluster).
    /// A window only bounds how far back a match reaches inside one
    /// extent; it costs the kernel memory per decoder, not the writer.
    init(pclusterSize: Int) {
        let eight = min(8 * pclusterSize, Segment.maxPcluster)
        windowLog = max(10, Int.bitWidth - 1 - eight.leadingZeroBitCount)
    }

    /// The record's fields after its length (the reader's
    /// `StoredCompressionConfigs` reads the same table), and its length.
    enum Fields {
        static let format = Field<UInt8>(0)
        static let windowLog = Field<UInt8>(1)
        static let size = 6
    }

    func encode() -> [UInt8] {
        var b = FieldRecord(size: 2 + Fields.size)
        b[CompressionConfig.length] = UInt16(Fields.size)
        b[Fields.windowLog, at: 2] = UInt8(windowLog - 10)
        return b.bytes
    }
}
