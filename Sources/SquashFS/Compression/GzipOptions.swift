// gzip's -X options, as squashfs-tools' gzip_wrapper.c takes them:
// -Xcompression-level 1..9 (default 9), -Xwindow-size 8..15 (default 15),
// -Xstrategy with a comma-separated list, repeatable (the lists add up).

extension GzipCompressor {
    static func parse(_ words: ArraySlice<String>) throws(SquashFSError) -> GzipCompressor {
        var level = defaultLevel
        var window = defaultWindowSize
        var strategies: Set<Strategy> = []
        try CompressorOption.walk(words, of: "gzip", [
            .integer("-Xcompression-level", 1...9, default: defaultLevel) { level = $0 },
            .integer("-Xwindow-size", 8...15, default: defaultWindowSize) { window = $0 },
            .list("-Xstrategy", item: "strategy", of: Strategy.self) { strategies.insert($0) },
        ])
        return GzipCompressor(level: level, windowSize: window, strategies: strategies)
    }
}
