// zstd's -X option, as squashfs-tools' zstd_wrapper.c takes it:
// -Xcompression-level 1..ZSTD_maxCLevel() (22), default 15.

extension ZstdCompressor {
    static func parse(_ cursor: inout OptionCursor) throws(SquashFSError) -> ZstdCompressor {
        let forms = "-Xcompression-level N (1..\(maxLevel), default \(defaultLevel))"
        var level = defaultLevel
        while let option = try cursor.nextOption(forms: forms) {
            switch option {
            case "-Xcompression-level":
                let value = try cursor.value(for: option, form: "-Xcompression-level N (1..\(maxLevel))")
                level = try cursor.integer(value, option: option, range: 1...maxLevel)
            default:
                throw cursor.unknown(option, forms: forms)
            }
        }
        return ZstdCompressor(level: level)
    }
}
