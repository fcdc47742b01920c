/// Threads that take jobs from their owner's shared state, do them outside
/// the lock and hand the results back: the one thread-pool skeleton of the
/// writers, under squashfs's data blocks (`BlockPipeline`) and metadata
/// blocks (`MetadataCompressor`) and erofs's clusters (`SegmentPipeline`).
///
/// Rule: the owner's shared state is guarded by `monitor`, and only the
/// owner's `take` and `finish` touch it from a worker, both with the
/// monitor held; `work` runs without it, on a job the worker holds alone.
/// After every `finish` the monitor is broadcast, so an owner waiting for
/// a result (or for room) wakes. The pool never orders jobs itself: which
/// job is next, and when a worker may end, is the owner's `take`, so the
/// bytes produced depend on the owner's order, never on the thread count.
public final class WorkerPool<Job, Outcome> {
    /// What `take` tells a worker.
    public enum Next {
        case job(Job)
        /// Nothing to do yet: wait for the next broadcast.
        case wait
        /// Nothing more will come: the thread ends.
        case end
    }

    /// Guards the owner's shared state; the owner locks, waits and
    /// broadcasts on it too.
    public let monitor = Monitor()
    private var threads: [WorkerThread] = []
    /// Set (under `monitor`) by `stop`; passed to `take`.
    private var stopping = false
    /// Hears, when the pool stops, the seconds its workers spent waiting
    /// for a job (nil: the wait is not measured).
    private let idleReport: ((Double) -> Void)?
    private var idleTotal = 0.0  // guarded by `monitor`

    /// Starts up to `count` threads (see `WorkerThread.startPool`: fewer if
    /// the system refuses more, then `refused` says why). `makeWork(i)`
    /// makes the i-th thread's job function, with whatever buffers and
    /// compressor state that thread keeps to itself.
    /// `take(stopping)` and `finish` run with `monitor` held. When the
    /// system refuses even the first thread, `noThread(errno)` is thrown.
    public init<E: Error>(count: Int,
                          take: @escaping (_ stopping: Bool) -> Next,
                          finish: @escaping (Job, Outcome) -> Void,
                          makeWork: (Int) throws(E) -> (Job) -> Outcome,
                          noThread: (Errno) -> E,
                          idleReport: ((Double) -> Void)? = nil) throws(E) {
        self.idleReport = idleReport
        let pool = try WorkerThread.startPool(count) { (i: Int) throws(E) -> () -> Void in
            let work = try makeWork(i)
            return { [unowned self] in self.run(take: take, work: work, finish: finish) }
        }
        if pool.threads.isEmpty, let error = pool.refused {
            throw noThread(error)
        }
        threads = pool.threads
        refused = pool.refused
    }

    /// How many threads run.
    public var count: Int { threads.count }
    /// Why fewer threads run than asked, if they do.
    public private(set) var refused: Errno?

    deinit {
        stop()
    }

    /// Tells the workers to stop (their `take` sees `stopping`) and waits
    /// for every one to end.
    public func stop() {
        if threads.isEmpty { return }
        monitor.locked {
            stopping = true
            monitor.broadcast()
        }
        for t in threads { t.join() }
        threads = []
        idleReport?(idleTotal)
    }

    private func run(take: (Bool) -> Next, work: (Job) -> Outcome, finish: (Job, Outcome) -> Void) {
        while true {
            monitor.lock()
            // Each worker times its own wait; the sum is kept under the lock.
            var idleStart = 0.0
            var next = take(stopping)
            while case .wait = next {
                if idleReport != nil && idleStart == 0 { idleStart = Posix.monotonicSeconds() }
                monitor.wait()
                next = take(stopping)
            }
            if idleStart > 0 { idleTotal += Posix.monotonicSeconds() - idleStart }
            monitor.unlock()
            guard case .job(let job) = next else { return }
            let outcome = work(job)
            monitor.locked {
                finish(job, outcome)
                monitor.broadcast()
            }
        }
    }
}
