// lz4's -X option, as squashfs-tools' lz4_wrapper.c takes it: -Xhc.

extension LZ4Compressor {
    static func parse(_ words: ArraySlice<String>) throws(SquashFSError) -> LZ4Compressor {
        var hc = false
        try CompressorOption.walk(words, of: "lz4", [
            .flag("-Xhc", "high compression") { hc = true },
        ])
        return LZ4Compressor(highCompression: hc)
    }
}
