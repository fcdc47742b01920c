/// A fast 64-bit content hash used only to find duplicate-file candidates.
/// Candidates are always confirmed byte for byte, so collisions cost time,
/// never correctness.
struct ContentHash {
    private var h: UInt64 = 0x9E37_79B9_7F4A_7C15
    private var total: UInt64 = 0

    mutating func update(_ p: UnsafeRawPointer, _ n: Int) {
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

    var value: UInt64 {
        var x = h ^ total
        x ^= x >> 33
        x = x &* 0xFF51_AFD7_ED55_8CCD
        x ^= x >> 33
        return x
    }
}

@inline(__always)
func isAllZero(_ p: UnsafeRawPointer, _ n: Int) -> Bool {
    var i = 0
    while i + 32 <= n {
        let a = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            | p.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)
            | p.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self)
            | p.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self)
        if a != 0 { return false }
        i += 32
    }
    while i < n {
        if p.load(fromByteOffset: i, as: UInt8.self) != 0 { return false }
        i += 1
    }
    return true
}

/// Finds earlier files with the same size and content hash: an
/// open-addressing table of file indices (4 bytes a slot, at most half
/// full) keyed by one 64-bit mix of size and hash, with same-key files
/// chained through `next`: 12 bytes a file. Different sizes may share a
/// key, so callers check the size (and then the bytes) of each candidate.
struct TwinTable {
    private var slots: [Int32]
    private let mask: Int
    private var keys: [UInt64]
    private var chain: [Int32]

    init(fileCount: Int, candidates: Int) {
        var capacity = 16
        while capacity < 2 * candidates { capacity <<= 1 }
        slots = [Int32](repeating: -1, count: capacity)
        mask = capacity - 1
        keys = [UInt64](repeating: 0, count: fileCount)
        chain = [Int32](repeating: -1, count: fileCount)
    }

    static func key(size: UInt64, hash: UInt64) -> UInt64 {
        hash ^ (size &* 0x9E37_79B9_7F4A_7C15)
    }

    private func slot(key: UInt64) -> Int {
        var p = Int(truncatingIfNeeded: key >> 7) & mask
        while true {
            let f = Int(slots[p])
            if f < 0 || keys[f] == key { return p }
            p = (p + 1) & mask
        }
    }

    /// The most recently added file with this key, or -1.
    func latest(key: UInt64) -> Int {
        Int(slots[slot(key: key)])
    }

    /// The file added before `file` with the same key, or -1.
    func earlier(than file: Int) -> Int { Int(chain[file]) }

    mutating func add(_ file: Int, key: UInt64) {
        let p = slot(key: key)
        keys[file] = key
        chain[file] = slots[p]
        slots[p] = Int32(file)
    }
}
