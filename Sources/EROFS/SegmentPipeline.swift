#if canImport(Glibc)
import Glibc
#endif
import SystemIO

/// Compresses file segments (`Segment`) on worker threads and hands them
/// back to the submitting thread strictly in submission order, so what is
/// written, and where, depends on the submitted segments alone, never on
/// which thread compressed which or how many ran.
///
/// Reading happens on the submitting thread into a fixed set of reusable
/// slots; the shared `WorkerPool`'s threads cut slots into extents
/// (`Extents`); `acquire` hands the oldest finished slot to `retire` when
/// no slot is free, and `finish` the rest. Memory is bounded by the slot
/// count (two segments and a pcluster each), whatever the amount of data.
final class SegmentPipeline {
    enum Outcome { case pending, cut([Extents.Piece]), failed(EROFSError) }

    /// One segment in flight: the input read from the file and, once a
    /// worker is done, the extents' blocks in `output`.
    final class Slot {
        let input: UnsafeMutableRawBufferPointer
        let output: UnsafeMutableRawBufferPointer
        var length = 0
        /// Whose segment it is (the owner's file number) and where in it.
        var file = 0
        var offset: UInt64 = 0
        /// Whether the segment ends the file.
        var fileEnd = false
        /// Its number for `SegmentDedupe` (-1: none), and the earlier
        /// equal segment's, when it has one: then it is not compressed.
        var ordinal = -1
        var original: Int? = nil
        fileprivate(set) var outcome: Outcome = .pending

        fileprivate init?() {
            guard let i = Posix.allocateBuffer(Segment.size) else { return nil }
            guard let o = Posix.allocateBuffer(Segment.size + Segment.maxPcluster) else {
                Glibc.free(i)
                return nil
            }
            input = UnsafeMutableRawBufferPointer(start: i, count: Segment.size)
            output = UnsafeMutableRawBufferPointer(start: o, count: Segment.size + Segment.maxPcluster)
        }

        deinit {
            Glibc.free(input.baseAddress)
            Glibc.free(output.baseAddress)
        }

        var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: input[0..<length]) }
        /// Whether it does not end its file and ends inside a block.
        var openEnd: Bool { !fileEnd && Extents.endsInsideBlock(offset: offset, length: length) }
    }

    /// Slots submitted and not yet taken by a worker.
    private let queue = JobQueue<Slot>()
    private var pool: WorkerPool<Slot, Outcome>!
    private var free: [Slot] = []
    /// Submitted, not yet retired, oldest first.
    private var inflight = FIFO<Slot>()
    /// Hears every slot in submission order, once its outcome is known.
    private let retire: (Slot) throws(EROFSError) -> Void

    /// `jobs` workers (fewer if memory or the system holds fewer), each
    /// with its own encoder for `compression`.
    init(compression: Compression, pclusterSize: Int, jobs: Int, retire: @escaping (Slot) throws(EROFSError) -> Void) throws(EROFSError) {
        self.retire = retire
        // One slot per worker compressing, one finished early, one being
        // read, and one spare: 2 jobs + 2.
        let planned = Posix.threadsWithinAddressSpace(jobs, perThread: 2 * (2 * Segment.size + Segment.maxPcluster) + Posix.threadOverhead, fixed: 0)
        while free.count < 2 * planned + 2, let slot = Slot() { free.append(slot) }
        let workers = min(planned, (free.count - 2) / 2)
        guard workers >= 1 else {
            throw EROFSError("not enough memory for 4 segment buffers of \(2 * Segment.size + Segment.maxPcluster) bytes (the address-space limit, ulimit -v, or the memory of the machine or cgroup is reached)", kind: .outOfMemory)
        }
        free.removeLast(free.count - (2 * workers + 2))
        pool = try WorkerPool(
            count: workers,
            take: { [queue] stopping in queue.take(stopping: stopping) },
            finish: { slot, outcome in slot.outcome = outcome },
            makeWork: { (_: Int) throws(EROFSError) -> (Slot) -> Outcome in
                guard let encoder = try makeEncoder(compression, pclusterSize: pclusterSize) else { return { _ in .cut([]) } }
                let extents = Extents(encoder: encoder, pclusterSize: pclusterSize)
                return { slot in
                    if slot.original != nil { return .cut([]) }
                    do throws(EROFSError) {
                        return .cut(try extents.cut(slot.bytes, into: slot.output, fileEnd: slot.fileEnd, openEnd: slot.openEnd))
                    } catch {
                        return .failed(error)
                    }
                }
            },
            noThread: { EROFSError("cannot start a single compression thread (\($0)); the limit on threads (ulimit -u, a cgroup's pids.max) or the memory for a thread's stack (ulimit -v) is reached: raise it, or stop other processes of this user", kind: .resource($0.code)) })
    }

    deinit { pool?.stop() }

    /// A free slot to fill; retires the oldest first if none is free.
    func acquire() throws(EROFSError) -> Slot {
        if free.isEmpty { try retireOldest() }
        let slot = free.removeLast()
        slot.ordinal = -1
        slot.original = nil
        return slot
    }

    /// Hands a filled slot to the workers.
    func submit(_ slot: Slot) {
        inflight.append(slot)
        slot.outcome = .pending
        pool.monitor.locked {
            queue.append(slot)
            pool.monitor.broadcast()
        }
    }

    /// Retires every submitted slot; the workers stay for more.
    func drain() throws(EROFSError) {
        while !inflight.isEmpty { try retireOldest() }
    }

    /// Retires every submitted slot and stops the workers.
    func finish() throws(EROFSError) {
        try drain()
        pool.stop()
    }

    private func retireOldest() throws(EROFSError) {
        guard let slot = inflight.popFirst() else { return }
        pool.monitor.lock()
        while case .pending = slot.outcome { pool.monitor.wait() }
        pool.monitor.unlock()
        if case .failed(let e) = slot.outcome { throw e }
        try retire(slot)
        free.append(slot)
    }
}
