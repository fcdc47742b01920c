// xz's -X options, as squashfs-tools' xz_wrapper.c takes them: -Xbcj with
// a comma-separated filter list, repeatable (the lists add up), and
// -Xdict-size, where a later one replaces an earlier one.

extension XzCompressor {
    /// OpenWrt's extended xz options (squashfs-tools has them only from 4.7,
    /// and only when built with XZ_EXTENDED_OPTIONS=1); named in the error
    /// so that a user coming from OpenWrt knows why.
    private static let openWrtOptions: Set<String> = ["-Xpreset", "-Xe", "-Xlc", "-Xlp", "-Xpb", "-Xfb"]

    static func parse(_ cursor: inout OptionCursor, blockSize: Int) throws(SquashFSError) -> XzCompressor {
        let filterNames = Filter.allCases.map(\.rawValue).joined(separator: ", ")
        let bcjForm = "-Xbcj FILTER[,FILTER...] (\(filterNames))"
        let dictForm = "-Xdict-size SIZE (bytes, NK, NM or N% of the block size)"
        let forms = "\(bcjForm), \(dictForm)"
        var filters: Set<Filter> = []
        var dictionary: String? = nil
        while let option = try cursor.nextOption(forms: forms) {
            switch option {
            case "-Xbcj":
                let value = try cursor.value(for: option, form: bcjForm)
                for item in try cursor.commaList(value, option: option) {
                    guard let filter = Filter(rawValue: item) else {
                        throw cursor.fail("unknown filter \"\(item)\" in -Xbcj; accepted: \(filterNames) (comma-separated)")
                    }
                    filters.insert(filter)
                }
            case "-Xdict-size":
                dictionary = try cursor.value(for: option, form: dictForm)
            default:
                let note = openWrtOptions.contains(option) ? " (an OpenWrt extension, not in squashfs-tools 4.6.1)" : ""
                throw cursor.unknown(option, forms: forms, note: note)
            }
        }
        let fail = cursor.fail
        let dictionarySize = try dictionary.map { (text: String) throws(SquashFSError) -> Int in
            try xzDictionarySize(text, blockSize: blockSize, fail: fail)
        } ?? blockSize
        return XzCompressor(blockSize: blockSize, dictionarySize: dictionarySize, filters: filters)
    }
}

/// Resolves an xz `-Xdict-size` value against the block size, with the
/// checks of mksquashfs's xz_options()/xz_options_post(): a percentage in
/// (0, 100] of the block size (fractions allowed, computed in float as
/// mksquashfs does), or a whole number of bytes with an optional K/M suffix
/// that is at most the block size; the result must be at least 8192 and of
/// the form 2^n or 2^n + 2^(n-1), the sizes an xz header can store.
private func xzDictionarySize(_ text: String, blockSize: Int, fail: (String) -> SquashFSError) throws(SquashFSError) -> Int {
    let accepted = "accepted: bytes (65536), NK (64K), NM (1M) or N% of the block size (50%, 37.5%)"
    let storable = "it must be 2^n or 2^n+2^(n-1) bytes, e.g. 8K, 12K, 16K, 24K, 32K, or 25%, 37.5%, 50%, 75%, 100% of the block size"

    var number = Substring(text)
    enum Unit { case bytes, kib, mib, percent }
    var unit = Unit.bytes
    switch number.last {
    case "%": unit = .percent
    case "k", "K": unit = .kib
    case "m", "M": unit = .mib
    default: break
    }
    if unit != .bytes { number = number.dropLast() }

    // digits, optionally "." and more digits
    let parts = number.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
    let isDigits = { (s: Substring) in s.allSatisfy { $0.isASCII && $0.isNumber } }
    guard !number.isEmpty, number != ".", parts.allSatisfy(isDigits) else {
        throw fail("-Xdict-size \(text) is not a size; \(accepted)")
    }

    let size: Int
    if unit == .percent {
        guard let percent = Float(number), percent > 0, percent <= 100 else {
            throw fail("-Xdict-size \(text): the percentage must be above 0 and at most 100; \(accepted)")
        }
        size = Int(Float(blockSize) * percent / 100)
    } else {
        if parts.count == 2, !parts[1].allSatisfy({ $0 == "0" }) {
            throw fail("-Xdict-size \(text): only a percentage of the block size may be fractional; \(accepted)")
        }
        let whole = parts[0]
        guard !whole.isEmpty else {
            throw fail("-Xdict-size \(text) is not a size; \(accepted)")
        }
        let scale = unit == .kib ? 1 << 10 : unit == .mib ? 1 << 20 : 1
        // Past 8 digits it exceeds any block size; avoid overflow.
        guard whole.count <= 8, let value = Int(whole) else {
            throw fail("-Xdict-size \(text) is larger than the block size (\(blockSize) bytes); it must be 8192 bytes up to the block size")
        }
        size = value * scale
        guard size <= blockSize else {
            throw fail("-Xdict-size \(text) (\(size) bytes) is larger than the block size (\(blockSize) bytes); it must be 8192 bytes up to the block size")
        }
    }
    guard size >= 8192 else {
        throw fail("-Xdict-size \(text) (\(size) bytes) is below the minimum of 8192 bytes; it must be 8192 bytes up to the block size (\(blockSize) bytes)")
    }
    guard XzCompressor.isStorableDictionarySize(size) else {
        throw fail("-Xdict-size \(text) (\(size) bytes) cannot be stored in the xz header; \(storable)")
    }
    return size
}

