import SystemIO

/// Threads that take jobs from their owner's shared state, do them outside
/// the lock and hand the results back: the one thread-pool skeleton of the
/// writer, under both the data blocks (`BlockPipeline`) and the metadata
/// blocks (`MetadataCompressor`).
///
/// Rule: the owner's shared state is guarded by `monitor`, and only the
/// owner's `take` and `finish` touch it from a worker, both with the
/// monitor held; `work` runs without it, on a job the worker holds alone.
/// After every `finish` the monitor is broadcast, so an owner waiting for
/// a result (or for room) wakes. The pool never orders jobs itself: which
/// job is next, and when a worker may end, is the owner's `take`, so the
/// bytes produced depend on the owner's order, never on the thread count.
final class WorkerPool<Job, Outcome> {
    /// What `take` tells a worker.
    enum Next {
        case job(Job)
        /// Nothing to do yet: wait for the next broadcast.
        case wait
        /// Nothing more will come: the thread ends.
        case end
    }

    /// Guards the owner's shared state; the owner locks, waits and
    /// broadcasts on it too.
    let monitor = Monitor()
    private var threads: [WorkerThread] = []
    /// Set (under `monitor`) by `stop`; passed to `take`.
    private var stopping = false
    /// With `Trace` on: the time workers spent waiting for a job.
    private let traceIdle = Trace.enabled
    private var idleTotal = 0.0  // guarded by `monitor`
    private let what: String

    /// Starts up to `count` threads (see `WorkerThread.startPool`: fewer if
    /// the system refuses more, then `refused` says why). `makeWork(i)`
    /// makes the i-th thread's job function, with whatever buffers and
    /// compressor state that thread keeps to itself.
    /// `take(stopping)` and `finish` run with `monitor` held.
    init(count: Int, what: String,
         take: @escaping (_ stopping: Bool) -> Next,
         finish: @escaping (Job, Outcome) -> Void,
         makeWork: (Int) throws(SquashFSError) -> (Job) -> Outcome) throws(SquashFSError) {
        self.what = what
        let pool = try WorkerThread.startPool(count) { (i: Int) throws(SquashFSError) -> () -> Void in
            let work = try makeWork(i)
            return { [unowned self] in self.run(take: take, work: work, finish: finish) }
        }
        if pool.threads.isEmpty, let error = pool.refused {
            throw SquashFSError("cannot start a single \(what) thread (\(error)); the limit on threads (ulimit -u, a cgroup's pids.max) or the memory for a thread's stack (ulimit -v) is reached: raise it, or stop other processes of this user", kind: .resource(error))
        }
        threads = pool.threads
        refused = pool.refused
    }

    /// How many threads run.
    var count: Int { threads.count }
    /// Why fewer threads run than asked, if they do.
    private(set) var refused: Errno?

    deinit {
        stop()
    }

    /// Tells the workers to stop (their `take` sees `stopping`) and waits
    /// for every one to end.
    func stop() {
        if threads.isEmpty { return }
        monitor.locked {
            stopping = true
            monitor.broadcast()
        }
        for t in threads { t.join() }
        threads = []
        if traceIdle { Trace.mark("\(what) workers idle \(Int(idleTotal * 1000)) ms") }
    }

    private func run(take: (Bool) -> Next, work: (Job) -> Outcome, finish: (Job, Outcome) -> Void) {
        while true {
            monitor.lock()
            // Each worker times its own wait; the sum is kept under the lock.
            var idleStart = 0.0
            var next = take(stopping)
            while case .wait = next {
                if traceIdle && idleStart == 0 { idleStart = Posix.monotonicSeconds() }
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
