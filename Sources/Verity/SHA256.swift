import CCrypto

/// SHA-256 and HMAC-SHA256 from libcrypto (OpenSSL), the one shim between
/// this module and the C library for hashing. libcrypto picks its SHA-NI or
/// AVX2 code paths at run time.
public enum SHA256 {
    public static let digestSize = 32

    /// SHA-256 of the concatenation of `parts`.
    public static func hash(_ parts: [UInt8]...) -> [UInt8] {
        let h = Hasher()
        var out = [UInt8](repeating: 0, count: digestSize)
        out.withUnsafeMutableBytes { o in
            h.begin()
            for p in parts { p.withUnsafeBytes { h.update($0) } }
            h.end(into: o.baseAddress!)
        }
        return out
    }

    /// HMAC-SHA256(key, message).
    public static func hmac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: digestSize)
        var length: UInt32 = 0
        let ok = key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                out.withUnsafeMutableBytes { o in
                    HMAC(EVP_sha256(), k.baseAddress, Int32(k.count),
                         m.baseAddress?.assumingMemoryBound(to: UInt8.self), m.count,
                         o.baseAddress!.assumingMemoryBound(to: UInt8.self), &length)
                }
            }
        }
        precondition(ok != nil && length == 32, "libcrypto: HMAC-SHA256 failed")
        return out
    }

    /// A reusable digest context: one fetch of the algorithm and one context
    /// for any number of digests (OpenSSL 3 would otherwise look the
    /// algorithm up on every initialisation).
    public final class Hasher {
        private let md: OpaquePointer
        private let ctx: OpaquePointer

        public init() {
            guard let md = EVP_MD_fetch(nil, "SHA256", nil), let ctx = EVP_MD_CTX_new() else {
                fatalError("libcrypto: SHA256 is not available")
            }
            self.md = md
            self.ctx = ctx
        }

        deinit {
            EVP_MD_CTX_free(ctx)
            EVP_MD_free(md)
        }

        public func begin() {
            precondition(EVP_DigestInit_ex(ctx, md, nil) == 1, "libcrypto: SHA256 init failed")
        }

        public func update(_ bytes: UnsafeRawBufferPointer) {
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            precondition(EVP_DigestUpdate(ctx, base, bytes.count) == 1, "libcrypto: SHA256 update failed")
        }

        public func end(into out: UnsafeMutableRawPointer) {
            var n: UInt32 = 0
            precondition(EVP_DigestFinal_ex(ctx, out.assumingMemoryBound(to: UInt8.self), &n) == 1 && n == 32,
                         "libcrypto: SHA256 final failed")
        }
    }
}
