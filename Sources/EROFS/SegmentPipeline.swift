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
/// count (two segments, the bytes one may carry and a pcluster each),
/// whatever the amount of data.
///
/// Chains (`Segment`): a slot submitted right after one that `chainsOut`
/// continues it; it gets a copy of the end of that one's input in front of
/// its own, and a worker takes it only once that one is cut (the oldest
/// slot's predecessor is always retired, so the oldest can always be
/// taken). Which slots chain is decided here, at submission, from the
/// submitted slots alone.
final class SegmentPipeline {
    enum Outcome { case pending, cut([Extents.Piece], carried: Int), failed(EROFSError) }

    /// One segment in flight: the input read from the file and, once a
    /// worker is done, the extents' blocks in `output`.
    final class Slot {
        /// `Segment.carryRoom` bytes for what the chain's previous segment
        /// leaves, then `input`.
        private let area: UnsafeMutableRawBufferPointer
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
        /// Set by the reader: the next segment submitted is this file's
        /// next one and may continue this one's last extent (`Segment`);
        /// cleared at submission when the chain is long enough.
        var chainsOut = false
        /// How many bytes of the chain's previous segment come first in
        /// `work` (known once that one is cut).
        fileprivate(set) var carry = 0
        /// Its place in its chain (0: the first).
        fileprivate var link = 0
        fileprivate var ready = true
        fileprivate var successor: Slot?
        fileprivate(set) var outcome: Outcome = .pending

        fileprivate init?() {
            let room = Segment.carryRoom + Segment.size
            guard let i = Posix.allocateBuffer(room) else { return nil }
            guard let o = Posix.allocateBuffer(room + Segment.maxPcluster) else {
                Glibc.free(i)
                return nil
            }
            area = UnsafeMutableRawBufferPointer(start: i, count: room)
            input = UnsafeMutableRawBufferPointer(rebasing: area[Segment.carryRoom...])
            output = UnsafeMutableRawBufferPointer(start: o, count: room + Segment.maxPcluster)
        }

        deinit {
            Glibc.free(area.baseAddress)
            Glibc.free(output.baseAddress)
        }

        /// Bytes one slot takes: its input with the carry room, and its
        /// output.
        static let footprint = 2 * (Segment.carryRoom + Segment.size) + Segment.maxPcluster

        /// The segment's own bytes.
        var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: input[0..<length]) }
        /// What its extents are cut from: the carried bytes, then its own.
        var work: UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: area[(Segment.carryRoom - carry)..<(Segment.carryRoom + length)])
        }
        /// Where in the file `work` starts (its extents' starts count from
        /// there).
        var start: UInt64 { offset - UInt64(carry) }
        /// Whether it does not end its file and ends inside a block.
        var openEnd: Bool { !fileEnd && Extents.endsInsideBlock(offset: offset, length: length) }

        /// Copies the end of `previous`'s input (at most the carry room)
        /// in front of its own.
        fileprivate func takeEnd(of previous: Slot) {
            let held = min(Segment.carryRoom, previous.length + (previous.link > 0 ? Segment.carryRoom : 0))
            let from = previous.area.baseAddress! + Segment.carryRoom + previous.length - held
            (area.baseAddress! + Segment.carryRoom - held).copyMemory(from: from, byteCount: held)
        }

        /// The bytes it leaves for the next segment of its chain.
        fileprivate var carried: Int {
            if case .cut(_, let n) = outcome { return n }
            return 0
        }
    }

    /// Slots submitted and not yet taken by a worker, in submission
    /// order; a worker takes the oldest that is ready.
    final class Queue {
        private var slots: [Slot] = []

        /// The pool's `take` (with the monitor held).
        func take(stopping: Bool) -> WorkerPool<Slot, Outcome>.Next {
            if let i = slots.firstIndex(where: { $0.ready }) { return .job(slots.remove(at: i)) }
            return stopping ? .end : .wait
        }

        func append(_ slot: Slot) { slots.append(slot) }
    }

    private let queue = Queue()
    private var pool: WorkerPool<Slot, Outcome>!
    private var free: [Slot] = []
    /// Submitted, not yet retired, oldest first.
    private var inflight = FIFO<Slot>()
    /// The slot submitted last, while not retired.
    private var last: Slot?
    /// Hears every slot in submission order, once its outcome is known.
    private let retire: (Slot) throws(EROFSError) -> Void

    /// `jobs` workers (fewer if memory or the system holds fewer), each
    /// with its own encoder for `compression`.
    init(compression: Compression, pclusterSize: Int, jobs: Int, retire: @escaping (Slot) throws(EROFSError) -> Void) throws(EROFSError) {
        self.retire = retire
        // One slot per worker compressing, one finished early, one being
        // read, and one spare: 2 jobs + 2.
        let planned = Posix.threadsWithinAddressSpace(jobs, perThread: 2 * Slot.footprint + Posix.threadOverhead, fixed: 0)
        while free.count < 2 * planned + 2, let slot = Slot() { free.append(slot) }
        let workers = min(planned, (free.count - 2) / 2)
        guard workers >= 1 else {
            throw EROFSError("not enough memory for 4 segment buffers of \(Slot.footprint) bytes (the address-space limit, ulimit -v, or the memory of the machine or cgroup is reached)", kind: .outOfMemory)
        }
        free.removeLast(free.count - (2 * workers + 2))
        pool = try WorkerPool(
            count: workers,
            take: { [queue] stopping in queue.take(stopping: stopping) },
            finish: { slot, outcome in
                slot.outcome = outcome
                if let next = slot.successor { (next.carry, next.ready, slot.successor) = (slot.carried, true, nil) }
            },
            makeWork: { (_: Int) throws(EROFSError) -> (Slot) -> Outcome in
                guard let encoder = try makeEncoder(compression, pclusterSize: pclusterSize) else { return { _ in .cut([], carried: 0) } }
                let extents = Extents(encoder: encoder, pclusterSize: pclusterSize)
                return { slot in
                    if slot.original != nil { return .cut([], carried: 0) }
                    do throws(EROFSError) {
                        let (pieces, carried) = try extents.cut(slot.work, into: slot.output, fileEnd: slot.fileEnd, openEnd: slot.openEnd,
                                                                keep: slot.chainsOut ? Segment.carryRoom : 0)
                        return .cut(pieces, carried: carried)
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
        slot.chainsOut = false
        return slot
    }

    /// Hands a filled slot to the workers; it continues the chain of the
    /// slot submitted before it when that one `chainsOut` (which the
    /// reader sets only when this is the same file's next segment).
    func submit(_ slot: Slot) {
        let previous = last?.chainsOut == true ? last : nil
        if let previous {
            precondition(previous.file == slot.file && previous.offset + UInt64(previous.length) == slot.offset, "a chain skips a segment")
            slot.takeEnd(of: previous)
        }
        slot.link = previous.map { $0.link + 1 } ?? 0
        if slot.link == Segment.chain - 1 { slot.chainsOut = false }
        (slot.carry, slot.ready, slot.successor) = (0, true, nil)
        inflight.append(slot)
        last = slot
        slot.outcome = .pending
        pool.monitor.locked {
            if let previous {
                if case .pending = previous.outcome { (previous.successor, slot.ready) = (slot, false) } else { slot.carry = previous.carried }
            }
            queue.append(slot)
            pool.monitor.broadcast()
        }
    }

    /// Retires every submitted slot; the workers stay for more.
    func drain() throws(EROFSError) {
        while !inflight.isEmpty { try retireOldest() }
        last = nil
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
        if last === slot {
            precondition(!slot.chainsOut, "a chain's segment retired before the next one came")
            last = nil
        }
        try retire(slot)
        free.append(slot)
    }
}
