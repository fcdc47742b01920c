/// Reading the compression options block (the rule is stated on
/// `Compressor`): when the superblock has COMPRESSOR_OPTIONS, one
/// metadata block at byte 96 holds the compressor's options, 8 bytes
/// (gzip: level u32, window u16, strategies u16; xz: dictionary u32,
/// filters u32; lz4: version u32 = 1, flags u32; lzo: algorithm u32,
/// level u32) or 4 bytes (zstd: level u32). Without the block each
/// compressor's defaults apply. Every field is checked against the range
/// mksquashfs accepts before a compressor is made of it.
struct StoredCompressorOptions {
    /// The compressor the options describe; its `description` is the
    /// settings in mksquashfs's syntax, its workers decompress.
    var compressor: any Compressor
    /// The options block's bytes as stored, nil without one.
    var bytes: [UInt8]?
    /// Bits of the options this reader has no name for (xz filters added
    /// after squashfs-tools 4.6), shown but not used.
    var unknown: String?

    static let place = "compression options block"

    init(id: CompressorID, options: [UInt8]?, blockSize: Int) throws(SquashFSError) {
        bytes = options
        unknown = nil
        guard let options else {
            compressor = Self.defaults(id, blockSize: blockSize)
            return
        }
        var r = LittleEndianReader(options, place: Self.place)
        switch id {
        case .gzip: compressor = try Self.gzip(&r)
        case .xz: (compressor, unknown) = try Self.xz(&r, blockSize: blockSize)
        case .lz4: compressor = try Self.lz4(&r)
        case .lzo: compressor = try Self.lzo(&r)
        case .zstd:
            let level = try r.u32()
            guard level >= 1, level <= UInt32(ZstdCompressor.maxLevel) else {
                throw .badImage(Self.place, "zstd level \(level) is not in 1...\(ZstdCompressor.maxLevel)")
            }
            compressor = ZstdCompressor(level: Int(level))
        case .lzma:
            throw SquashFSError("\(Self.place): lzma is not read", kind: .unsupportedImage)
        }
    }

    static func defaults(_ id: CompressorID, blockSize: Int) -> any Compressor {
        switch id {
        case .gzip: return GzipCompressor()
        case .xz: return XzCompressor(blockSize: blockSize)
        case .lz4: return LZ4Compressor()
        case .lzo: return LZOCompressor()
        case .zstd, .lzma: return ZstdCompressor()
        }
    }

    private static func gzip(_ r: inout LittleEndianReader) throws(SquashFSError) -> any Compressor {
        let level = try r.u32(), window = try r.u16(), bits = try r.u16()
        guard (1...9).contains(level), (8...15).contains(window), bits < 1 << GzipCompressor.Strategy.allCases.count else {
            throw .badImage(place, "gzip level \(level), window \(window), strategies 0x\(String(bits, radix: 16)): outside 1...9, 8...15 and the five strategy bits")
        }
        let strategies = Set(GzipCompressor.Strategy.allCases.filter { bits & $0.bit != 0 })
        return GzipCompressor(level: Int(level), windowSize: Int(window), strategies: strategies)
    }

    private static func xz(_ r: inout LittleEndianReader, blockSize: Int) throws(SquashFSError) -> (any Compressor, String?) {
        let stored = Int(try r.u32()), bits = try r.u32()
        // The writer stores at least 8 KiB even for 4 KiB blocks (see
        // XzCompressor.options); a dictionary past the block size is the
        // block size.
        let dictionary = stored >= blockSize ? blockSize : stored
        guard dictionary == blockSize || (dictionary >= XzCompressor.minimumDictionarySize && XzCompressor.isStorableDictionarySize(dictionary)) else {
            throw .badImage(place, "xz dictionary size \(stored) is not 2^n or 2^n+2^(n-1) bytes from 8192 up")
        }
        let known = XzCompressor.Filter.allCases
        let filters = Set(known.filter { bits & $0.bit != 0 })
        let rest = bits & ~known.reduce(0) { $0 | $1.bit }
        let unknown = rest == 0 ? nil : "xz filter bits 0x\(String(rest, radix: 16))"
        return (XzCompressor(blockSize: blockSize, dictionarySize: dictionary, filters: filters), unknown)
    }

    private static func lz4(_ r: inout LittleEndianReader) throws(SquashFSError) -> any Compressor {
        let version = try r.u32(), flags = try r.u32()
        guard version == 1, flags <= 1 else {
            throw .badImage(place, "lz4 version \(version), flags \(flags); only version 1 (legacy) with flag bit 0 (HC) exists")
        }
        return LZ4Compressor(highCompression: flags == 1)
    }

    private static func lzo(_ r: inout LittleEndianReader) throws(SquashFSError) -> any Compressor {
        let number = try r.u32(), level = try r.u32()
        let all = LZOCompressor.Algorithm.allCases
        guard number < UInt32(all.count) else {
            throw .badImage(place, "lzo algorithm \(number) is not one of 0...\(all.count - 1)")
        }
        let algorithm = all[Int(number)]
        if algorithm == .lzo1x_999 {
            guard (1...9).contains(level) else { throw .badImage(place, "lzo1x_999 level \(level) is not in 1...9") }
            return LZOCompressor(algorithm: algorithm, level: Int(level))
        }
        return LZOCompressor(algorithm: algorithm)
    }
}
