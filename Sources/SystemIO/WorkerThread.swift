#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A POSIX thread running `body`, joined by its owner.
public final class WorkerThread {
    private var thread = pthread_t()
    private final class Box { let body: () -> Void; init(_ b: @escaping () -> Void) { body = b } }

    /// Fails (EAGAIN, usually) when the system will not give another
    /// thread: RLIMIT_NPROC (`ulimit -u`), a cgroup's pids.max, memory.
    public init(_ body: @escaping () -> Void) throws(SystemError) {
        let box = Unmanaged.passRetained(Box(body))
        let rc = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box.toOpaque())
        if rc != 0 {
            box.release()
            throw SystemError(.startThread, errno: Errno(rc))
        }
    }

    public func join() { pthread_join(thread, nil) }

    /// Starts up to `count` threads, `make(i)` giving the body of the i-th.
    /// When the system refuses one, the pool makes do with those already
    /// running and `refused` says why; when it refuses the first, `threads`
    /// is empty and the caller words that. A body that cannot be made (no
    /// memory for its buffers) ends the pool like a refused thread (ENOMEM),
    /// except the first, whose error is thrown.
    public static func startPool<E: Error>(_ count: Int, _ make: (Int) throws(E) -> () -> Void) throws(E) -> (threads: [WorkerThread], refused: Errno?) {
        var threads: [WorkerThread] = []
        for i in 0..<max(1, count) {
            let body: () -> Void
            do {
                body = try make(i)
            } catch {
                if threads.isEmpty { throw error }
                return (threads, Errno(ENOMEM))
            }
            do {
                threads.append(try WorkerThread(body))
            } catch {
                return (threads, error.errno)
            }
        }
        return (threads, nil)
    }
}
