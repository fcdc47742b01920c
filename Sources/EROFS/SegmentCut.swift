/// Where a compressed file's content-defined chunks end: at points its
/// bytes choose, so that a run of bytes two files share is cut the same
/// way in both, whatever precedes it. A chunk that occurs more than once
/// becomes a segment of its own (`SegmentPlan`), stored once
/// (`SegmentDedupe`).
///
/// A chunk that does not end the file ends after the first byte, at
/// least `minimum` bytes in, where a gear hash of the bytes before it (h = h << 1 +
/// G[byte], 64 bits, so only the last 64 bytes count) has its low
/// `maskBits` bits zero; with no such byte, it is `Segment.size` long. G
/// is a fixed table (SplitMix64 from seed 0), part of the image's
/// definition. So the cut is a function of the file's bytes alone, and a
/// run two files share is cut alike wherever it lies in them. The index
/// allows one extent start per lcluster, so a segment's last extent must
/// start in an earlier lcluster than the next segment's first: `Extents`
/// makes every extent of a segment that ends inside a block (not the
/// file's last) at least 4096 bytes long. That needs pclusters of 4 blocks or more; with smaller
/// ones (`aligned`) the cut moves on to the file's next 4096-byte boundary
/// (so only runs at the same offset modulo 4096 are cut alike).
enum SegmentCut {
    /// 16 KiB and 13 bits (chunks of 24 KiB on average): of the settings
    /// measured on the bench closure since shared chunks join
    /// (`SegmentPlan`; 8 KiB to 128 KiB, 12 to 16 bits; docs/erofs.md),
    /// the smallest image. It must stay over two blocks: a segment that
    /// ends inside a block needs 8192 bytes or more (`Extents`; 4 KiB
    /// chunks broke the index).
    static let minimum = Segment.size / 64
    static let maskBits = 13
    /// The smallest pcluster size with which cuts need not be aligned.
    static let unalignedPcluster = 4 * Geometry.blockSize
    private static let mask: UInt64 = (1 << UInt64(maskBits)) - 1

    static let gear: [UInt64] = {
        var state: UInt64 = 0
        return (0..<256).map { _ in
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }()

    /// The length of the chunk that starts `bytes` (which hold what is
    /// left of the file, up to `Segment.size` bytes); all of them when
    /// they end the file.
    /// `offset`: where in the file they start (a multiple of 4096).
    static func length(_ bytes: UnsafeRawBufferPointer, at offset: UInt64, endsFile: Bool, aligned: Bool) -> Int {
        if endsFile || bytes.count <= minimum { return bytes.count }
        let bs = UInt64(Geometry.blockSize)
        let round = { (n: Int) in aligned ? min(bytes.count, Int((offset + UInt64(n) + bs - 1) / bs * bs - offset)) : n }
        var h: UInt64 = 0
        let table = gear
        return table.withUnsafeBufferPointer { g in
            for i in (minimum - 64)..<bytes.count {
                h = (h << 1) &+ g[Int(bytes[i])]
                if i >= minimum - 1, h & mask == 0 { return round(i + 1) }
            }
            return bytes.count
        }
    }
}
