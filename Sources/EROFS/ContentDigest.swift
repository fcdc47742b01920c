/// A 128-bit digest of the bytes of an image, from which its UUID is made,
/// so that the UUID is a function of the content alone (never random).
/// Not cryptographic: it only has to differ between different images.
struct ContentDigest {
    private var a: UInt64 = 0x9E37_79B9_7F4A_7C15
    private var b: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private var total: UInt64 = 0

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var i = 0
        let n = bytes.count
        var a = self.a, b = self.b
        while i + 8 <= n {
            let w = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            a = (a ^ w) &* 0x100_0000_01B3 &+ 0x2545_F491_4F6C_DD1D
            a ^= a >> 29
            b = (b &+ w) &* 0xFF51_AFD7_ED55_8CCD
            b ^= b >> 31
            i += 8
        }
        while i < n {
            let w = UInt64(bytes[i])
            a = (a ^ w) &* 0x100_0000_01B3
            b = (b &+ w) &* 0xC4CE_B9FE_1A85_EC53
            i += 1
        }
        self.a = a
        self.b = b
        total &+= UInt64(n)
    }

    private static func finish(_ x0: UInt64) -> UInt64 {
        var x = x0
        x ^= x >> 33
        x = x &* 0xFF51_AFD7_ED55_8CCD
        x ^= x >> 33
        x = x &* 0xC4CE_B9FE_1A85_EC53
        x ^= x >> 33
        return x
    }

    /// An RFC 9562 version 8 (custom) UUID from the digest.
    var uuid: [UInt8] {
        let hi = ContentDigest.finish(a ^ total), lo = ContentDigest.finish(b &+ hi)
        var u: [UInt8] = []
        for i in 0..<8 { u.append(UInt8(truncatingIfNeeded: hi >> (56 - 8 * UInt64(i)))) }
        for i in 0..<8 { u.append(UInt8(truncatingIfNeeded: lo >> (56 - 8 * UInt64(i)))) }
        u[6] = (u[6] & 0x0F) | 0x80
        u[8] = (u[8] & 0x3F) | 0x80
        return u
    }
}
