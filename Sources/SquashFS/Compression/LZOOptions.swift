// lzo's -X options, as squashfs-tools' lzo_wrapper.c takes them:
// -Xalgorithm (lzo1x_1, lzo1x_1_11, lzo1x_1_12, lzo1x_1_15 or lzo1x_999,
// the default) and -Xcompression-level 1..9 (default 8). A later one of
// each replaces an earlier one. The level applies to lzo1x_999 only; like
// mksquashfs (lzo_options_post), a level with another algorithm is an
// error in whichever order the two come.

extension LZOCompressor {
    static func parse(_ words: ArraySlice<String>) throws(SquashFSError) -> LZOCompressor {
        var algorithm = defaultAlgorithm
        var level: Int? = nil
        try CompressorOption.walk(words, of: "lzo", [
            .choice("-Xalgorithm", item: "algorithm", default: defaultAlgorithm) { algorithm = $0 },
            .integer("-Xcompression-level", 1...9, default: defaultLevel, note: "; lzo1x_999 only") { level = $0 },
        ])
        if let level, algorithm != .lzo1x_999 {
            throw .invalidSetting("-Xcompression-level \(level) applies to lzo1x_999 only, not to -Xalgorithm \(algorithm.rawValue); drop the level or use lzo1x_999")
        }
        return LZOCompressor(algorithm: algorithm, level: level)
    }
}
