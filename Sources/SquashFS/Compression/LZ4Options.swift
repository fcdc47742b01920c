// lz4's -X option, as squashfs-tools' lz4_wrapper.c takes it: -Xhc.

extension LZ4Compressor {
    static func parse(_ cursor: inout OptionCursor) throws(SquashFSError) -> LZ4Compressor {
        let forms = "-Xhc (high compression)"
        var hc = false
        while let option = try cursor.nextOption(forms: forms) {
            switch option {
            case "-Xhc": hc = true
            default: throw cursor.unknown(option, forms: forms)
            }
        }
        return LZ4Compressor(highCompression: hc)
    }
}
