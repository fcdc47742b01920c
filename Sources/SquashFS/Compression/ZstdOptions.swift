// zstd's -X option, as squashfs-tools' zstd_wrapper.c takes it:
// -Xcompression-level 1..ZSTD_maxCLevel() (22), default 15.

extension ZstdCompressor {
    static func parse(_ words: ArraySlice<String>) throws(SquashFSError) -> ZstdCompressor {
        var level = defaultLevel
        try CompressorOption.walk(words, of: "zstd", [
            .integer("-Xcompression-level", 1...maxLevel, default: defaultLevel) { level = $0 },
        ])
        return ZstdCompressor(level: level)
    }
}
