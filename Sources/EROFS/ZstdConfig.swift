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

    func encode() -> [UInt8] {
        var b = LittleEndian(capacity: 8)
        b.u16(6)
        b.u8(0)
        b.u8(UInt8(windowLog - 10))
        b.zeros(4)
        return b.bytes
    }
}
