import ImageReading

/// The compression configurations, read: with COMPR_CFGS, the
/// superblock's u16 at byte 84 is a bitmap of the algorithms the image
/// uses (bit 0 lz4, 1 lzma, 2 deflate, 3 zstd), and right after the
/// superblock one record per set bit, in bit order: a u16 length, then
/// that many bytes (lz4: max_distance u16, max_pclusterblks u16; lzma:
/// dict_size u32, format u16; deflate: windowbits u8; zstd: format u8,
/// windowlog u8 = log2(window) - 10). Without COMPR_CFGS only lz4 exists
/// and the u16 is its maximum match distance.
///
/// Checked: no bit past zstd; each record's length is 1...64 bytes and
/// lies inside the image.
struct StoredCompressionConfigs {
    enum Algorithm: Int, CaseIterable {
        case lz4 = 0, lzma = 1, deflate = 2, zstd = 3
        var name: String { "\(self)" }
    }

    /// The algorithms the superblock declares.
    var algorithms: [Algorithm]
    /// Each record's bytes, in the algorithms' order (empty without
    /// COMPR_CFGS).
    var records: [[UInt8]]

    static let place = "compression configurations after the superblock"

    static func read(_ sb: StoredSuperblock, _ range: ImageRange) throws(EROFSError) -> StoredCompressionConfigs {
        guard sb.incompatible.contains(.compressionConfigs) else {
            // lz4 is the one algorithm an image without configurations
            // can use; whether any file uses it shows in its inode.
            return StoredCompressionConfigs(algorithms: [.lz4], records: [])
        }
        let bitmap = sb.compressionField
        guard bitmap >> Algorithm.allCases.count == 0 else {
            throw .unsupported(place, "algorithm bitmap 0x\(String(bitmap, radix: 16)) names algorithms past zstd (bit 3)")
        }
        var out = StoredCompressionConfigs(algorithms: [], records: [])
        var at = StoredSuperblock.offset + UInt64(sb.size)
        for algorithm in Algorithm.allCases where bitmap & (1 << algorithm.rawValue) != 0 {
            let length = Int(StoredRecord(try range.record(2, at: at, place: place))[CompressionConfig.length])
            guard (1...64).contains(length) else {
                throw .badImage(place, "the \(algorithm.name) record at byte \(at) is \(length) bytes long; 1...64 expected")
            }
            out.algorithms.append(algorithm)
            out.records.append(try range.record(length, at: at + 2, place: place))
            at += 2 + UInt64(length)
        }
        return out
    }

    /// The settings as `inspect` shows them, one text per algorithm
    /// ("lzma dict_size=8388608").
    var descriptions: [String] {
        zip(algorithms, records + Array(repeating: [], count: max(0, algorithms.count - records.count))).map { algorithm, bytes in
            let r = StoredRecord(bytes)
            typealias C = CompressionConfig
            switch algorithm {
            case .lz4 where bytes.count >= 4:
                return "lz4 max_distance=\(r[C.LZ4.maxDistance]) max_pclusterblks=\(r[C.LZ4.maxPclusterBlocks])"
            case .lzma where bytes.count >= 6: return "lzma dict_size=\(r[C.LZMA.dictionarySize]) format=\(r[C.LZMA.format])"
            case .deflate where bytes.count >= 1: return "deflate windowbits=\(r[DeflateConfig.Fields.windowBits])"
            case .zstd where bytes.count >= 2: return "zstd format=\(r[ZstdConfig.Fields.format]) windowlog=\(Int(r[ZstdConfig.Fields.windowLog]) + 10)"
            default: return algorithm.name
            }
        }
    }
}
