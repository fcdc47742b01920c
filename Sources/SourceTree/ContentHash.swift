/// A fast 64-bit content hash used only to find duplicate-file candidates.
/// Candidates are always confirmed byte for byte, so collisions cost time,
/// never correctness.
public struct ContentHash {
    public init() {}
    private var h: UInt64 = 0x9E37_79B9_7F4A_7C15
    private var total: UInt64 = 0

    public mutating func update(_ p: UnsafeRawPointer, _ n: Int) {
        var i = 0
        var h = self.h
        while i + 8 <= n {
            let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ w) &* 0x100_0000_01B3 &+ 0x2545_F491_4F6C_DD1D
            h ^= h >> 29
            i += 8
        }
        while i < n {
            h = (h ^ UInt64(p.load(fromByteOffset: i, as: UInt8.self))) &* 0x100_0000_01B3
            i += 1
        }
        self.h = h
        total &+= UInt64(n)
    }

    public var value: UInt64 {
        var x = h ^ total
        x ^= x >> 33
        x = x &* 0xFF51_AFD7_ED55_8CCD
        x ^= x >> 33
        return x
    }
}
