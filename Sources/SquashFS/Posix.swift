#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CPosix

/// An errno value as a typed error: what a failed system call left.
public struct Errno: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: Int32
    public init(_ code: Int32) { self.code = code }
    /// The calling thread's errno now.
    static var current: Errno { Errno(errno) }
    public var description: String { String(cString: strerror(code)) }
}

/// An open file descriptor that closes itself when it goes away, so no
/// path out of a function (a throw included) leaks one.
struct FileDescriptor: ~Copyable {
    let raw: Int32

    init(raw: Int32) { self.raw = raw }

    deinit { _ = Glibc.close(raw) }

    /// Opens `path` (raw bytes), retrying EINTR.
    static func open(_ path: [UInt8], _ flags: Int32, mode: mode_t = 0, relativeTo dir: Int32 = AT_FDCWD) throws(Errno) -> FileDescriptor {
        let fd = try Posix.retryingEINTR { Posix.withCString(path) { openat(dir, $0, flags, mode) } }
        return FileDescriptor(raw: fd)
    }

    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0, relativeTo dir: Int32 = AT_FDCWD) throws(Errno) -> FileDescriptor {
        try open(Array(path.utf8), flags, mode: mode, relativeTo: dir)
    }

    /// Closes now and reports what close says (some file systems report
    /// a failed write only there).
    consuming func close() throws(Errno) {
        let fd = raw
        discard self
        if Glibc.close(fd) != 0 { throw Errno.current }
    }
}

/// What a write that stopped early reached: `written` bytes made it to
/// the file before `errno`.
struct WriteFailure: Error {
    var errno: Errno
    var written: Int
}

/// Thin wrappers over the POSIX calls the writer needs. No Foundation:
/// the builder keeps to libc (Foundation could be linked statically, at
/// about 7 MB, but nothing here needs it).
enum Posix {
    /// Returns freed heap pages to the kernel (glibc's malloc_trim, which
    /// also releases free pages inside every arena).
    static func releaseFreeMemory() {
        _ = cposix_malloc_trim(0)
    }

    /// Seconds on the monotonic clock, for progress and trace timing.
    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func errorString(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    static func withCString<R>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        var z = path
        z.append(0)
        return try z.withUnsafeBufferPointer { buf in
            try buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: z.count) { try body($0) }
        }
    }

    /// The one retry loop: runs a system call until it does not fail with
    /// EINTR; a result of -1 becomes the errno it left.
    static func retryingEINTR<T: FixedWidthInteger>(_ call: () -> T) throws(Errno) -> T {
        while true {
            let r = call()
            if r != -1 { return r }
            let e = errno
            if e != EINTR { throw Errno(e) }
        }
    }

    /// Reads up to `count` bytes at `offset`, retrying short reads and EINTR,
    /// and stopping only at end of file. Returns the number of bytes read.
    static func preadFully(_ fd: Int32, _ buf: UnsafeMutableRawPointer, _ count: Int, _ offset: UInt64) throws(Errno) -> Int {
        var done = 0
        while done < count {
            let n = try retryingEINTR { pread(fd, buf + done, count - done, off_t(offset) + off_t(done)) }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all of `count` bytes at `offset`, retrying short writes and
    /// EINTR. On failure, says how many bytes did reach the file.
    static func pwriteFully(_ fd: Int32, _ buf: UnsafeRawPointer, _ count: Int, _ offset: UInt64) throws(WriteFailure) {
        var done = 0
        while done < count {
            do {
                done += try retryingEINTR { pwrite(fd, buf + done, count - done, off_t(offset) + off_t(done)) }
            } catch {
                throw WriteFailure(errno: error, written: done)
            }
        }
    }

    /// Paths this long or longer are opened piecewise (PATH_MAX is 4096
    /// with the NUL; keep a margin).
    static let longPath = 4000

    /// Opens `path` like openat(AT_FDCWD, path, flags), also when it is
    /// longer than PATH_MAX: then its leading directories are opened in
    /// pieces shorter than that, each relative to the one before (with
    /// O_PATH, which needs no permission but search), and the last
    /// component relative to those. Trees deeper than PATH_MAX can so be
    /// read; the names in it were seen by the scan, which never follows a
    /// symlink below the root.
    static func openDeep(_ path: [UInt8], _ flags: Int32, mode: mode_t = 0) throws(Errno) -> Int32 {
        if path.count < longPath {
            return try retryingEINTR { withCString(path) { openat(AT_FDCWD, $0, flags, mode) } }
        }
        let slash = UInt8(ascii: "/")
        var dir = AT_FDCWD
        defer { if dir != AT_FDCWD { _ = Glibc.close(dir) } }
        var start = 0
        while path.count - start >= longPath {
            // The longest run of whole components that fits.
            var cut = start + longPath - 1
            while cut > start && path[cut] != slash { cut -= 1 }
            if cut == start { throw Errno(ENAMETOOLONG) }
            let piece = Array(path[start..<cut].isEmpty ? [slash] : path[start..<cut])
            let next = try retryingEINTR { withCString(piece) { openat(dir, $0, cposix_O_PATH | O_DIRECTORY | O_CLOEXEC) } }
            if dir != AT_FDCWD { _ = Glibc.close(dir) }
            dir = next
            start = cut + 1
        }
        let rest = Array(path[start...])
        let d = dir
        return try retryingEINTR { withCString(rest) { openat(d, $0, flags, mode) } }
    }

    /// A buffer of `bytes` from malloc, or nil when there is no memory for
    /// it (RLIMIT_AS, `ulimit -v`, a cgroup): Swift's `allocate` would
    /// trap. Free it with `free`.
    static func allocateBuffer(_ bytes: Int, alignment: Int = 64) -> UnsafeMutableRawPointer? {
        var p: UnsafeMutableRawPointer?
        return posix_memalign(&p, alignment, bytes) == 0 ? p : nil
    }

    /// What a thread costs in address space besides its buffers: its stack
    /// (8 MiB, glibc's default from RLIMIT_STACK) and the malloc arena
    /// glibc may reserve for it (64 MiB on 64-bit systems).
    static let threadOverhead = (8 + 64) << 20

    /// How many of `wanted` threads fit in half of the address space the
    /// limit (RLIMIT_AS, `ulimit -v`) leaves, when each takes `perThread`
    /// bytes and all of them `fixed` bytes more; `wanted` when there is no
    /// limit, and at least 1 (whose buffers then fail cleanly if even they
    /// cannot be had).
    static func threadsWithinAddressSpace(_ wanted: Int, perThread: Int, fixed: Int) -> Int {
        var limit = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_AS.rawValue)
        #else
        let resource = RLIMIT_AS
        #endif
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur != rlim_t.max else { return wanted }
        guard let used = addressSpaceInUse() else { return wanted }
        let left = Int(clamping: limit.rlim_cur) - used
        let fits = (left / 2 - fixed) / max(1, perThread)
        return max(1, min(wanted, fits))
    }

    /// The process's mapped address space in bytes (/proc/self/statm's
    /// first field), or nil where /proc is not mounted.
    private static func addressSpaceInUse() -> Int? {
        let fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
        if fd < 0 { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        var pages = 0
        for b in buffer[0..<n] {
            guard b >= 0x30 && b <= 0x39 else { break }
            pages = pages * 10 + Int(b - 0x30)
        }
        return pages * Int(getpagesize())
    }

    /// The error for a buffer that could not be had.
    static func outOfMemory(_ what: String) -> SquashFSError {
        SquashFSError("not enough memory for \(what) (the address-space limit, ulimit -v, or the memory of the machine or cgroup is reached); use fewer threads (--jobs, NIX_BUILD_CORES) or a smaller block size, or raise the limit", kind: .resource(Errno(ENOMEM)))
    }

    /// Sets `signal` to be ignored unless someone chose its handling
    /// already. For SIGXFSZ: past the file size limit a write then fails
    /// with EFBIG, which is reported and cleaned up like a full disk,
    /// instead of the signal killing the process mid-write.
    static func ignoreIfDefault(_ signal: Int32) {
        var current = sigaction()
        sigaction(signal, nil, &current)
        if current.__sigaction_handler.sa_handler == nil {  // SIG_DFL
            var action = sigaction()
            action.__sigaction_handler.sa_handler = SIG_IGN
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
    }
}

/// A mutex plus condition variable, heap-allocated so it never moves.
final class Monitor: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        cond.deallocate()
    }

    @inline(__always) func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) func unlock() { pthread_mutex_unlock(mutex) }
    @inline(__always) func wait() { pthread_cond_wait(cond, mutex) }
    @inline(__always) func broadcast() { pthread_cond_broadcast(cond) }

    @inline(__always) func locked<R>(_ body: () throws -> R) rethrows -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A POSIX thread running `body`, joined by its owner.
final class WorkerThread {
    private var thread = pthread_t()
    private final class Box { let body: () -> Void; init(_ b: @escaping () -> Void) { body = b } }

    /// Fails (EAGAIN, usually) when the system will not give another
    /// thread: RLIMIT_NPROC (`ulimit -u`), a cgroup's pids.max, memory.
    init(_ body: @escaping () -> Void) throws(Errno) {
        let box = Unmanaged.passRetained(Box(body))
        let rc = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box.toOpaque())
        if rc != 0 {
            box.release()
            throw Errno(rc)
        }
    }

    func join() { pthread_join(thread, nil) }

    /// Starts up to `count` threads, `make(i)` giving the body of the i-th.
    /// When the system refuses one, the pool makes do with those already
    /// running (the image does not depend on their number) and
    /// `refused` says why; when it refuses the first, that is an error.
    static func startPool(_ count: Int, what: String, _ make: (Int) throws(SquashFSError) -> () -> Void) throws(SquashFSError) -> (threads: [WorkerThread], refused: Errno?) {
        var threads: [WorkerThread] = []
        for i in 0..<max(1, count) {
            // A body that cannot be made (no memory for its buffers) ends
            // the pool like a refused thread: the running ones stay.
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
                if threads.isEmpty {
                    throw SquashFSError("cannot start a single \(what) thread (\(error)); the limit on threads (ulimit -u, a cgroup's pids.max) or the memory for a thread's stack (ulimit -v) is reached: raise it, or stop other processes of this user", kind: .resource(error))
                }
                return (threads, error)
            }
        }
        return (threads, nil)
    }
}
