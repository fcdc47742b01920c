import SystemIO
#if canImport(Glibc)
import Glibc
#endif

/// Compresses metadata blocks on worker threads while they are laid out.
///
/// On-disk rule: every field recorded as a `MetadataFixup` holds the
/// stored start of its target block, relative to the start of the target's
/// table, as a u32; a table that would put such a start beyond 4 GiB cannot
/// be stored and is an error.
///
/// Order: a block can be compressed once its fields are known, that is
/// once every block before each target is stored. A field is always
/// written after its target block was begun, so each dependency is on a
/// block that was cut before the dependent one; the oldest block not yet
/// stored is therefore always ready, and the work never deadlocks. Workers
/// take blocks in each table's order as they become ready. Each block's
/// bytes depend only on the laid-out streams, never on which thread
/// compressed it or when, so the tables do not depend on `jobs`.
///
/// Memory: `submit` waits while `maxWaiting` blocks are cut but not yet
/// stored, so the uncompressed metadata in memory stays bounded whatever
/// the number of entries; the stored blocks are kept until `finish`.
final class MetadataCompressor: @unchecked Sendable {
    static let maxWaiting = 64

    private struct Cut {
        var bytes: [UInt8]
        var fixups: [MetadataFixup]
        /// needs[t]: blocks of table t that must be stored first.
        var needs: [Int]
    }

    private let ledger: Ledger
    private var pool: WorkerPool<Job, Result<[UInt8], SquashFSError>>!

    /// A ready block, taken by one worker: its bytes (moved out of `cuts`,
    /// and out of the job by the worker, so it owns them alone and fills
    /// the fields in place), its fields and their values, read under the
    /// lock.
    private final class Job {
        let table: Int
        let block: Int
        var bytes: [UInt8]
        let fixups: [MetadataFixup]
        let values: [UInt64]
        init(table: Int, block: Int, bytes: [UInt8], fixups: [MetadataFixup], values: [UInt64]) {
            self.table = table; self.block = block; self.bytes = bytes; self.fixups = fixups; self.values = values
        }
    }

    /// What the workers share with `submit` and `finish`, guarded by
    /// `pool.monitor`. A class of its own, held strongly by the pool's
    /// `take` and `finish`, so a worker never touches the compressor itself
    /// (which may be mid-deinit when the pool is stopped from there).
    private final class Ledger {
        let tableCount: Int
        /// Cut blocks per table; emptied when a worker takes them.
        var cuts: [[Cut?]]
        var nextBlock: [Int]
        var stored: [[[UInt8]?]]
        var storedPrefix: [Int]
        var blockStarts: [[UInt64]]
        var waiting = 0
        var failure: SquashFSError?

        init(tables: Int) {
            tableCount = tables
            cuts = Array(repeating: [], count: tables)
            nextBlock = Array(repeating: 0, count: tables)
            stored = Array(repeating: [], count: tables)
            storedPrefix = Array(repeating: 0, count: tables)
            blockStarts = Array(repeating: [0], count: tables)
        }

        /// Called with the monitor held: the next ready block (see the order
        /// argument above), or wait, or end once `finishing` and every cut
        /// block is taken, or at the first failure.
        func take(finishing: Bool) -> WorkerPool<Job, Result<[UInt8], SquashFSError>>.Next {
            if failure != nil { return .end }
            for t in 0..<tableCount where nextBlock[t] < cuts[t].count {
                let b = nextBlock[t]
                let needs = cuts[t][b]!.needs
                if needs.indices.allSatisfy({ storedPrefix[$0] >= needs[$0] }) {
                    nextBlock[t] += 1
                    let cut = cuts[t][b]!
                    cuts[t][b] = nil
                    let values = cut.fixups.map { blockStarts[$0.table][$0.block] }
                    return .job(Job(table: t, block: b, bytes: cut.bytes, fixups: cut.fixups, values: values))
                }
            }
            let allTaken = nextBlock.indices.allSatisfy { nextBlock[$0] == cuts[$0].count }
            return finishing && allTaken ? .end : .wait
        }

        /// Called with the monitor held: a worker's stored block (or failure).
        func record(_ job: Job, _ outcome: Result<[UInt8], SquashFSError>) {
            let t = job.table
            switch outcome {
            case .failure(let e):
                if failure == nil { failure = e }
            case .success(let block):
                stored[t][job.block] = block
                while storedPrefix[t] < stored[t].count, let done = stored[t][storedPrefix[t]] {
                    blockStarts[t].append(blockStarts[t].last! + UInt64(done.count))
                    storedPrefix[t] += 1
                }
            }
            waiting -= 1
        }
    }

    init(tables: Int, jobs: Int, makeWorker: () -> any CompressorWorker) throws(SquashFSError) {
        let ledger = Ledger(tables: tables)
        self.ledger = ledger
        // Fewer threads than asked, if the system refuses more, change
        // nothing but speed (the blocks' order is fixed by the tables).
        pool = try WorkerPool(
            count: jobs,
            take: { stopping in ledger.take(finishing: stopping) },
            finish: { job, outcome in ledger.record(job, outcome) },
            makeWork: { (_: Int) throws(SquashFSError) -> (Job) -> Result<[UInt8], SquashFSError> in
                let compression = MetadataBlockCompression(worker: makeWorker())
                return { job in
                    var bytes: [UInt8] = []
                    swap(&bytes, &job.bytes)
                    return compression.store(&bytes, block: job.block, fixups: job.fixups, values: job.values)
                }
            },
            noThread: { SquashFSError.noThread("metadata compression", $0) },
            idleReport: Trace.idleReport("metadata compression"))
    }

    deinit {
        pool?.stop()
    }

    /// Queues the next block of `table` (blocks of one table come in order).
    /// `fixups` are the fields that overlap the block.
    func submit(table: Int, block: [UInt8], fixups: [MetadataFixup]) {
        let tableCount = ledger.tableCount
        var needs = [Int](repeating: 0, count: tableCount)
        for f in fixups {
            precondition(f.table < tableCount, "metadata field names a table this compressor does not hold")
            needs[f.table] = max(needs[f.table], f.block)
        }
        let monitor = pool.monitor
        monitor.locked {
            while ledger.waiting >= Self.maxWaiting && ledger.failure == nil { monitor.wait() }
            ledger.cuts[table].append(Cut(bytes: block, fixups: fixups, needs: needs))
            ledger.stored[table].append(nil)
            ledger.waiting += 1
            monitor.broadcast()
        }
    }

    /// Waits for every submitted block and returns the stored tables.
    func finish() throws(SquashFSError) -> [StoredMetadata] {
        pool.stop()
        if let e = ledger.failure { throw e }
        let tables = (0..<ledger.tableCount).map { t in
            StoredMetadata(blocks: ledger.stored[t].map { $0! }, blockStarts: ledger.blockStarts[t])
        }
        ledger.stored = []
        return tables
    }

}

/// One metadata compression thread's worker and scratch block.
private final class MetadataBlockCompression {
    let worker: any CompressorWorker
    let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: MetadataWriter.blockSize, alignment: 16)

    init(worker: any CompressorWorker) {
        self.worker = worker
    }

    deinit {
        scratch.deallocate()
    }

    /// Fills the fields in place and compresses.
    func store(_ bytes: inout [UInt8], block b: Int, fixups: [MetadataFixup], values: [UInt64]) -> Result<[UInt8], SquashFSError> {
        let lower = b * MetadataWriter.blockSize
        if let (f, _) = zip(fixups, values).first(where: { $0.1 > UInt64(UInt32.max) }) {
            let name = MetadataTable(rawValue: f.table).map { "the \($0) table" } ?? "a metadata table"
            return .failure(SquashFSError("\(name) passes 4 GiB, but squashfs stores positions in it as 32-bit numbers; split the tree into several images"))
        }
        for (f, v) in zip(fixups, values) {
            for i in 0..<4 where f.position + i >= lower && f.position + i < lower + bytes.count {
                bytes[f.position + i - lower] = UInt8(truncatingIfNeeded: v >> UInt64(8 * i))
            }
        }
        return bytes.withUnsafeBytes { input in
            Result { () throws(SquashFSError) -> [UInt8] in
                try StoredMetadata.store(input, worker: worker, scratch: scratch)
            }
        }
    }
}
