#if canImport(Glibc)
import Glibc
#endif

/// The image being written: a temporary file beside the destination that is
/// renamed over it only once complete, so a failure never leaves a partial
/// image under the final name.
final class OutputFile {
    let finalPath: String
    let tempPath: String
    private var fd: Int32
    private(set) var position: UInt64 = 0
    private var buffer: UnsafeMutableRawPointer
    private let bufferCapacity = 1 << 20
    private var buffered = 0
    private var committed = false
    /// Sees every byte as it is written (see `OutputObserver`).
    var observer: (any OutputObserver)?

    init(path: String) throws(SquashFSError) {
        finalPath = path
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        if base.utf8.count > 255 {
            throw SquashFSError("\(path): the file name is \(base.utf8.count) bytes long; a file name holds at most 255 bytes, so choose a shorter one")
        }
        // The temporary name must fit in a file name too: shorten the part
        // taken from the image's name if needed (on a character boundary).
        let suffix = ".tmp-\(getpid())"
        var stem = ""
        var stemBytes = 0
        for u in base.unicodeScalars {
            let n = String(u).utf8.count
            if 1 + stemBytes + n + suffix.utf8.count > 255 { break }
            stem.unicodeScalars.append(u)
            stemBytes += n
        }
        tempPath = (dir.isEmpty ? "" : dir + "/") + "." + stem + suffix
        unlink(tempPath)
        fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            let e = errno
            throw SquashFSError("\(path): cannot create the image (\(Posix.errorString(e))); make sure \(dir.isEmpty ? "/" : dir) exists and is writable")
        }
        buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferCapacity, alignment: 16)
        InterruptCleanup.register(tempPath)
    }

    deinit {
        buffer.deallocate()
        if fd >= 0 { close(fd) }
        if !committed { unlink(tempPath) }
        InterruptCleanup.unregister(tempPath)
    }

    private func fail(_ e: Int32) -> SquashFSError {
        if e == ENOSPC || e == EDQUOT {
            return SquashFSError("\(finalPath): no space left on the device after \(position) bytes of image; free space there or write the image elsewhere")
        }
        return SquashFSError("\(finalPath): write failed after \(position) bytes (\(Posix.errorString(e)))")
    }

    func flush() throws(SquashFSError) {
        if buffered == 0 { return }
        let start = position - UInt64(buffered)
        let e = Posix.pwriteFully(fd, buffer, buffered, start)
        if e != 0 { throw fail(e) }
        buffered = 0
    }

    func write(_ p: UnsafeRawPointer, _ n: Int) throws(SquashFSError) {
        if n == 0 { return }
        observer?.wrote(UnsafeRawBufferPointer(start: p, count: n), at: position)
        // Large writes go straight to the file; the buffer must be flushed
        // first, since `flush` places it just below `position`.
        if buffered + n > bufferCapacity || n >= bufferCapacity / 2 { try flush() }
        if n >= bufferCapacity / 2 {
            let e = Posix.pwriteFully(fd, p, n, position)
            if e != 0 { throw fail(e) }
        } else {
            (buffer + buffered).copyMemory(from: p, byteCount: n)
            buffered += n
        }
        position += UInt64(n)
    }

    func write(_ bytes: [UInt8]) throws(SquashFSError) {
        let r: Result<Void, SquashFSError> = bytes.withUnsafeBytes { b in
            Result { () throws(SquashFSError) in
                if let base = b.baseAddress { try write(base, b.count) }
            }
        }
        try r.get()
    }

    func write(_ bytes: [UInt8], at offset: UInt64) throws(SquashFSError) {
        try flush()
        bytes.withUnsafeBytes { observer?.wrote($0, at: offset) }
        let e = bytes.withUnsafeBytes { Posix.pwriteFully(fd, $0.baseAddress!, $0.count, offset) }
        if e != 0 { throw fail(e) }
    }

    /// Flushes, syncs and renames the image into place.
    func commit() throws(SquashFSError) {
        try flush()
        try observer?.complete(size: position)
        if fsync(fd) != 0 { throw fail(errno) }
        if close(fd) != 0 { let e = errno; fd = -1; throw fail(e) }
        fd = -1
        if rename(tempPath, finalPath) != 0 {
            let e = errno
            throw SquashFSError("\(finalPath): cannot move the finished image into place (\(Posix.errorString(e)))")
        }
        committed = true
        // After the rename: until then an interrupt must still remove the
        // temporary file (afterwards its name no longer exists).
        InterruptCleanup.unregister(tempPath)
    }
}

/// Sees every byte of an image as the writer writes it, so that a digest of
/// the image (a hash tree, say) needs no second read of it.
public protocol OutputObserver: AnyObject {
    /// `bytes` now stand at `offset`. Calls come in the order of writing:
    /// front to back without gaps, except that bytes already written may be
    /// written again. The writer does that once, at the end, for the
    /// superblock at offset 0 (within the first 4 KiB).
    func wrote(_ bytes: UnsafeRawBufferPointer, at offset: UInt64)
    /// All `size` bytes are written, the image is not yet under its name.
    /// Throwing keeps it from appearing.
    func complete(size: UInt64) throws(SquashFSError)
}

/// Removes the temporary image when the process is stopped by SIGINT,
/// SIGTERM or SIGHUP (Ctrl-C, a build timeout) while writing, then dies of
/// the same signal: an interrupted write leaves nothing behind either.
/// Handlers are installed only for signals whose action is the default,
/// so a caller's own handling (or SIG_IGN under nohup) is kept.
enum InterruptCleanup {
    /// The temporary file to remove, as a C string the handler can use
    /// without allocating; nil when no image is being written.
    nonisolated(unsafe) static var path: UnsafeMutablePointer<CChar>? = nil
    nonisolated(unsafe) static var installed = false
    static let lock = Monitor()

    static func register(_ temp: String) {
        lock.locked {
            let old = path
            path = strdup(temp)
            free(old)
            if !installed {
                installed = true
                for sig in [SIGINT, SIGTERM, SIGHUP] {
                    var current = sigaction()
                    sigaction(sig, nil, &current)
                    if current.__sigaction_handler.sa_handler == nil {  // SIG_DFL
                        var action = sigaction()
                        action.__sigaction_handler.sa_handler = interruptCleanupHandler
                        sigemptyset(&action.sa_mask)
                        action.sa_flags = Int32(truncatingIfNeeded: SA_RESETHAND)
                        sigaction(sig, &action, nil)
                    }
                }
            }
        }
    }

    static func unregister(_ temp: String) {
        lock.locked {
            guard let p = path, String(cString: p) == temp else { return }
            path = nil
            free(p)
        }
    }
}

/// The handler: unlink (async-signal-safe), then die of the signal (the
/// action was reset to the default on entry).
private func interruptCleanupHandler(_ sig: Int32) {
    if let p = InterruptCleanup.path { unlink(p) }
    raise(sig)
}
