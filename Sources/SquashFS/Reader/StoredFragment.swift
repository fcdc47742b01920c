import ImageReading

/// A fragment table entry, read (the rule is stated on `FragmentTable`):
/// 16 bytes, the fragment block's start u64, its size word u32 (bit 24:
/// stored uncompressed; the low 24 bits: the stored size) and an unused
/// u32. Checked: the block lies between the superblock and bytes_used and
/// its stored size is 1...block size.
struct StoredFragment: Equatable {
    var start: UInt64
    var storedSize: Int
    var compressed: Bool

    static let width = 16

    static func table(_ sb: Superblock, image: ImageRange, decoder: BlockDecoder) throws(SquashFSError) -> [StoredFragment] {
        guard sb.fragmentCount > 0 else { return [] }
        guard sb.fragmentTableStart != Superblock.absent else {
            throw .badImage("superblock", "\(sb.fragmentCount) fragments but no fragment table")
        }
        let bytes = try IndexedTable.read("fragment table", count: UInt64(sb.fragmentCount), width: width,
                                          start: sb.fragmentTableStart, image: image, superblock: sb, decoder: decoder)
        var r = LittleEndianReader(bytes, place: "fragment table")
        var out: [StoredFragment] = []
        out.reserveCapacity(Int(sb.fragmentCount))
        for index in 0..<Int(sb.fragmentCount) {
            let start = try r.u64(), word = try r.u32()
            _ = try r.u32()
            let size = Int(word & 0xFF_FFFF)
            guard word & ~0x1FF_FFFF == 0, size >= 1, size <= Int(sb.blockSize), start >= UInt64(Superblock.size),
                  start <= sb.bytesUsed, UInt64(size) <= sb.bytesUsed - start else {
                throw .badImage("fragment table entry \(index)", "block at byte \(start) of \(size) stored bytes (size word 0x\(String(word, radix: 16))) is not 1...\(sb.blockSize) bytes inside bytes 96..<\(sb.bytesUsed)")
            }
            out.append(StoredFragment(start: start, storedSize: size, compressed: word & 0x100_0000 == 0))
        }
        return out
    }
}
