import SystemIO

/// Runs `body(i)` for every i in 0..<count on up to `threads` threads
/// (fewer if the system refuses some; on the calling thread if it refuses
/// all). Each index runs once; the first error thrown is rethrown.
func parallelEach(_ count: Int, threads: Int, _ body: @escaping (Int) throws -> Void) throws {
    let state = ParallelState()
    let work = {
        while let i = state.take(below: count) {
            do { try body(i) } catch { state.fail(error) }
        }
    }
    let pool = WorkerThread.startPool(min(threads, count) - 1) { (_: Int) -> () -> Void in work }.threads
    work()
    for t in pool { t.join() }
    if let error = state.failure { throw error }
}

private final class ParallelState: @unchecked Sendable {
    private let monitor = Monitor()
    private var next = 0
    private(set) var failure: (any Error)?

    func take(below count: Int) -> Int? {
        monitor.locked {
            guard failure == nil, next < count else { return nil }
            next += 1
            return next - 1
        }
    }

    func fail(_ error: any Error) {
        monitor.locked { if failure == nil { failure = error } }
    }
}
