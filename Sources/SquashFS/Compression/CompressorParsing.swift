// Option strings in the form mksquashfs takes after `-comp`: the
// compressor name, then its `-X` options. This file splits the string and
// hands the options to the compressor's own rules (GzipOptions.swift,
// XzOptions.swift, ZstdOptions.swift, LZ4Options.swift, LZOOptions.swift),
// which follow squashfs-tools' gzip_wrapper.c, xz_wrapper.c, zstd_wrapper.c,
// lz4_wrapper.c and lzo_wrapper.c. Those parse the same in 4.5.1 and 4.6.1
// (4.6 only added the option_args hook mksquashfs uses to skip values);
// xz's -Xpreset, -Xe, -Xlc, -Xlp and -Xpb are OpenWrt's, not in 4.6.1.

/// The compressor names `parseCompressor` knows.
public let compressorNames = ["gzip", "xz", "zstd", "lz4", "lzo"]

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
    let fail = { (message: String) in SquashFSError("\(shown): \(message)") }
    let names = compressorNames.joined(separator: ", ")

    guard CompressorSupport.isValidBlockSize(blockSize) else {
        throw fail("block size \(blockSize) is not a power of two from 4096 to 1048576")
    }
    guard let name = words.first else {
        throw fail("no compressor named; accepted: \(names)")
    }
    var cursor = OptionCursor(compressor: name, words: Array(words.dropFirst()), fail: fail)
    switch name {
    case "gzip": return try GzipCompressor.parse(&cursor)
    case "xz": return try XzCompressor.parse(&cursor, blockSize: blockSize)
    case "zstd": return try ZstdCompressor.parse(&cursor)
    case "lz4": return try LZ4Compressor.parse(&cursor)
    case "lzo": return try LZOCompressor.parse(&cursor)
    case "lzma":
        throw fail("compressor lzma is not supported (the Linux kernel cannot mount lzma squashfs images); accepted: \(names)")
    default:
        throw fail("unknown compressor \"\(name)\"; accepted: \(names), each optionally followed by its -X options")
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
    /// zstd, lz4 and lzo are unchanged. Compressing metadata blocks with it makes
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

/// Walks the words after the compressor name, for the compressors' option
/// rules; `fail` makes the one-line error that names the whole string.
struct OptionCursor {
    let compressor: String
    var words: [String]
    let fail: (String) -> SquashFSError
    var index = 0

    init(compressor: String, words: [String], fail: @escaping (String) -> SquashFSError) {
        self.compressor = compressor
        self.words = words
        self.fail = fail
    }

    /// The next option word, or nil at the end. A word that does not start
    /// with `-` is rejected: mksquashfs would take it for something else.
    mutating func nextOption(forms: String) throws(SquashFSError) -> String? {
        guard index < words.count else { return nil }
        let word = words[index]
        index += 1
        guard word.hasPrefix("-") else {
            throw fail("unexpected \"\(word)\" (not an option and no option takes it as a value); accepted for \(compressor): \(forms)")
        }
        return word
    }

    /// The value word of `option`.
    mutating func value(for option: String, form: String) throws(SquashFSError) -> String {
        guard index < words.count else {
            throw fail("\(option) needs a value; accepted: \(form)")
        }
        let word = words[index]
        index += 1
        return word
    }

    /// The error for an option this compressor does not have.
    func unknown(_ option: String, forms: String, note: String = "") -> SquashFSError {
        fail("unknown option \(option) for \(compressor)\(note); accepted: \(forms)")
    }

    /// A whole decimal number within `range` (mksquashfs uses atoi, which
    /// also takes trailing junk such as `9x`; that is rejected here).
    func integer(_ text: String, option: String, range: ClosedRange<Int>) throws(SquashFSError) -> Int {
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
    func commaList(_ text: String, option: String) throws(SquashFSError) -> [String] {
        var items = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        if items.count > 1, items.last == "" { items.removeLast() }
        if items.contains(where: \.isEmpty) {
            throw fail("\(option) \(text) has an empty item; give names separated by single commas")
        }
        return items
    }
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
