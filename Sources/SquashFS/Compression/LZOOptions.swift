// lzo's -X options, as squashfs-tools' lzo_wrapper.c takes them:
// -Xalgorithm (lzo1x_1, lzo1x_1_11, lzo1x_1_12, lzo1x_1_15 or lzo1x_999,
// the default) and -Xcompression-level 1..9 (default 8). A later one of
// each replaces an earlier one. The level applies to lzo1x_999 only; like
// mksquashfs (lzo_options_post), a level with another algorithm is an
// error in whichever order the two come.

extension LZOCompressor {
    static func parse(_ cursor: inout OptionCursor) throws(SquashFSError) -> LZOCompressor {
        let algorithmNames = Algorithm.allCases.map(\.rawValue).joined(separator: ", ")
        let algorithmForm = "-Xalgorithm ALGORITHM (\(algorithmNames); default \(defaultAlgorithm.rawValue))"
        let levelForm = "-Xcompression-level N (1..9, default \(defaultLevel); lzo1x_999 only)"
        let forms = "\(algorithmForm), \(levelForm)"
        var algorithm = defaultAlgorithm
        var level: Int? = nil
        while let option = try cursor.nextOption(forms: forms) {
            switch option {
            case "-Xalgorithm":
                let value = try cursor.value(for: option, form: algorithmForm)
                guard let chosen = Algorithm(rawValue: value) else {
                    throw cursor.fail("unknown algorithm \"\(value)\" in -Xalgorithm; accepted: \(algorithmNames)")
                }
                algorithm = chosen
            case "-Xcompression-level":
                let value = try cursor.value(for: option, form: levelForm)
                level = try cursor.integer(value, option: option, range: 1...9)
            default:
                throw cursor.unknown(option, forms: forms)
            }
        }
        if let level, algorithm != .lzo1x_999 {
            throw cursor.fail("-Xcompression-level \(level) applies to lzo1x_999 only, not to -Xalgorithm \(algorithm.rawValue); drop the level or use lzo1x_999")
        }
        return LZOCompressor(algorithm: algorithm, level: level)
    }
}
