import SystemIO

// xz's -X options, as squashfs-tools' xz_wrapper.c takes them: -Xbcj with
// a comma-separated filter list, repeatable (the lists add up), and
// -Xdict-size, where a later one replaces an earlier one.

extension XzCompressor {
    /// OpenWrt's extended xz options (squashfs-tools has them only from 4.7,
    /// and only when built with XZ_EXTENDED_OPTIONS=1); named in the error
    /// so that a user coming from OpenWrt knows why.
    private static let openWrtOptions: Set<String> = ["-Xpreset", "-Xe", "-Xlc", "-Xlp", "-Xpb", "-Xfb"]

    static func parse(_ words: ArraySlice<String>, blockSize: Int) throws(SquashFSError) -> XzCompressor {
        var filters: Set<Filter> = []
        var dictionary: String? = nil
        try CompressorOption.walk(words, of: "xz", [
            .list("-Xbcj", item: "filter", of: Filter.self) { filters.insert($0) },
            .text("-Xdict-size", "SIZE (bytes, NK, NM or N% of the block size)") { dictionary = $0 },
        ], note: { openWrtOptions.contains($0) ? " (an OpenWrt extension, not in squashfs-tools 4.6.1)" : "" })
        let dictionarySize = try dictionary.map { (text: String) throws(SquashFSError) -> Int in
            try xzDictionarySize(text, blockSize: blockSize)
        } ?? blockSize
        return XzCompressor(blockSize: blockSize, dictionarySize: dictionarySize, filters: filters)
    }
}

/// Resolves an xz `-Xdict-size` value against the block size, as
/// mksquashfs's xz_options()/xz_options_post() read it: a percentage in
/// (0, 100] of the block size (fractions allowed, computed in float as
/// mksquashfs does), or a whole number of bytes with an optional K/M
/// suffix. The size must then meet `XzCompressor.isAcceptedDictionarySize`.
private func xzDictionarySize(_ text: String, blockSize: Int) throws(SquashFSError) -> Int {
    let accepted = "accepted: bytes (65536), NK (64K), NM (1M) or N% of the block size (50%, 37.5%)"
    let storable = "it must be 2^n or 2^n+2^(n-1) bytes, e.g. 8K, 12K, 16K, 24K, 32K, or 25%, 37.5%, 50%, 75%, 100% of the block size"
    // What works: under 8 KiB blocks only the block size itself.
    let range = blockSize <= XzCompressor.minimumDictionarySize
        ? "with \(blockSize)-byte blocks the dictionary can only be the block size: write -Xdict-size 100% or leave -Xdict-size out"
        : "it must be 8192 bytes up to the block size (\(blockSize) bytes), e.g. -Xdict-size 100%"

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
    let isDigits = { (s: Substring) in s.isEmpty || parseDigits(s, saturating: true) != nil }
    guard !number.isEmpty, number != ".", parts.allSatisfy(isDigits) else {
        throw .invalidSetting("-Xdict-size \(text) is not a size; \(accepted)")
    }

    let size: Int
    if unit == .percent {
        guard let percent = Float(number), percent > 0, percent <= 100 else {
            throw .invalidSetting("-Xdict-size \(text): the percentage must be above 0 and at most 100; \(accepted)")
        }
        size = Int(Float(blockSize) * percent / 100)
    } else {
        if parts.count == 2, !parts[1].allSatisfy({ $0 == "0" }) {
            throw .invalidSetting("-Xdict-size \(text): only a percentage of the block size may be fractional; \(accepted)")
        }
        let whole = parts[0]
        guard !whole.isEmpty else {
            throw .invalidSetting("-Xdict-size \(text) is not a size; \(accepted)")
        }
        let scale = unit == .kib ? 1 << 10 : unit == .mib ? 1 << 20 : 1
        // Past 2^31 it exceeds any block size; this avoids overflow.
        guard let value = parseDigits(whole, maximum: UInt64(Int32.max)).map(Int.init) else {
            throw .invalidSetting("-Xdict-size \(text) is larger than the block size (\(blockSize) bytes); \(range)")
        }
        size = value * scale
        guard size <= blockSize else {
            throw .invalidSetting("-Xdict-size \(text) (\(size) bytes) is larger than the block size (\(blockSize) bytes); \(range)")
        }
    }
    if size == blockSize { return size }
    guard size >= XzCompressor.minimumDictionarySize else {
        throw .invalidSetting("-Xdict-size \(text) (\(size) bytes) is below the minimum of 8192 bytes; \(range)")
    }
    guard XzCompressor.isStorableDictionarySize(size) else {
        throw .invalidSetting("-Xdict-size \(text) (\(size) bytes) cannot be stored in the xz header; \(storable)")
    }
    return size
}

