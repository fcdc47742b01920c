/// The fragment table: where each fragment block (packed file tails) lives.
///
/// On-disk rule: entry i is 16 bytes: u64 absolute start, u32 stored size
/// (bit 24 set when the block is stored uncompressed), u32 zero. Entries
/// are packed into metadata blocks (512 per block) followed by the u64
/// positions of those blocks; fragment_table_start points at the positions.
/// A file with no tail uses fragment index 0xFFFF_FFFF.
struct FragmentTable {
    static let none: UInt32 = 0xFFFF_FFFF

    private(set) var entries: [(start: UInt64, size: UInt32)] = []

    var count: Int { entries.count }

    /// Reserves the next index, before the block is written.
    mutating func reserve() -> UInt32 {
        entries.append((0, 0))
        return UInt32(entries.count - 1)
    }

    mutating func set(_ index: UInt32, start: UInt64, size: UInt32) {
        entries[Int(index)] = (start, size)
    }

    func build(start: UInt64, jobs: Int, makeWorker: () -> any CompressorWorker) throws(SquashFSError) -> (bytes: [UInt8], indexStart: UInt64) {
        var b = ByteBuffer(capacity: entries.count * 16)
        for e in entries {
            b.u64(e.start)
            b.u32(e.size)
            b.u32(0)
        }
        return try IndexedTable.build(entries: b.bytes, start: start, jobs: jobs, makeWorker: makeWorker)
    }
}
