import Foundation

/// The squashfs 4.0 superblock and compressor options block, decoded from
/// the image bytes by the tests themselves (independent of the writer).
public struct Superblock: CustomStringConvertible {
    public var magic: UInt32
    public var inodeCount: UInt32
    public var mkfsTime: UInt32
    public var blockSize: UInt32
    public var fragmentCount: UInt32
    public var compressionID: UInt16
    public var blockLog: UInt16
    public var flags: UInt16
    public var idCount: UInt16
    public var versionMajor: UInt16
    public var versionMinor: UInt16
    public var bytesUsed: UInt64
    public var xattrTableStart: UInt64
    public var inodeTableStart: UInt64
    public var directoryTableStart: UInt64
    /// Payload of the compressor options metadata block, if the flag is set.
    public var compressorOptions: [UInt8]?
    public var fileSize: UInt64

    public static let compressorOptionsFlag: UInt16 = 0x0400

    public var compressorName: String {
        switch compressionID {
        case 1: return "gzip"
        case 2: return "lzma"
        case 3: return "lzo"
        case 4: return "xz"
        case 5: return "lz4"
        case 6: return "zstd"
        default: return "unknown(\(compressionID))"
        }
    }

    public var description: String {
        "squashfs \(versionMajor).\(versionMinor) \(compressorName) block \(blockSize) inodes \(inodeCount) ids \(idCount) mkfs_time \(mkfsTime) flags 0x\(String(flags, radix: 16)) options \(compressorOptions.map { RawPath.render($0) } ?? "none") bytes_used \(bytesUsed) file \(fileSize)"
    }

    public struct Malformed: Error, CustomStringConvertible {
        public var description: String
    }

    /// The compressor named by the superblock, read without validating
    /// anything else.
    public static func compressorName(of image: RawPath) throws -> String {
        let head = try Posix.readPrefix(image, count: 22)
        guard head.count == 22 else { throw Malformed(description: "\(image): too short for a superblock") }
        let id = UInt16(head[20]) | UInt16(head[21]) << 8
        let names = ["gzip", "lzma", "lzo", "xz", "lz4", "zstd"]
        return (1...names.count).contains(Int(id)) ? names[Int(id) - 1] : "unknown(\(id))"
    }

    public static func read(_ image: RawPath) throws -> Superblock {
        // The superblock and the options block (at most one 8K metadata block).
        let data = try Posix.readPrefix(image, count: 96 + 2 + 8192)
        let fileSize = UInt64(try Posix.lstat(image).st_size)
        guard data.count >= 96 else { throw Malformed(description: "\(image): \(data.count) bytes, shorter than a superblock") }
        func u16(_ o: Int) -> UInt16 { UInt16(data[o]) | UInt16(data[o + 1]) << 8 }
        func u32(_ o: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(data[o + $1]) << (8 * $1) } }
        func u64(_ o: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(data[o + $1]) << (8 * $1) } }
        var sb = Superblock(magic: u32(0), inodeCount: u32(4), mkfsTime: u32(8), blockSize: u32(12), fragmentCount: u32(16),
                            compressionID: u16(20), blockLog: u16(22), flags: u16(24), idCount: u16(26),
                            versionMajor: u16(28), versionMinor: u16(30), bytesUsed: u64(40), xattrTableStart: u64(56),
                            inodeTableStart: u64(64), directoryTableStart: u64(72),
                            compressorOptions: nil, fileSize: fileSize)
        if sb.flags & compressorOptionsFlag != 0 {
            guard data.count >= 98 else { throw Malformed(description: "options flag set but no options block") }
            let header = u16(96)
            let len = Int(header & 0x7fff)
            guard header & 0x8000 != 0 else { throw Malformed(description: "compressor options block is compressed (must be stored)") }
            guard 98 + len <= data.count else { throw Malformed(description: "options block runs past the end") }
            sb.compressorOptions = Array(data[98..<98 + len])
        }
        return sb
    }

    /// Every options block a correct writer may store for `comp`: the one
    /// mksquashfs writes, and for xz below 8K blocks also the same with an
    /// 8 KiB dictionary (the kernel sizes its dictionary from this field
    /// and metadata blocks are 8 KiB, so mksquashfs's 4096 cannot mount).
    /// `adaptive`: mkportable without --exact-blocks, whose xz without
    /// -Xbcj announces the x86 filter it applies to x86 executables.
    public static func acceptableOptions(comp: String?, blockSize: Int, adaptive: Bool = false) -> [[UInt8]?] {
        let base = expectedOptions(comp: comp, blockSize: blockSize, adaptive: adaptive)
        var out = [base]
        if let b = base, (comp ?? "xz").hasPrefix("xz"), b.count == 8 {
            let dict = UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
            if dict < 8192 { out.append([0x00, 0x20, 0x00, 0x00] + b[4...]) }
        }
        return out
    }

    /// The compressor options block mksquashfs (and so the kernel) expects
    /// for a `--comp` string: nil when every setting is the default.
    public static func expectedOptions(comp: String?, blockSize: Int, adaptive: Bool = false) -> [UInt8]? {
        let words = (comp ?? "xz -Xdict-size 100%").split(separator: " ").map(String.init)
        let name = words.first ?? "xz"
        var args: [String: String] = [:]
        var i = 1
        while i < words.count {
            let w = words[i]
            if w == "-Xhc" { args[w] = ""; i += 1 } else { args[w] = i + 1 < words.count ? words[i + 1] : ""; i += 2 }
        }
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
        switch name {
        case "gzip":
            let level = UInt32(args["-Xcompression-level"] ?? "9") ?? 9
            let window = UInt16(args["-Xwindow-size"] ?? "15") ?? 15
            if level == 9 && window == 15 && args["-Xstrategy"] == nil { return nil }
            return le32(level) + le16(window) + le16(0)
        case "xz":
            var filters: UInt32 = adaptive && args["-Xbcj"] == nil ? 1 : 0
            for f in (args["-Xbcj"] ?? "").split(separator: ",") {
                switch f {
                case "x86": filters |= 1
                case "powerpc": filters |= 2
                case "ia64": filters |= 4
                case "arm": filters |= 8
                case "armthumb": filters |= 16
                case "sparc": filters |= 32
                default: break
                }
            }
            var dict = UInt32(blockSize)
            if let d = args["-Xdict-size"] {
                if d.hasSuffix("%"), let pct = Double(d.dropLast()) { dict = UInt32(Double(blockSize) * pct / 100) }
                else if d.uppercased().hasSuffix("K"), let v = UInt32(d.dropLast()) { dict = v << 10 }
                else if d.uppercased().hasSuffix("M"), let v = UInt32(d.dropLast()) { dict = v << 20 }
                else if let v = UInt32(d) { dict = v }
            }
            if filters == 0 && dict == UInt32(blockSize) { return nil }
            return le32(max(dict, adaptive ? 8192 : 0)) + le32(filters)
        case "zstd":
            let level = UInt32(args["-Xcompression-level"] ?? "15") ?? 15
            return level == 15 ? nil : le32(level)
        case "lz4":
            return le32(1) + le32(args["-Xhc"] != nil ? 1 : 0)
        case "lzo":
            // lzo_wrapper.c: algorithm number (its table order), then the
            // level, 0 for every algorithm but lzo1x_999 (number 4).
            let numbers = ["lzo1x_1": UInt32(0), "lzo1x_1_11": 1, "lzo1x_1_12": 2, "lzo1x_1_15": 3, "lzo1x_999": 4]
            let algorithm = numbers[args["-Xalgorithm"] ?? "lzo1x_999"] ?? 4
            let level = algorithm == 4 ? UInt32(args["-Xcompression-level"] ?? "8") ?? 8 : 0
            return algorithm == 4 && level == 8 ? nil : le32(algorithm) + le32(level)
        default:
            return nil
        }
    }
}
