// Option strings in the form mksquashfs takes after `-comp`: the
// compressor name, then its `-X` options. This file splits the string and
// hands the options to the compressor's own rules (GzipOptions.swift,
// XzOptions.swift, ZstdOptions.swift, LZ4Options.swift, LZOOptions.swift),
// which follow squashfs-tools' gzip_wrapper.c, xz_wrapper.c, zstd_wrapper.c,
// lz4_wrapper.c and lzo_wrapper.c. Those parse the same in 4.5.1 and 4.6.1
// (4.6 only added the option_args hook mksquashfs uses to skip values);
// xz's -Xpreset, -Xe, -Xlc, -Xlp and -Xpb are OpenWrt's, not in 4.6.1.
import SystemIO

/// The compressor names `parseCompressor` knows.
public let compressorNames = ["gzip", "xz", "zstd", "lz4", "lzo"]

/// Parses a compressor option string such as `xz -Xbcj x86 -Xdict-size 50%`.
///
/// Words are separated by whitespace. The first is the compressor name, the
/// rest are that compressor's `-X` options exactly as mksquashfs takes them.
/// `blockSize` is the image's data block size, which xz needs to resolve and
/// check `-Xdict-size`. Every error is an `.invalidSetting`: one line naming
/// the bad word and the accepted forms, for the caller to put after the
/// name it took the string under.
public func parseCompressor(_ spec: String, blockSize: Int) throws(SquashFSError) -> any Compressor {
    let words = spec.split(whereSeparator: { $0.isWhitespace }).map(String.init)
    let names = compressorNames.joined(separator: ", ")

    guard CompressorSupport.isValidBlockSize(blockSize) else {
        throw .invalidSetting("block size \(blockSize) is not a power of two from 4096 to 1048576")
    }
    guard let name = words.first else {
        throw .invalidSetting("no compressor named; accepted: \(names)")
    }
    let options = words.dropFirst()
    switch name {
    case "gzip": return try GzipCompressor.parse(options)
    case "xz": return try XzCompressor.parse(options, blockSize: blockSize)
    case "zstd": return try ZstdCompressor.parse(options)
    case "lz4": return try LZ4Compressor.parse(options)
    case "lzo": return try LZOCompressor.parse(options)
    case "lzma":
        throw .invalidSetting("compressor lzma is not supported (the Linux kernel cannot mount lzma squashfs images); accepted: \(names)")
    default:
        throw .invalidSetting("unknown compressor \"\(name)\"; accepted: \(names), each optionally followed by its -X options")
    }
}

/// Parses a data block size: `131072`, `128K`, `128k`, `1M` or `1m`. It must
/// be a power of two from 4096 (4K) to 1048576 (1M). Errors are
/// `.invalidSetting`, without the setting's name.
public func parseBlockSize(_ s: String) throws(SquashFSError) -> Int {
    let accepted = "accepted: a power of two from 4096 to 1048576 bytes, written as bytes (131072), NK (128K) or NM (1M)"
    var digits = Substring(s)
    var multiplier = 1
    switch digits.last {
    case "k", "K": multiplier = 1 << 10; digits = digits.dropLast()
    case "m", "M": multiplier = 1 << 20; digits = digits.dropLast()
    default: break
    }
    guard parseDigits(digits, saturating: true) != nil else {
        throw .invalidSetting("not a size; \(accepted)")
    }
    // Up to 2^31 the size is computed and shown; past it, out of range anyway.
    guard let number = parseDigits(digits, maximum: UInt64(Int32.max)) else {
        throw .invalidSetting("out of range; \(accepted)")
    }
    let size = Int(number) * multiplier
    guard size >= 4096, size <= 1 << 20 else {
        throw .invalidSetting("\(size) bytes is out of range; \(accepted)")
    }
    guard size & (size - 1) == 0 else {
        throw .invalidSetting("\(size) bytes is not a power of two; \(accepted)")
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

/// One `-X` option of a compressor: its name, how messages show it, and
/// what it does. Each compressor lists its options (GzipOptions.swift and
/// the others) and `CompressorOption.walk` parses the words against the
/// list, so every compressor rejects a stray word, a missing value and an
/// unknown option in the same words.
struct CompressorOption {
    enum Action {
        /// Takes no value (`-Xhc`).
        case flag(() -> Void)
        /// Takes the next word as its value.
        case value((String) throws(SquashFSError) -> Void)
    }

    let name: String
    /// The option as the accepted forms list it, e.g.
    /// `-Xcompression-level N (1..9, default 9)`.
    let form: String
    let action: Action

    /// Parses `words` (those after the compressor name) against `options`.
    /// mksquashfs takes a word that is neither an option nor an option's
    /// value for something else, so it is rejected here. `note` adds a
    /// remark to an unknown option's error (xz: OpenWrt's options).
    static func walk(_ words: ArraySlice<String>, of compressor: String, _ options: [CompressorOption],
                     note: (String) -> String = { _ in "" }) throws(SquashFSError) {
        let forms = options.map(\.form).joined(separator: ", ")
        var rest = words[...]
        while let word = rest.popFirst() {
            guard word.hasPrefix("-") else {
                throw .invalidSetting("unexpected \"\(word)\" (not an option and no option takes it as a value); accepted for \(compressor): \(forms)")
            }
            guard let option = options.first(where: { $0.name == word }) else {
                throw .invalidSetting("unknown option \(word) for \(compressor)\(note(word)); accepted: \(forms)")
            }
            switch option.action {
            case .flag(let set):
                set()
            case .value(let take):
                guard let value = rest.popFirst() else {
                    throw .invalidSetting("\(word) needs a value; accepted: \(option.form)")
                }
                try take(value)
            }
        }
    }

    /// An option without a value.
    static func flag(_ name: String, _ meaning: String, set: @escaping () -> Void) -> CompressorOption {
        CompressorOption(name: name, form: "\(name) (\(meaning))", action: .flag(set))
    }

    /// An option whose value is any word; `set` checks it.
    static func text(_ name: String, _ form: String, set: @escaping (String) throws(SquashFSError) -> Void) -> CompressorOption {
        CompressorOption(name: name, form: "\(name) \(form)", action: .value(set))
    }

    /// A whole decimal number within `range` (mksquashfs uses atoi, which
    /// also takes trailing junk such as `9x`; that is rejected here).
    /// `note` follows the default in the form (`; lzo1x_999 only`).
    static func integer(_ name: String, _ range: ClosedRange<Int>, default value: Int, note: String = "",
                        set: @escaping (Int) -> Void) -> CompressorOption {
        let form = "\(name) N (\(range.lowerBound)..\(range.upperBound), default \(value)\(note))"
        return CompressorOption(name: name, form: form, action: .value({ (text: String) throws(SquashFSError) in
            let accepted = "accepted: \(name) N with N from \(range.lowerBound) to \(range.upperBound)"
            guard let n = parseDigits(text, saturating: true) else {
                throw .invalidSetting("\(name) \(text) is not a whole number; \(accepted)")
            }
            guard n >= UInt64(range.lowerBound), n <= UInt64(range.upperBound) else {
                throw .invalidSetting("\(name) \(text) is out of range; \(accepted)")
            }
            set(Int(n))
        }))
    }

    /// One name of `T`'s cases; a later one replaces an earlier one.
    /// `item` names a value in the form and in messages (`algorithm`).
    static func choice<T: CaseIterable & RawRepresentable>(_ name: String, item: String, default value: T,
                                                          set: @escaping (T) -> Void) -> CompressorOption where T.RawValue == String {
        let names = T.allCases.map(\.rawValue).joined(separator: ", ")
        let form = "\(name) \(item.uppercased()) (\(names); default \(value.rawValue))"
        return CompressorOption(name: name, form: form, action: .value({ (text: String) throws(SquashFSError) in
            guard let chosen = T(rawValue: text) else {
                throw .invalidSetting("unknown \(item) \"\(text)\" in \(name); accepted: \(names)")
            }
            set(chosen)
        }))
    }

    /// A comma-separated list of `T`'s names, repeatable (the lists add
    /// up). Like mksquashfs, one trailing comma is allowed (`a,`); other
    /// empty items (`a,,b`, `,a`) are rejected.
    static func list<T: CaseIterable & RawRepresentable>(_ name: String, item: String, of _: T.Type,
                                                        add: @escaping (T) -> Void) -> CompressorOption where T.RawValue == String {
        let names = T.allCases.map(\.rawValue).joined(separator: ", ")
        let upper = item.uppercased()
        let form = "\(name) \(upper)[,\(upper)...] (\(names))"
        return CompressorOption(name: name, form: form, action: .value({ (text: String) throws(SquashFSError) in
            var items = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if items.count > 1, items.last == "" { items.removeLast() }
            if items.contains(where: \.isEmpty) {
                throw .invalidSetting("\(name) \(text) has an empty item; give names separated by single commas")
            }
            for text in items {
                guard let value = T(rawValue: text) else {
                    throw .invalidSetting("unknown \(item) \"\(text)\" in \(name); accepted: \(names) (comma-separated)")
                }
                add(value)
            }
        }))
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
