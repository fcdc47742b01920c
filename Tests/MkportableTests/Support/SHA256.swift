import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// SHA-256 for content digests. Uses the system libcrypto when it can be
/// loaded (fast, even in debug builds) and a small Swift implementation
/// otherwise; `SHA256Tests`-style self-checks compare both against
/// `sha256sum`.
public struct SHA256Digest {
    private var backend: Backend

    private enum Backend {
        case libcrypto(UnsafeMutableRawPointer)
        case swift(SwiftSHA256)
    }

    public init(forceSwift: Bool = false) {
        if !forceSwift, let lib = LibCrypto.shared {
            let ctx = UnsafeMutableRawPointer.allocate(byteCount: 512, alignment: 16)
            _ = lib.initFn(ctx)
            backend = .libcrypto(ctx)
        } else {
            backend = .swift(SwiftSHA256())
        }
    }

    public mutating func update(_ data: UnsafeRawBufferPointer) {
        switch backend {
        case .libcrypto(let ctx):
            if data.count > 0 { _ = LibCrypto.shared!.updateFn(ctx, data.baseAddress!, data.count) }
        case .swift(var s):
            s.update(data)
            backend = .swift(s)
        }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Lowercase hex digest. The value must not be used afterwards.
    public mutating func finalizeHex() -> String {
        var out = [UInt8](repeating: 0, count: 32)
        switch backend {
        case .libcrypto(let ctx):
            out.withUnsafeMutableBytes { _ = LibCrypto.shared!.finalFn($0.baseAddress!, ctx) }
            ctx.deallocate()
        case .swift(var s):
            out = s.finalize()
        }
        return out.map { String(format: "%02x", $0) }.joined()
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        var h = SHA256Digest()
        h.update(bytes)
        return h.finalizeHex()
    }

    public static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        var h = SHA256Digest()
        h.update(bytes)
        return h.finalizeHex()
    }

    /// Digest and byte count of a file, read without following symlinks.
    public static func file(_ path: RawPath) throws -> (digest: String, size: UInt64) {
        var h = SHA256Digest()
        var size: UInt64 = 0
        try Posix.readChunks(path) { chunk in
            h.update(chunk)
            size += UInt64(chunk.count)
        }
        return (h.finalizeHex(), size)
    }

    public static var usingLibcrypto: Bool { LibCrypto.shared != nil }
}

private final class LibCrypto {
    typealias InitFn = @convention(c) (UnsafeMutableRawPointer) -> Int32
    typealias UpdateFn = @convention(c) (UnsafeMutableRawPointer, UnsafeRawPointer, Int) -> Int32
    typealias FinalFn = @convention(c) (UnsafeMutableRawPointer, UnsafeMutableRawPointer) -> Int32
    let initFn: InitFn
    let updateFn: UpdateFn
    let finalFn: FinalFn

    nonisolated(unsafe) static let shared: LibCrypto? = {
        if ProcessInfo.processInfo.environment["MKPORTABLE_TEST_SWIFT_SHA256"] != nil { return nil }
        for name in ["libcrypto.so.3", "libcrypto.so", "libcrypto.so.1.1"] {
            guard let h = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
            guard let i = dlsym(h, "SHA256_Init"), let u = dlsym(h, "SHA256_Update"), let f = dlsym(h, "SHA256_Final") else { continue }
            return LibCrypto(initFn: unsafeBitCast(i, to: InitFn.self), updateFn: unsafeBitCast(u, to: UpdateFn.self), finalFn: unsafeBitCast(f, to: FinalFn.self))
        }
        return nil
    }()

    init(initFn: InitFn, updateFn: UpdateFn, finalFn: FinalFn) {
        self.initFn = initFn
        self.updateFn = updateFn
        self.finalFn = finalFn
    }
}

/// FIPS 180-4 SHA-256, used when libcrypto is unavailable.
struct SwiftSHA256 {
    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]
    private var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    mutating func update(_ data: UnsafeRawBufferPointer) {
        length += UInt64(data.count)
        var i = 0
        if !pending.isEmpty {
            let take = min(64 - pending.count, data.count)
            pending.append(contentsOf: data[0..<take])
            i = take
            if pending.count == 64 {
                pending.withUnsafeBytes { block($0.baseAddress!) }
                pending.removeAll(keepingCapacity: true)
            }
        }
        while i + 64 <= data.count {
            block(data.baseAddress! + i)
            i += 64
        }
        if i < data.count { pending.append(contentsOf: data[i...]) }
    }

    mutating func finalize() -> [UInt8] {
        let bitLength = length &* 8
        var tail: [UInt8] = [0x80]
        let padded = (pending.count + 1 + 8 + 63) / 64 * 64
        tail += [UInt8](repeating: 0, count: padded - pending.count - 1 - 8)
        for s in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(s))) }
        let savedLength = length
        tail.withUnsafeBytes { update($0) }
        length = savedLength
        precondition(pending.isEmpty)
        var out: [UInt8] = []
        for v in h { out += [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }
        return out
    }

    private mutating func block(_ p: UnsafeRawPointer) {
        var w = [UInt32](repeating: 0, count: 64)
        for i in 0..<16 { w[i] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)) }
        for i in 16..<64 {
            let a = w[i - 15], b = w[i - 2]
            let s0 = (a >> 7 | a << 25) ^ (a >> 18 | a << 14) ^ (a >> 3)
            let s1 = (b >> 17 | b << 15) ^ (b >> 19 | b << 13) ^ (b >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7]
        for i in 0..<64 {
            let s1 = (e >> 6 | e << 26) ^ (e >> 11 | e << 21) ^ (e >> 25 | e << 7)
            let ch = (e & f) ^ (~e & g)
            let t1 = hh &+ s1 &+ ch &+ SwiftSHA256.k[i] &+ w[i]
            let s0 = (a >> 2 | a << 30) ^ (a >> 13 | a << 19) ^ (a >> 22 | a << 10)
            let maj = (a & b) ^ (a & c) ^ (b & c)
            let t2 = s0 &+ maj
            hh = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ t2
        }
        h[0] = h[0] &+ a; h[1] = h[1] &+ b; h[2] = h[2] &+ c; h[3] = h[3] &+ d
        h[4] = h[4] &+ e; h[5] = h[5] &+ f; h[6] = h[6] &+ g; h[7] = h[7] &+ hh
    }
}
