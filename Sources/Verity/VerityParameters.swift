import Hex

/// The salt and superblock UUID of a hash tree, derived from a seed that
/// identifies the image, never from randomness or the clock.
///
/// Derivation (the salt as systemd-repart derives it from its `--seed`):
///
///     salt = HMAC-SHA256(seed, "verity-salt")                  32 bytes
///     uuid = first 16 bytes of HMAC-SHA256(seed, "verity-uuid"),
///            marked as an RFC 4122 version 4 UUID
///
/// Why a derived salt is safe: dm-verity's salt is not a secret (it stands
/// in the clear in the superblock and in every dm table). It only makes
/// the hash tree specific to one image, so that work spent attacking one
/// tree (precomputed tables, multi-target searches for a colliding block)
/// does not carry over to another. That needs distinct images to get
/// distinct salts, which a seed made from the image's own definition gives,
/// and an identical definition to get the same salt, which is what a
/// reproducible build is. Integrity rests on SHA-256's second-preimage
/// resistance either way; whoever could choose the seed could choose the
/// image's content itself. The UUID only names the hash device.
public struct VerityParameters: Sendable, Equatable {
    public var salt: [UInt8]
    public var uuid: [UInt8]

    public init(salt: [UInt8], uuid: [UInt8]) {
        self.salt = salt
        self.uuid = uuid
    }

    public init(seed: [UInt8]) {
        salt = SHA256.hmac(key: seed, message: Array("verity-salt".utf8))
        uuid = v4UUID(SHA256.hmac(key: seed, message: Array("verity-uuid".utf8)))
    }
}

/// The first 16 bytes of `bytes` as a version 4, variant 1 UUID (what
/// systemd's `id128_make_v4_uuid` does to a hash).
public func v4UUID(_ bytes: [UInt8]) -> [UInt8] {
    var u = Array(bytes.prefix(16))
    u[6] = (u[6] & 0x0f) | 0x40
    u[8] = (u[8] & 0x3f) | 0x80
    return u
}

/// `12345678-1234-4234-8234-123456789abc` for 16 bytes.
public func uuidString(_ u: [UInt8]) -> String {
    let h = hex(u)
    let c = Array(h)
    return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-" + String(c[16..<20]) + "-" + String(c[20..<32])
}
