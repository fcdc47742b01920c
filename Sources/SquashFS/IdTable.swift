/// The id table: the distinct uids and gids, referenced by 16-bit index
/// from every inode.
///
/// On-disk rule: u32 ids packed into metadata blocks (2048 per block),
/// followed by the u64 positions of those blocks; the superblock's
/// id_table_start points at the positions and id_count gives the length.
/// Every entry here is owned by 0:0, so the table is exactly one id, 0, and
/// every inode's uid and gid index is 0.
struct IdTable {
    private(set) var ids: [UInt32] = [0]

    /// Index of the only owner there is (root).
    static let rootIndex: UInt16 = 0

    func build(start: UInt64, jobs: Int, makeWorker: () -> any CompressorWorker) throws(SquashFSError) -> (bytes: [UInt8], indexStart: UInt64) {
        var b = ByteBuffer()
        for id in ids { b.u32(id) }
        return try IndexedTable.build(entries: b.bytes, start: start, jobs: jobs, makeWorker: makeWorker)
    }
}
