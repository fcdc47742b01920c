/// The export (inode lookup) table, which lets the kernel serve NFS file
/// handles and which mksquashfs writes by default.
///
/// On-disk rule: entry i is the u64 inode reference of inode number i + 1,
/// so inode numbers must be exactly 1...inode_count. Entries are packed into
/// metadata blocks (1024 per block) followed by the u64 positions of those
/// blocks; export_table_start points at the positions.
struct ExportTable {
    private var refs: [UInt64]

    init(inodeCount: Int) {
        refs = [UInt64](repeating: UInt64.max, count: inodeCount)
    }

    mutating func record(inodeNumber: UInt32, ref: UInt64) {
        refs[Int(inodeNumber) - 1] = ref
    }

    func build(start: UInt64, jobs: Int, makeWorker: () -> any CompressorWorker) throws(SquashFSError) -> (bytes: [UInt8], indexStart: UInt64) {
        var b = ByteBuffer(capacity: refs.count * 8)
        for r in refs {
            precondition(r != UInt64.max, "inode numbering left a gap")
            b.u64(r)
        }
        return try IndexedTable.build(entries: b.bytes, start: start, jobs: jobs, makeWorker: makeWorker)
    }
}
