#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CPosix

/// Thin wrappers over the POSIX calls the writer needs. No Foundation:
/// the builder keeps to libc (Foundation could be linked statically, at
/// about 7 MB, but nothing here needs it).
public enum Posix {
    /// Returns freed heap pages to the kernel (glibc's malloc_trim, which
    /// also releases free pages inside every arena).
    public static func releaseFreeMemory() {
        _ = cposix_malloc_trim(0)
    }

    /// Fixes glibc's malloc thresholds for the whole process: blocks up to
    /// 16 MiB come from the heaps (arenas), not from an mmap of their own,
    /// and a heap gives its free top back to the kernel only past 32 MiB
    /// (`malloc_trim`, `releaseFreeMemory`, still gives back everything).
    /// Call it first thing, before any thread starts.
    ///
    /// Left alone, glibc raises its mmap threshold to the largest mmap'd
    /// block freed so far (and the trim threshold to twice that), so where
    /// a compression worker's per-block encoder state lives depends on what
    /// the program happened to free before. liblzma's xz encoder at a
    /// 1 MiB dictionary takes a 2.1 MB window, 2.4 MB of hash heads and an
    /// 8.4 MB match tree per block, allocated and freed block after block.
    /// 2b4b408 freed a 14.9 MB array while scanning 200,000 files, so all
    /// of it came from the heaps from the first block on; since the compact
    /// scan records (cf670da, dbe04aa) nothing above 6.4 MB is freed before
    /// the first block, and whatever grows by doubling up to the threshold
    /// is mmap'd, faulted in and unmapped at every step. With these
    /// thresholds `pack` of that tree (xz, 2 jobs) takes a third fewer page
    /// faults and the same peak RSS, images unchanged; its user CPU moved
    /// less than a loaded host's noise (docs/performance.md, "The malloc
    /// thresholds").
    public static func fixMallocThresholds() {
        _ = cposix_mallopt(cposix_M_MMAP_THRESHOLD, 16 << 20)
        _ = cposix_mallopt(cposix_M_TRIM_THRESHOLD, 32 << 20)
    }

    /// Seconds on the monotonic clock, for progress and trace timing.
    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// CPU seconds (user and system) used so far by the whole process
    /// and by the calling thread, for the trace: unlike wall time they do
    /// not grow when other processes share the cores.
    public static func cpuSeconds() -> (process: Double, thread: Double) {
        func seconds(_ clock: clockid_t) -> Double {
            var ts = timespec()
            clock_gettime(clock, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        }
        return (seconds(CLOCK_PROCESS_CPUTIME_ID), seconds(CLOCK_THREAD_CPUTIME_ID))
    }

    /// An errno's wording (see `Errno.description`).
    public static func errorString(_ code: Int32) -> String {
        Errno(code).description
    }

    @inlinable public static func withCString<R>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        var z = path
        z.append(0)
        return try z.withUnsafeBufferPointer { buf in
            try buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: z.count) { try body($0) }
        }
    }

    /// The one retry loop: runs a system call until it does not fail with
    /// EINTR; a result of -1 becomes the errno it left, as a `kind` failure.
    @inlinable public static func retryingEINTR<T: FixedWidthInteger>(_ kind: SystemError.Kind, _ call: () -> T) throws(SystemError) -> T {
        while true {
            let r = call()
            if r != -1 { return r }
            let e = errno
            if e != EINTR { throw SystemError(kind, errno: Errno(e)) }
        }
    }

    /// Reads up to `count` bytes at `offset`, retrying short reads and EINTR,
    /// and stopping only at end of file. Returns the number of bytes read.
    public static func preadFully(_ fd: Int32, _ buf: UnsafeMutableRawPointer, _ count: Int, _ offset: UInt64) throws(SystemError) -> Int {
        var done = 0
        while done < count {
            let n = try retryingEINTR(.read) { pread(fd, buf + done, count - done, off_t(offset) + off_t(done)) }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all of `count` bytes at `offset`, retrying short writes and
    /// EINTR. On failure, says how many bytes did reach the file (`written`).
    public static func pwriteFully(_ fd: Int32, _ buf: UnsafeRawPointer, _ count: Int, _ offset: UInt64) throws(SystemError) {
        var done = 0
        while done < count {
            do {
                done += try retryingEINTR(.write) { pwrite(fd, buf + done, count - done, off_t(offset) + off_t(done)) }
            } catch {
                throw SystemError(.write, errno: error.errno, written: done)
            }
        }
    }

    /// Paths this long or longer are opened piecewise (PATH_MAX is 4096
    /// with the NUL; keep a margin).
    public static let longPath = 4000

    /// Opens `path` like openat(AT_FDCWD, path, flags), also when it is
    /// longer than PATH_MAX: then its leading directories are opened in
    /// pieces shorter than that, each relative to the one before (with
    /// O_PATH, which needs no permission but search), and the last
    /// component relative to those. Trees deeper than PATH_MAX can so be
    /// read; the names in it were seen by the scan, which never follows a
    /// symlink below the root.
    public static func openDeep(_ path: [UInt8], _ flags: Int32, mode: mode_t = 0) throws(SystemError) -> FileDescriptor {
        if path.count < longPath { return try FileDescriptor.open(path, flags, mode: mode) }
        let slash = UInt8(ascii: "/")
        var dir: FileDescriptor? = nil
        var start = 0
        while path.count - start >= longPath {
            // The longest run of whole components that fits.
            var cut = start + longPath - 1
            while cut > start && path[cut] != slash { cut -= 1 }
            if cut == start { throw SystemError(.open, path: String(decoding: path, as: UTF8.self), errno: Errno(ENAMETOOLONG)) }
            let piece = Array(path[start..<cut].isEmpty ? [slash] : path[start..<cut])
            let next = try FileDescriptor.open(piece, cposix_O_PATH | O_DIRECTORY | O_CLOEXEC, relativeTo: dir?.raw ?? AT_FDCWD)
            dir = consume next
            start = cut + 1
        }
        let rest = Array(path[start...])
        return try FileDescriptor.open(rest, flags, mode: mode, relativeTo: dir?.raw ?? AT_FDCWD)
    }

    /// A buffer of `bytes` from malloc, or nil when there is no memory for
    /// it (RLIMIT_AS, `ulimit -v`, a cgroup): Swift's `allocate` would
    /// trap. Free it with `free`.
    public static func allocateBuffer(_ bytes: Int, alignment: Int = 64) -> UnsafeMutableRawPointer? {
        var p: UnsafeMutableRawPointer?
        return posix_memalign(&p, alignment, bytes) == 0 ? p : nil
    }

    /// What a thread costs in address space besides its buffers: its stack
    /// (8 MiB, glibc's default from RLIMIT_STACK) and the malloc arena
    /// glibc may reserve for it (64 MiB on 64-bit systems).
    public static let threadOverhead = (8 + 64) << 20

    /// How many of `wanted` threads fit in half of the address space the
    /// limit (RLIMIT_AS, `ulimit -v`) leaves, when each takes `perThread`
    /// bytes and all of them `fixed` bytes more; `wanted` when there is no
    /// limit, and at least 1 (whose buffers then fail cleanly if even they
    /// cannot be had).
    public static func threadsWithinAddressSpace(_ wanted: Int, perThread: Int, fixed: Int) -> Int {
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_AS.rawValue)
        #else
        let resource = RLIMIT_AS
        #endif
        guard let limit = softLimit(resource), let used = addressSpaceInUse() else { return wanted }
        let left = limit - used
        let fits = (left / 2 - fixed) / max(1, perThread)
        return max(1, min(wanted, fits))
    }

    /// How many files the process may have open at once (RLIMIT_NOFILE's
    /// soft limit, `ulimit -n`), or nil when there is no limit.
    public static func openFileLimit() -> Int? {
        #if canImport(Glibc)
        return softLimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue))
        #else
        return softLimit(RLIMIT_NOFILE)
        #endif
    }

    #if canImport(Glibc)
    private typealias Resource = __rlimit_resource_t
    #else
    private typealias Resource = Int32
    #endif

    /// A resource's soft limit, or nil when it is unlimited or unreadable.
    private static func softLimit(_ resource: Resource) -> Int? {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        return Int(clamping: limit.rlim_cur)
    }

    /// The process's mapped address space in bytes (/proc/self/statm's
    /// first field), or nil where /proc is not mounted.
    private static func addressSpaceInUse() -> Int? {
        guard let statm = try? FileDescriptor.readRegularFile("/proc/self/statm", limit: 4096), !statm.isEmpty else { return nil }
        var pages = 0
        for b in statm {
            guard b >= 0x30 && b <= 0x39 else { break }
            pages = pages * 10 + Int(b - 0x30)
        }
        return pages * Int(getpagesize())
    }

    /// Sets `signal` to be ignored unless someone chose its handling
    /// already. For SIGXFSZ: past the file size limit a write then fails
    /// with EFBIG, which is reported and cleaned up like a full disk,
    /// instead of the signal killing the process mid-write.
    public static func ignoreIfDefault(_ signal: Int32) {
        handleIfDefault(signal, with: SIG_IGN)
    }

    /// Sets `signal`'s handler unless someone chose its handling already
    /// (SIG_DFL is the only action replaced); `flags` as for sigaction.
    public static func handleIfDefault(_ signal: Int32, with handler: __sighandler_t?, flags: Int32 = 0) {
        var current = sigaction()
        sigaction(signal, nil, &current)
        if current.__sigaction_handler.sa_handler == nil {  // SIG_DFL
            var action = sigaction()
            action.__sigaction_handler.sa_handler = handler
            sigemptyset(&action.sa_mask)
            action.sa_flags = flags
            sigaction(signal, &action, nil)
        }
    }
}
