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

    private let tableCount: Int
    private let monitor = Monitor()
    private var threads: [WorkerThread] = []

    // Guarded by `monitor`:
    /// Cut blocks per table; emptied when a worker takes them.
    private var cuts: [[Cut?]]
    private var nextBlock: [Int]
    private var stored: [[[UInt8]?]]
    private var storedPrefix: [Int]
    private var blockStarts: [[UInt64]]
    private var waiting = 0
    private var finishing = false
    private var failure: SquashFSError?

    init(tables: Int, jobs: Int, makeWorker: () -> any CompressorWorker) throws(SquashFSError) {
        tableCount = tables
        cuts = Array(repeating: [], count: tables)
        nextBlock = Array(repeating: 0, count: tables)
        stored = Array(repeating: [], count: tables)
        storedPrefix = Array(repeating: 0, count: tables)
        blockStarts = Array(repeating: [0], count: tables)
        // Fewer threads than asked, if the system refuses more, change
        // nothing but speed (the blocks' order is fixed by the tables).
        threads = try WorkerThread.startPool(jobs, what: "compression") { _ in
            let worker = makeWorker()
            return { [unowned self] in self.work(worker) }
        }.threads
    }

    deinit {
        stop()
    }

    /// Queues the next block of `table` (blocks of one table come in order).
    /// `fixups` are the fields that overlap the block.
    func submit(table: Int, block: [UInt8], fixups: [MetadataFixup]) {
        var needs = [Int](repeating: 0, count: tableCount)
        for f in fixups {
            precondition(f.table < tableCount, "metadata field names a table this compressor does not hold")
            needs[f.table] = max(needs[f.table], f.block)
        }
        monitor.locked {
            while waiting >= Self.maxWaiting && failure == nil { monitor.wait() }
            cuts[table].append(Cut(bytes: block, fixups: fixups, needs: needs))
            stored[table].append(nil)
            waiting += 1
            monitor.broadcast()
        }
    }

    /// Waits for every submitted block and returns the stored tables.
    func finish() throws(SquashFSError) -> [StoredMetadata] {
        stop()
        if let e = failure { throw e }
        let tables = (0..<tableCount).map { t in
            StoredMetadata(blocks: stored[t].map { $0! }, blockStarts: blockStarts[t])
        }
        stored = []
        return tables
    }

    private func stop() {
        guard !threads.isEmpty else { return }
        monitor.locked {
            finishing = true
            monitor.broadcast()
        }
        for t in threads { t.join() }
        threads = []
    }

    /// Called with the monitor held: the next ready block, if any. Its
    /// bytes are moved into `bytes`, so the caller owns them alone.
    private func claim(into bytes: inout [UInt8]) -> (table: Int, block: Int, fixups: [MetadataFixup])? {
        for t in 0..<tableCount where nextBlock[t] < cuts[t].count {
            let b = nextBlock[t]
            let needs = cuts[t][b]!.needs
            if needs.indices.allSatisfy({ storedPrefix[$0] >= needs[$0] }) {
                nextBlock[t] += 1
                swap(&bytes, &cuts[t][b]!.bytes)
                let fixups = cuts[t][b]!.fixups
                cuts[t][b] = nil
                return (t, b, fixups)
            }
        }
        return nil
    }

    private func work(_ worker: any CompressorWorker) {
        let blockSize = MetadataWriter.blockSize
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
        defer { scratch.deallocate() }
        var values: [UInt64] = []
        var bytes: [UInt8] = []
        while true {
            monitor.lock()
            var job: (table: Int, block: Int, fixups: [MetadataFixup])?
            while failure == nil {
                job = claim(into: &bytes)
                if job != nil || (finishing && nextBlock.indices.allSatisfy({ nextBlock[$0] == cuts[$0].count })) { break }
                monitor.wait()
            }
            guard let (t, b, fixups) = job else {
                monitor.unlock()
                return
            }
            values.removeAll(keepingCapacity: true)
            for f in fixups { values.append(blockStarts[f.table][f.block]) }
            monitor.unlock()

            // Fill the fields in place and compress.
            let outcome: Result<[UInt8], SquashFSError>
            let lower = b * blockSize
            if let (f, _) = zip(fixups, values).first(where: { $0.1 > UInt64(UInt32.max) }) {
                let name = MetadataTable(rawValue: f.table).map { "the \($0) table" } ?? "a metadata table"
                outcome = .failure(SquashFSError("\(name) passes 4 GiB, but squashfs stores positions in it as 32-bit numbers; split the tree into several images"))
            } else {
                for (f, v) in zip(fixups, values) {
                    for i in 0..<4 where f.position + i >= lower && f.position + i < lower + bytes.count {
                        bytes[f.position + i - lower] = UInt8(truncatingIfNeeded: v >> UInt64(8 * i))
                    }
                }
                outcome = bytes.withUnsafeBytes { input in
                    Result { () throws(SquashFSError) -> [UInt8] in
                        try StoredMetadata.store(input, worker: worker, scratch: scratch)
                    }
                }
            }
            bytes = []

            monitor.locked {
                switch outcome {
                case .failure(let e):
                    if failure == nil { failure = e }
                case .success(let block):
                    stored[t][b] = block
                    while storedPrefix[t] < stored[t].count, let done = stored[t][storedPrefix[t]] {
                        blockStarts[t].append(blockStarts[t].last! + UInt64(done.count))
                        storedPrefix[t] += 1
                    }
                }
                waiting -= 1
                monitor.broadcast()
            }
        }
    }
}
