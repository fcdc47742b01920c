// gzip's -X options, as squashfs-tools' gzip_wrapper.c takes them:
// -Xcompression-level 1..9 (default 9), -Xwindow-size 8..15 (default 15),
// -Xstrategy with a comma-separated list, repeatable (the lists add up).

extension GzipCompressor {
    static func parse(_ cursor: inout OptionCursor) throws(SquashFSError) -> GzipCompressor {
        let strategyNames = Strategy.allCases.map(\.rawValue).joined(separator: ", ")
        let strategyForm = "-Xstrategy STRATEGY[,STRATEGY...] (\(strategyNames))"
        let forms = "-Xcompression-level N (1..9, default 9), -Xwindow-size N (8..15, default 15), \(strategyForm)"
        var level = defaultLevel
        var window = defaultWindowSize
        var strategies: Set<Strategy> = []
        while let option = try cursor.nextOption(forms: forms) {
            switch option {
            case "-Xcompression-level":
                let value = try cursor.value(for: option, form: "-Xcompression-level N (1..9)")
                level = try cursor.integer(value, option: option, range: 1...9)
            case "-Xwindow-size":
                let value = try cursor.value(for: option, form: "-Xwindow-size N (8..15)")
                window = try cursor.integer(value, option: option, range: 8...15)
            case "-Xstrategy":
                let value = try cursor.value(for: option, form: strategyForm)
                for item in try cursor.commaList(value, option: option) {
                    guard let strategy = Strategy(rawValue: item) else {
                        throw cursor.fail("unknown strategy \"\(item)\" in -Xstrategy; accepted: \(strategyNames) (comma-separated)")
                    }
                    strategies.insert(strategy)
                }
            default:
                throw cursor.unknown(option, forms: forms)
            }
        }
        return GzipCompressor(level: level, windowSize: window, strategies: strategies)
    }
}
