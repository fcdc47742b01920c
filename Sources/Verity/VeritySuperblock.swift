/// The superblock veritysetup writes at the start of a hash device, which
/// `crypt_load(CRYPT_VERITY)` (and so systemd) reads back.
///
/// Rule (cryptsetup lib/verity/verity.c, `struct verity_sb`), 512 bytes,
/// little-endian, alone in the first hash block (the rest of it zero):
///
///     0   8  signature "verity\0\0"
///     8   4  version 1
///    12   4  hash type: 1 = normal (salt before the data; 0 is Chrome OS)
///    16  16  UUID of the hash device (binary)
///    32  32  hash algorithm name, NUL-padded ("sha256")
///    64   4  data block size
///    68   4  hash block size
///    72   8  number of data blocks
///    80   2  salt size (at most 256)
///    82   6  zero
///    88 256  salt, zero-padded
///   344 168  zero
public struct VeritySuperblock: Sendable, Equatable {
    public static let size = 512
    public var uuid: [UInt8]
    public var algorithm: String
    public var dataBlockSize: UInt32
    public var hashBlockSize: UInt32
    public var dataBlocks: UInt64
    public var salt: [UInt8]

    public init(uuid: [UInt8], algorithm: String = "sha256", dataBlockSize: UInt32 = 4096,
                hashBlockSize: UInt32 = 4096, dataBlocks: UInt64, salt: [UInt8]) {
        precondition(uuid.count == 16 && salt.count <= 256 && algorithm.utf8.count < 32)
        self.uuid = uuid
        self.algorithm = algorithm
        self.dataBlockSize = dataBlockSize
        self.hashBlockSize = hashBlockSize
        self.dataBlocks = dataBlocks
        self.salt = salt
    }

    public func encode() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.size)
        func put(_ v: UInt64, at o: Int, _ n: Int) {
            for i in 0..<n { b[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
        }
        b.replaceSubrange(0..<6, with: Array("verity".utf8))
        put(1, at: 8, 4)
        put(1, at: 12, 4)
        b.replaceSubrange(16..<32, with: uuid)
        let alg = Array(algorithm.utf8)
        b.replaceSubrange(32..<(32 + alg.count), with: alg)
        put(UInt64(dataBlockSize), at: 64, 4)
        put(UInt64(hashBlockSize), at: 68, 4)
        put(dataBlocks, at: 72, 8)
        put(UInt64(salt.count), at: 80, 2)
        b.replaceSubrange(88..<(88 + salt.count), with: salt)
        return b
    }

    /// Reads a superblock; nil with the reason when `bytes` is not one this
    /// module could have written (format 1, sha256).
    public static func decode(_ bytes: [UInt8]) -> Result<VeritySuperblock, VerityError> {
        guard bytes.count >= size else { return .failure(VerityError(.superblock, "shorter than a verity superblock (\(bytes.count) bytes)")) }
        guard bytes[0..<8].elementsEqual(Array("verity".utf8) + [0, 0]) else {
            return .failure(VerityError(.superblock, "no verity superblock (the file does not start with \"verity\")"))
        }
        func get(_ o: Int, _ n: Int) -> UInt64 {
            var v: UInt64 = 0
            for i in (0..<n).reversed() { v = v << 8 | UInt64(bytes[o + i]) }
            return v
        }
        guard get(8, 4) == 1 else { return .failure(VerityError(.superblock, "verity superblock version \(get(8, 4)), expected 1")) }
        guard get(12, 4) == 1 else { return .failure(VerityError(.superblock, "verity hash type \(get(12, 4)), expected 1 (normal)")) }
        let alg = String(decoding: bytes[32..<64].prefix { $0 != 0 }, as: UTF8.self)
        guard alg == "sha256" else { return .failure(VerityError(.superblock, "verity hash algorithm \"\(alg)\"; only sha256 is supported")) }
        let saltSize = Int(get(80, 2))
        guard saltSize <= 256 else { return .failure(VerityError(.superblock, "verity salt size \(saltSize) is over 256")) }
        let sb = VeritySuperblock(uuid: Array(bytes[16..<32]), algorithm: alg,
                                  dataBlockSize: UInt32(get(64, 4)), hashBlockSize: UInt32(get(68, 4)),
                                  dataBlocks: get(72, 8), salt: Array(bytes[88..<(88 + saltSize)]))
        guard sb.dataBlockSize == 4096 && sb.hashBlockSize == 4096 else {
            return .failure(VerityError(.superblock, "verity block sizes \(sb.dataBlockSize)/\(sb.hashBlockSize); only 4096/4096 is supported"))
        }
        return .success(sb)
    }
}
