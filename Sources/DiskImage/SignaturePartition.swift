/// The content of a `root-verity-sig` partition.
///
/// Rule (UAPI Discoverable Partitions Specification; systemd-repart's
/// writer): one JSON object, written compactly with its keys in this
/// order, `{"rootHash":HEX,"certificateFingerprint":HEX,"signature":BASE64}`,
/// where the root hash and the certificate's SHA-256 fingerprint are 64
/// lower-case hex digits and the signature is the DER PKCS#7 signature in
/// canonical base64 (`Base64`); then NUL bytes to the partition's end.
/// Read back, the content must be exactly that form; anything else was not
/// written by `sign` (or by repart, which writes the same) and is refused.
public struct SignaturePartition: Sendable, Equatable {
    /// The partition size `sign` gives it (as repart does).
    public static let size: UInt64 = 16384

    public var rootHashHex: String
    public var certificateFingerprint: String
    public var signature: [UInt8]

    public init(rootHashHex: String, certificateFingerprint: String, signature: [UInt8]) {
        self.rootHashHex = rootHashHex
        self.certificateFingerprint = certificateFingerprint
        self.signature = signature
    }

    static let keys = ["{\"rootHash\":\"", "\",\"certificateFingerprint\":\"", "\",\"signature\":\"", "\"}"].map { Array($0.utf8) }

    /// The partition's `size` bytes; nil if the JSON would not fit (it
    /// needs at least one NUL after it).
    public func encode() -> [UInt8]? {
        var b = Self.keys[0] + Array(rootHashHex.utf8) + Self.keys[1] + Array(certificateFingerprint.utf8)
        b += Self.keys[2] + Array(Base64.encode(signature).utf8) + Self.keys[3]
        guard UInt64(b.count) < Self.size else { return nil }
        return b + [UInt8](repeating: 0, count: Int(Self.size) - b.count)
    }

    /// Reads a partition's whole content.
    public static func decode(_ content: [UInt8]) throws(DiskImageError) -> SignaturePartition {
        func fail(_ what: String) -> DiskImageError {
            DiskImageError(.signaturePartition, "the signature partition \(what)")
        }
        let end = content.firstIndex(of: 0) ?? content.count
        guard end < content.count, content[end...].allSatisfy({ $0 == 0 }) else {
            throw fail("is not one JSON object followed by NUL bytes to its end")
        }
        var rest = content[..<end]
        func take(_ key: [UInt8]) throws(DiskImageError) {
            guard rest.starts(with: key) else { throw fail("does not hold {\"rootHash\":...,\"certificateFingerprint\":...,\"signature\":...} in the compact form systemd-repart writes") }
            rest = rest.dropFirst(key.count)
        }
        func value() -> ArraySlice<UInt8> {
            let v = rest.prefix { $0 != UInt8(ascii: "\"") }
            rest = rest.dropFirst(v.count)
            return v
        }
        func isHex64(_ v: ArraySlice<UInt8>) -> Bool {
            v.count == 64 && v.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
        }
        try take(keys[0])
        let hash = value()
        try take(keys[1])
        let fingerprint = value()
        try take(keys[2])
        let sig = value()
        try take(keys[3])
        guard rest.isEmpty else { throw fail("has bytes after its JSON object") }
        guard isHex64(hash), isHex64(fingerprint) else {
            throw fail("does not give the root hash and certificate fingerprint as 64 lower-case hex digits")
        }
        guard let der = Base64.decode(sig), !der.isEmpty else { throw fail("does not give the signature in base64") }
        return SignaturePartition(rootHashHex: String(decoding: hash, as: UTF8.self),
                                  certificateFingerprint: String(decoding: fingerprint, as: UTF8.self), signature: der)
    }
}
