/// The jobs submitted to a `WorkerPool` and not yet taken, in submission
/// order; guarded by the pool's monitor. A class of its own, held
/// strongly by the pool's `take`, so a worker never touches the pipeline
/// that owns the pool (which may be mid-deinit when the pool is stopped
/// from there).
public final class JobQueue<Job> {
    private var jobs = FIFO<Job>()

    /// Set (under the monitor) when no job will be appended any more:
    /// a worker that finds the queue empty then ends, and whatever it
    /// holds (a compressor's state) is freed before the pool stops.
    public var closed = false

    public init() {}

    /// Called with the monitor held.
    public func append(_ job: Job) { jobs.append(job) }

    /// No job waits for a worker. Called with the monitor held.
    public var isEmpty: Bool { jobs.isEmpty }

    /// The pool's `take`: the oldest job, else wait, or end once stopping
    /// or closed. Called with the monitor held.
    public func take<Outcome>(stopping: Bool) -> WorkerPool<Job, Outcome>.Next {
        guard let job = jobs.popFirst() else { return stopping || closed ? .end : .wait }
        return .job(job)
    }
}
