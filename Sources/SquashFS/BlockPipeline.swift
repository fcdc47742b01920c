#if canImport(Glibc)
import Glibc
import SystemIO
#endif

/// Stores data blocks: compressed on worker threads, written in the order
/// they were submitted (squashfs-tools-ng's block_writer, with the
/// compression that its block_processor does).
///
/// On-disk rule: each stored block has a u32 size word: the stored byte
/// count, with bit 24 set when the bytes are stored uncompressed (the
/// compressor could not shrink them, or `IncompressibleProbe` says it
/// would not), or 0 for a full data block of zeros (read as zeros, or lying
/// in a hole of the source), stored sparse with no bytes at all. Fragment
/// blocks are never sparse. Blocks follow one another with no gaps, in
/// submission order, so their positions depend on the submitted blocks
/// alone, never on which thread compressed which.
///
/// Reading happens on the calling thread into a fixed set of reusable
/// slots; the pool's threads compress slots; the calling thread writes
/// finished slots strictly in submission order (`acquire` writes the
/// oldest when no slot is free). Memory is bounded by the slot count,
/// whatever the amount of data. `stored` hears of every block written.
///
/// Of the slots, `acquire` keeps 2 x threads in flight (one compressing and
/// one waiting per worker) and takes the others, allocated but not yet
/// touched, only when the workers have run out of blocks while the oldest
/// is still compressing. Free slots are reused most recently freed first.
/// So a run whose blocks take about as long as each other (a tree of small
/// files, whose tails fill the fragment blocks) leaves the spare slots
/// untouched, 3 MiB less resident at 1M blocks and two threads, while
/// blocks of mixed cost (the incompressible ones are stored raw in a few
/// milliseconds) still get the whole read-ahead (docs/performance.md).
final class BlockPipeline {
    /// What a block is, so its owner can record where it went.
    enum Kind { case data(file: Int, block: Int), fragment(UInt32) }
    fileprivate enum Outcome {
        case pending, sparse, raw, compressed(Int), failed(SquashFSError)
        var isSettled: Bool {
            if case .pending = self { return false }
            return true
        }
    }

    /// One block in flight. Its single buffer holds the input until a
    /// worker compresses it, then the stored bytes (compressed output is
    /// copied back over the input), so a slot costs one block of memory.
    final class Slot {
        let buffer: UnsafeMutableRawPointer
        var length = 0
        var kind: Kind = .fragment(0)
        var content: BlockContent = .general
        fileprivate var outcome: Outcome = .pending
        /// The block lies in a hole of the source: zeros, not read.
        var hole = false
        fileprivate init?(blockSize: Int) {
            guard let b = Posix.allocateBuffer(blockSize) else { return nil }
            buffer = b
        }
        deinit {
            Glibc.free(buffer)
        }
    }

    private let blockSize: Int
    private let output: ImageSink
    private var pool: WorkerPool<Slot, Outcome>!

    /// Guarded by `pool.monitor`: slots submitted, not yet taken by a worker.
    private let queue = JobQueue<Slot>()

    // The submitting thread's own: free slots, and slots submitted but not
    // yet written, oldest first.
    private var free: [Slot] = []
    private var inflight = FIFO<Slot>()
    private var submittedAny = false
    private var closed = false
    /// All slots, and the fewest ever free (for the trace).
    private var slotCount = 0
    private var fewestFree = 0

    /// Called on the submitting thread for each block as it is written:
    /// its kind, where it starts in the image and its size word.
    var stored: (Kind, _ start: UInt64, _ sizeWord: UInt32) -> Void = { _, _, _ in }

    /// `jobs` compression threads, or fewer if memory or the system holds
    /// fewer (then `refused` says why). `alsoHeld`: bytes of buffers the
    /// caller holds beside the pipeline's, for the address-space plan.
    init(blockSize: Int, compressor: any Compressor, jobs: Int, alsoHeld: Int,
         output: ImageSink) throws(SquashFSError) {
        self.blockSize = blockSize
        self.output = output
        // Slots first: one per worker compressing, one finished early
        // waiting for its turn to be written, one read ahead, and two
        // spare. If memory (ulimit -v, a cgroup) holds fewer, fewer
        // workers run.
        // Under an address-space limit, plan for what each thread costs
        // beyond its slots, and fill at most half of what is left: taking
        // memory until malloc fails would leave nothing for the threads'
        // stacks and the runtime, whose allocations trap.
        let planned = Posix.threadsWithinAddressSpace(jobs, perThread: 4 * blockSize + Posix.threadOverhead, fixed: alsoHeld)
        var slots: [Slot] = []
        while slots.count < 3 * planned + 2, let slot = Slot(blockSize: blockSize) { slots.append(slot) }
        let affordable = min(planned, (slots.count - 2) / 3)
        if affordable < 1 {
            throw SquashFSError.outOfMemory("5 block buffers of \(blockSize) bytes")
        }
        slots.removeLast(slots.count - (3 * affordable + 2))
        free = slots
        slotCount = slots.count
        fewestFree = slots.count
        let compressorID = compressor.id
        pool = try WorkerPool(
            count: affordable,
            take: { [queue] stopping in queue.take(stopping: stopping) },
            finish: { slot, outcome in slot.outcome = outcome },
            makeWork: { (_: Int) throws(SquashFSError) -> (Slot) -> Outcome in
                guard let scratch = Posix.allocateBuffer(blockSize) else {
                    throw SquashFSError.outOfMemory("a compression thread's block of \(blockSize) bytes")
                }
                let work = BlockCompression(blockSize: blockSize, worker: compressor.makeWorker(),
                                            probe: IncompressibleProbe(compressorID: compressorID), scratch: scratch)
                return { slot in work.outcome(of: slot) }
            },
            noThread: { SquashFSError.noThread("compression", $0) },
            idleReport: Trace.idleReport("compression"))
        refused = pool.refused ?? (affordable < jobs ? Errno(ENOMEM) : nil)
        threadCount = pool.count
    }

    /// How many compression threads ran: kept once they have stopped too,
    /// since the metadata after the data is compressed on as many.
    private(set) var threadCount = 0
    private(set) var refused: Errno?

    /// With `Trace` on: how long the ordered writer waited for workers,
    /// to tell I/O-bound from CPU-bound runs (the pool reports its idle).
    private let traceWait = Trace.enabled
    private var writerWait = 0.0

    deinit {
        shutdown()
    }

    /// Stops the workers (after the blocks they hold); idempotent.
    func shutdown() {
        guard let pool, pool.count > 0 else { return }
        if traceWait { Trace.mark("data writer waited \(Int(writerWait * 1000)) ms, filled \(slotCount - fewestFree) of \(slotCount) slots") }
        pool.stop()
    }

    // MARK: ordered submission and writing

    /// A free slot to fill; writes the oldest block first if none is free,
    /// or if enough blocks are in flight to keep every worker busy (unless
    /// the workers run out of blocks while it compresses).
    func acquire() throws(SquashFSError) -> Slot {
        if inflight.count >= 2 * pool.count { try retireOldest(unlessWorkersIdle: !free.isEmpty) }
        if free.isEmpty { try retireOldest() }
        let slot = free.removeLast()
        fewestFree = min(fewestFree, free.count)
        return slot
    }

    /// Hands a filled slot to the workers; it is written after every slot
    /// submitted before it.
    func submit(_ slot: Slot) {
        precondition(!closed, "a block submitted after the pipeline was closed")
        if !submittedAny {
            // Until here the workers had nothing to do: what the process
            // spent so far ran on one core.
            submittedAny = true
            Trace.mark("first block submitted")
        }
        slot.outcome = .pending
        pool.monitor.locked {
            queue.append(slot)
            pool.monitor.broadcast()
        }
        inflight.append(slot)
    }

    /// No block will be submitted any more: a worker that finds none left
    /// to compress ends, and its compressor's state (a zstd context of
    /// up to 17 MB at 1 MiB blocks) is freed while the others finish.
    func close() {
        closed = true
        pool.monitor.locked {
            queue.closed = true
            pool.monitor.broadcast()
        }
    }

    /// After `close`: writes the submitted blocks in order until every data
    /// block is written, so every data block's place is known; the
    /// fragment blocks after them may still wait for a worker or compress.
    /// The free slots are freed, as no block will need them.
    func writeDataBlocks() throws(SquashFSError) {
        while let slot = inflight.first, case .data = slot.kind { try retireOldest() }
        free = []
    }

    /// After `close`: writes the oldest blocks the workers have finished,
    /// in order, waiting for none, and frees their slots (for work done
    /// on this thread while the last blocks compress).
    func writeFinished() throws(SquashFSError) {
        while let slot = inflight.first, pool.monitor.locked({ slot.outcome.isSettled }) {
            try retireOldest()
            free = []
        }
    }

    /// Writes every submitted block, flushes, and frees the slots.
    func finish() throws(SquashFSError) {
        while !inflight.isEmpty { try retireOldest() }
        try output.flush()
        free = []
        inflight.removeAll()
    }

    /// Waits for the oldest block and writes it; with `unlessWorkersIdle`,
    /// stops waiting, writing nothing, once no block is left for a worker.
    private func retireOldest(unlessWorkersIdle: Bool = false) throws(SquashFSError) {
        guard let slot = inflight.first else { return }
        let monitor = pool.monitor
        monitor.lock()
        let t0 = traceWait ? Posix.monotonicSeconds() : 0
        while case .pending = slot.outcome {
            if unlessWorkersIdle && queue.isEmpty { break }
            monitor.wait()
        }
        if traceWait { writerWait += Posix.monotonicSeconds() - t0 }
        let outcome = slot.outcome
        monitor.unlock()
        if case .pending = outcome { return }
        _ = inflight.popFirst()
        free.append(slot)

        let sizeWord: UInt32
        let start = output.position
        switch outcome {
        case .pending: fatalError("unreachable")
        case .failed(let e): throw e
        case .sparse:
            sizeWord = 0
        case .raw:
            try output.write(slot.buffer, slot.length)
            sizeWord = UInt32(slot.length) | (1 << 24)
        case .compressed(let n):
            try output.write(slot.buffer, n)
            sizeWord = UInt32(n)
        }
        stored(slot.kind, start, sizeWord)
    }
}

/// One compression thread's state and the choice of how a block is
/// stored: sparse, raw or compressed (the size-word rule of
/// `BlockPipeline`).
private final class BlockCompression {
    let blockSize: Int
    let worker: any CompressorWorker
    var probe: IncompressibleProbe
    let scratch: UnsafeMutableRawPointer

    init(blockSize: Int, worker: any CompressorWorker, probe: IncompressibleProbe, scratch: UnsafeMutableRawPointer) {
        self.blockSize = blockSize
        self.worker = worker
        self.probe = probe
        self.scratch = scratch
    }

    deinit {
        Glibc.free(scratch)
    }

    func outcome(of slot: BlockPipeline.Slot) -> BlockPipeline.Outcome {
        if slot.hole { return .sparse }
        if case .data = slot.kind, slot.length == blockSize, isAllZero(slot.buffer, slot.length) {
            return .sparse
        }
        if probe.isIncompressible(slot.buffer, slot.length, scratch: scratch, capacity: blockSize) {
            return .raw
        }
        do {
            guard let n = try worker.compress(
                UnsafeRawBufferPointer(start: slot.buffer, count: slot.length),
                into: UnsafeMutableRawBufferPointer(start: scratch, count: blockSize),
                content: slot.content) else { return .raw }
            slot.buffer.copyMemory(from: scratch, byteCount: n)
            return .compressed(n)
        } catch {
            return .failed(error)
        }
    }
}

/// The sparse test: every byte of the block is zero.
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
