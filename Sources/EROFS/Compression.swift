/// A compression setting in mkfs.erofs's `-z` syntax: `none`, `lz4`,
/// `lz4hc[,level=N]` (0-12, default 9), `lzma[,level=N][,dictsize=N]`
/// (level 0-9, default 6; dictsize in bytes, default 8 MiB capped by
/// the level's), `deflate[,level=N]` (0-9, default 1) or
/// `zstd[,level=N]` (0-22, default 3; 0 is zstd's default, 3) — the
/// ranges and defaults are mkfs.erofs's. Parsed where it is read, so a
/// bad value fails there.
public struct Compression: Sendable, Equatable, CustomStringConvertible {
    public enum Algorithm: Sendable, Equatable {
        case none
        case lz4
        case lz4hc(level: Int)
        case lzma(level: Int, dictionarySize: UInt32?)
        case deflate(level: Int)
        case zstd(level: Int)
    }

    public let algorithm: Algorithm

    public init(_ algorithm: Algorithm) { self.algorithm = algorithm }

    public init(parsing text: String) throws(EROFSError) {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var options: [String: Int] = [:]
        for part in parts.dropFirst() {
            let kv = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, let v = Int(kv[1]), v >= 0 else {
                throw EROFSError("option \"\(part)\": expected NAME=NUMBER (e.g. level=9)", kind: .invalidSetting)
            }
            options[kv[0]] = v
        }
        let algorithm = try Compression.algorithm(named: parts[0], options: options)
        self.init(algorithm)
    }

    private static func algorithm(named name: String, options: [String: Int]) throws(EROFSError) -> Algorithm {
        func only(_ allowed: [String]) throws(EROFSError) {
            if let bad = options.keys.sorted().first(where: { !allowed.contains($0) }) {
                let known = allowed.isEmpty ? "it takes no options" : "accepted: \(allowed.joined(separator: ", "))"
                throw EROFSError("unknown option \(bad) for \(name); \(known)", kind: .invalidSetting)
            }
        }
        func level(_ range: ClosedRange<Int>, _ fallback: Int) throws(EROFSError) -> Int {
            let l = options["level"] ?? fallback
            guard range.contains(l) else {
                throw EROFSError("\(name) level \(l): must be \(range.lowerBound) to \(range.upperBound)", kind: .invalidSetting)
            }
            return l
        }
        switch name {
        case "none": try only([]); return .none
        case "lz4": try only([]); return .lz4
        case "lz4hc": try only(["level"]); return .lz4hc(level: try level(0...12, 9))
        case "lzma":
            try only(["level", "dictsize"])
            let l = try level(0...9, 6)
            var dict: UInt32? = nil
            if let d = options["dictsize"] {
                guard d >= 4096 && d <= 8 << 20 else {
                    throw EROFSError("lzma dictsize \(d): must be 4096 to 8388608 bytes", kind: .invalidSetting)
                }
                dict = UInt32(d)
            }
            return .lzma(level: l, dictionarySize: dict)
        case "deflate": try only(["level"]); return .deflate(level: try level(0...9, 1))
        case "zstd": try only(["level"]); return .zstd(level: try level(0...22, 3))
        default:
            throw EROFSError("unknown compression \"\(name)\"; accepted: none, lz4, lz4hc[,level=N], lzma[,level=N][,dictsize=N], deflate[,level=N], zstd[,level=N]",
                             kind: .invalidSetting)
        }
    }

    /// The canonical `-z` text.
    public var description: String {
        switch algorithm {
        case .none: return "none"
        case .lz4: return "lz4"
        case .lz4hc(let l): return "lz4hc,level=\(l)"
        case .lzma(let l, let d): return "lzma,level=\(l)" + (d.map { ",dictsize=\($0)" } ?? "")
        case .deflate(let l): return "deflate,level=\(l)"
        case .zstd(let l): return "zstd,level=\(l)"
        }
    }

    /// The on-disk algorithm number (h_algorithmtype), nil for none.
    var algorithmNumber: UInt8? {
        switch algorithm {
        case .none: return nil
        case .lz4, .lz4hc: return 0
        case .lzma: return 1
        case .deflate: return 2
        case .zstd: return 3
        }
    }
}
