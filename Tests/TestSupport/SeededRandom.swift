/// SplitMix64: a tiny, fast generator that gives the same numbers on
/// every machine for one seed, so a test's data and a fuzz run's mutants
/// can be made again.
public struct SeededRandom {
    public var state: UInt64

    public init(seed: UInt64) { state = seed &+ 0x9e37_79b9_7f4a_7c15 }

    public mutating func next() -> UInt64 {
        state = state &+ 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A number in 0..<n (0 when n < 1).
    public mutating func next(below n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
}
