// Option strings in the form mksquashfs 4.5.1 accepts after `-comp`:
// the compressor name, then its `-X` options. The rules (ranges, defaults,
// which settings count as "default" and so write no options block) follow
// squashfs-tools' gzip_wrapper.c, xz_wrapper.c, zstd_wrapper.c and
// lz4_wrapper.c. Only the parsing lives here; every C library is called
// from its own file (Gzip.swift, Xz.swift, Zstd.swift, LZ4.swift).

/// The compressor names `parseCompressor` knows.
public let compressorNames = ["gzip", "xz", "zstd", "lz4"]

/// Parses a compressor option string such as `xz -Xbcj x86 -Xdict-size 50%`.
///
/// Words are separated by whitespace. The first is the compressor name, the
/// rest are that compressor's `-X` options exactly as mksquashfs takes them.
/// `blockSize` is the image's data block size, which xz needs to resolve and
/// check `-Xdict-size`. Every error is one line naming the bad word and the
/// accepted forms.
public func parseCompressor(_ spec: String, blockSize: Int) throws(SquashFSError) -> any Compressor {
    let words = spec.split(whereSeparator: { $0.isWhitespace }).map(String.init)
    let shown = "--comp \"\(words.joined(separator: " "))\""
    func fail(_ message: String) -> SquashFSError { SquashFSError("\(shown): \(message)") }

    guard CompressorSupport.isValidBlockSize(blockSize) else {
        throw fail("block size \(blockSize) is not a power of two from 4096 to 1048576")
    }
    guard let name = words.first else {
        throw fail("no compressor named; accepted: \(compressorNames.joined(separator: ", "))")
    }
    var cursor = OptionCursor(words: Array(words.dropFirst()))

    switch name {
    case "gzip":
        let forms = "-Xcompression-level N (1..9, default 9), -Xwindow-size N (8..15, default 15), -Xstrategy STRATEGY[,STRATEGY...] (\(GzipCompressor.Strategy.allCases.map(\.rawValue).joined(separator: ", ")))"
        var level = GzipCompressor.defaultLevel
        var window = GzipCompressor.defaultWindowSize
        var strategies: Set<GzipCompressor.Strategy> = []
        while let option = try cursor.nextOption(compressor: name, forms: forms, fail: fail) {
            switch option {
            case "-Xcompression-level":
                let value = try cursor.value(for: option, form: "-Xcompression-level N (1..9)", fail: fail)
                level = try integer(value, option: option, range: 1...9, fail: fail)
            case "-Xwindow-size":
                let value = try cursor.value(for: option, form: "-Xwindow-size N (8..15)", fail: fail)
                window = try integer(value, option: option, range: 8...15, fail: fail)
            case "-Xstrategy":
                let names = GzipCompressor.Strategy.allCases.map(\.rawValue).joined(separator: ", ")
                let value = try cursor.value(for: option, form: "-Xstrategy STRATEGY[,STRATEGY...] (\(names))", fail: fail)
                for item in try commaList(value, option: option, fail: fail) {
                    guard let strategy = GzipCompressor.Strategy(rawValue: item) else {
                        throw fail("unknown strategy \"\(item)\" in -Xstrategy; accepted: \(names) (comma-separated)")
                    }
                    strategies.insert(strategy)
                }
            default:
                throw fail("unknown option \(option) for gzip; accepted: \(forms)")
            }
        }
        return GzipCompressor(level: level, windowSize: window, strategies: strategies)

    case "xz":
        let filterNames = XzCompressor.Filter.allCases.map(\.rawValue).joined(separator: ", ")
        let bcjForm = "-Xbcj FILTER[,FILTER...] (\(filterNames))"
        let dictForm = "-Xdict-size SIZE (bytes, NK, NM or N% of the block size)"
        let forms = "\(bcjForm), \(dictForm)"
        var filters: Set<XzCompressor.Filter> = []
        var dictionary: String? = nil
        while let option = try cursor.nextOption(compressor: name, forms: forms, fail: fail) {
            switch option {
            case "-Xbcj":
                let value = try cursor.value(for: option, form: bcjForm, fail: fail)
                for item in try commaList(value, option: option, fail: fail) {
                    guard let filter = XzCompressor.Filter(rawValue: item) else {
                        throw fail("unknown filter \"\(item)\" in -Xbcj; accepted: \(filterNames) (comma-separated)")
                    }
                    filters.insert(filter)
                }
            case "-Xdict-size":
                // As in mksquashfs, a later -Xdict-size replaces an earlier one.
                dictionary = try cursor.value(for: option, form: dictForm, fail: fail)
            default:
                throw fail("unknown option \(option) for xz; accepted: \(forms)")
            }
        }
        let dictionarySize = try dictionary.map { (text: String) throws(SquashFSError) -> Int in
            try xzDictionarySize(text, blockSize: blockSize, fail: fail)
        } ?? blockSize
        return XzCompressor(blockSize: blockSize, dictionarySize: dictionarySize, filters: filters)

    case "zstd":
        let maxLevel = ZstdCompressor.maxLevel
        let forms = "-Xcompression-level N (1..\(maxLevel), default \(ZstdCompressor.defaultLevel))"
        var level = ZstdCompressor.defaultLevel
        while let option = try cursor.nextOption(compressor: name, forms: forms, fail: fail) {
            switch option {
            case "-Xcompression-level":
                let value = try cursor.value(for: option, form: "-Xcompression-level N (1..\(maxLevel))", fail: fail)
                level = try integer(value, option: option, range: 1...maxLevel, fail: fail)
            default:
                throw fail("unknown option \(option) for zstd; accepted: \(forms)")
            }
        }
        return ZstdCompressor(level: level)

    case "lz4":
        let forms = "-Xhc (high compression)"
        var hc = false
        while let option = try cursor.nextOption(compressor: name, forms: forms, fail: fail) {
            switch option {
            case "-Xhc": hc = true
            default: throw fail("unknown option \(option) for lz4; accepted: \(forms)")
            }
        }
        return LZ4Compressor(highCompression: hc)

    case "lzo", "lzma":
        throw fail("compressor \(name) is not supported; accepted: \(compressorNames.joined(separator: ", "))")
    default:
        throw fail("unknown compressor \"\(name)\"; accepted: \(compressorNames.joined(separator: ", ")), each optionally followed by its -X options")
    }
}

/// Parses a data block size: `131072`, `128K`, `128k`, `1M` or `1m`. It must
/// be a power of two from 4096 (4K) to 1048576 (1M).
public func parseBlockSize(_ s: String) throws(SquashFSError) -> Int {
    let accepted = "accepted: a power of two from 4096 to 1048576 bytes, written as bytes (131072), NK (128K) or NM (1M)"
    var digits = Substring(s)
    var multiplier = 1
    switch digits.last {
    case "k", "K": multiplier = 1 << 10; digits = digits.dropLast()
    case "m", "M": multiplier = 1 << 20; digits = digits.dropLast()
    default: break
    }
    guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
        throw SquashFSError("--block-size \"\(s)\": not a size; \(accepted)")
    }
    // Anything past 7 digits is out of range anyway; this avoids overflow.
    guard digits.count <= 8, let number = Int(digits) else {
        throw SquashFSError("--block-size \"\(s)\": out of range; \(accepted)")
    }
    let size = number * multiplier
    guard size >= 4096, size <= 1 << 20 else {
        throw SquashFSError("--block-size \"\(s)\": \(size) bytes is out of range; \(accepted)")
    }
    guard size & (size - 1) == 0 else {
        throw SquashFSError("--block-size \"\(s)\": \(size) bytes is not a power of two; \(accepted)")
    }
    return size
}

extension Compressor {
    /// A worker configured as mksquashfs configures its metadata compressor
    /// (inode, directory, fragment, id and other tables): xz with an 8 KiB
    /// dictionary and no BCJ filter, gzip with the default strategy only;
    /// zstd and lz4 are unchanged. Compressing metadata blocks with it makes
    /// them byte-identical to mksquashfs's. The kernel reads either, since
    /// 8 KiB never exceeds the dictionary the options block announces.
    public func makeMetadataWorker() -> any CompressorWorker {
        switch self {
        case let xz as XzCompressor:
            return xz.makeWorker(dictionarySize: CompressorSupport.metadataBlockSize, filters: [])
        case let gzip as GzipCompressor:
            return gzip.makeWorker(strategies: [])
        default:
            return makeWorker()
        }
    }
}

/// Walks the words after the compressor name.
private struct OptionCursor {
    var words: [String]
    var index = 0

    /// The next option word, or nil at the end. A word that does not start
    /// with `-X` is rejected: mksquashfs would take it for something else.
    mutating func nextOption(compressor: String, forms: String, fail: (String) -> SquashFSError) throws(SquashFSError) -> String? {
        guard index < words.count else { return nil }
        let word = words[index]
        index += 1
        guard word.hasPrefix("-") else {
            throw fail("unexpected \"\(word)\" (not an option and no option takes it as a value); accepted for \(compressor): \(forms)")
        }
        return word
    }

    /// The value word of `option`.
    mutating func value(for option: String, form: String, fail: (String) -> SquashFSError) throws(SquashFSError) -> String {
        guard index < words.count else {
            throw fail("\(option) needs a value; accepted: \(form)")
        }
        let word = words[index]
        index += 1
        return word
    }
}

/// A whole decimal number within `range` (mksquashfs uses atoi, which also
/// takes trailing junk such as `9x`; that is rejected here).
private func integer(_ text: String, option: String, range: ClosedRange<Int>, fail: (String) -> SquashFSError) throws(SquashFSError) -> Int {
    let accepted = "accepted: \(option) N with N from \(range.lowerBound) to \(range.upperBound)"
    guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
        throw fail("\(option) \(text) is not a whole number; \(accepted)")
    }
    guard let value = Int(text), range.contains(value) else {
        throw fail("\(option) \(text) is out of range; \(accepted)")
    }
    return value
}

/// Splits `a,b,c`. Like mksquashfs, one trailing comma is allowed (`a,`);
/// other empty items (`a,,b`, `,a`) are rejected.
private func commaList(_ text: String, option: String, fail: (String) -> SquashFSError) throws(SquashFSError) -> [String] {
    var items = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    if items.count > 1, items.last == "" { items.removeLast() }
    if items.contains(where: \.isEmpty) {
        throw fail("\(option) \(text) has an empty item; give names separated by single commas")
    }
    return items
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

/// Internal helpers of the compressor files, in one namespace so their names
/// cannot clash with the rest of the module.
enum CompressorSupport {
    /// SQUASHFS_METADATA_SIZE: the uncompressed size of a metadata block.
    static let metadataBlockSize = 8192

    static func isValidBlockSize(_ size: Int) -> Bool {
        size >= 4096 && size <= 1 << 20 && size & (size - 1) == 0
    }

    /// A size as mksquashfs accepts it back: NM, NK or plain bytes.
    static func formatSize(_ bytes: Int) -> String {
        if bytes % (1 << 20) == 0 { return "\(bytes >> 20)M" }
        if bytes % (1 << 10) == 0 { return "\(bytes >> 10)K" }
        return "\(bytes)"
    }

    /// Little-endian bytes of an options-block field.
    static func le32(_ value: UInt32) -> [UInt8] {
        [UInt8(value & 0xff), UInt8(value >> 8 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 24)]
    }

    static func le16(_ value: UInt16) -> [UInt8] {
        [UInt8(value & 0xff), UInt8(value >> 8)]
    }
}

/// A worker-owned byte buffer for compressors that try several settings per
/// block (xz BCJ filters, gzip strategies) and keep the smallest result:
/// candidates alternate between the caller's output and this buffer. It is
/// allocated once per worker and grows only if a larger block ever comes.
final class CompressorScratch {
    private(set) var pointer: UnsafeMutableRawPointer
    private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = Swift.max(capacity, 1)
        pointer = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 16)
    }

    func reserve(_ count: Int) {
        guard count > capacity else { return }
        pointer.deallocate()
        capacity = Swift.max(count, capacity * 2)
        pointer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { pointer.deallocate() }
}
