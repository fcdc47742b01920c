#if canImport(Glibc)
import Glibc
import SystemIO
#endif
import CPosix
import Synchronization

/// The image being written. The rule: the image appears under its final
/// name only when complete, replaces nothing it was not allowed to, and
/// leaves no temporary file behind on any death the kernel can clean up.
///
/// - The bytes go to an unnamed file in the destination's directory
///   (`O_TMPFILE`). Whatever ends the process, SIGKILL and a full disk
///   included, the kernel frees that file: no name was ever made.
///   `commit` names it. Without `replace`, with `linkat` to the final name,
///   which cannot replace anything: a file that appeared there meanwhile
///   is kept and the new image dropped (`.destinationAppeared`). With
///   `replace`, with `linkat` to `.NAME.tmp-PID` and `rename` over the
///   final name; only a SIGKILL between those two calls leaves that name.
/// - Where the file system has no `O_TMPFILE` (or /proc is not mounted to
///   name such a file by), the bytes go to `.NAME.tmp-PID` beside the
///   destination, which is removed on every failure and on SIGINT, SIGTERM
///   and SIGHUP; SIGKILL leaves it. Without `replace` it is published with
///   `renameat2(RENAME_NOREPLACE)`, or where the file system lacks that,
///   `link` + `unlink`: neither replaces anything either.
/// - A destination that exists and is not a regular file (a device, FIFO,
///   socket, symlink or directory) is never replaced.
/// - SIGXFSZ is ignored (unless the caller chose its handling), so the
///   file size limit ends a write like a full disk: an error, no leftovers.
final class OutputFile {
    let finalPath: String
    private let directory: FileDescriptor
    private let baseName: String
    private let tempName: String
    private var fd: Int32
    /// The bytes go to a named temporary file (no O_TMPFILE here).
    private let named: Bool
    /// `tempName` exists in the directory and is ours to remove.
    private var tempExists = false
    private let replace: Bool
    private(set) var position: UInt64 = 0
    /// Where the image starts in the file (see `OutputObserver.imageOffset`).
    private let base: UInt64
    private var buffer: UnsafeMutableRawPointer
    private let bufferCapacity = 1 << 20
    private var buffered = 0
    /// Sees every byte as it is written (see `OutputObserver`).
    var observer: (any OutputObserver)?

    init(path: String, replace: Bool, imageOffset: UInt64 = 0, unnamed: Bool = true) throws(SquashFSError) {
        finalPath = path
        self.replace = replace
        base = imageOffset
        let (dir, base) = try checkImageDestination(path, replace: replace)
        guard let b = Posix.allocateBuffer(1 << 20) else { throw SquashFSError.outOfMemory("the output buffer") }
        buffer = b
        baseName = base
        do {
            directory = try FileDescriptor.open(dir, cposix_O_PATH | O_DIRECTORY | O_CLOEXEC)
        } catch {
            throw SquashFSError("\(path): cannot create the image (\(error)); make sure \(dir) exists and is writable")
        }
        let temp = Self.temporaryName(for: base)
        tempName = temp
        let dirFD = directory.raw
        Posix.ignoreIfDefault(SIGXFSZ)

        // Unnamed first; a named temporary where that is not to be had.
        // `unnamed` false takes the fallback on purpose: for its tests, and
        // for a file system that claims O_TMPFILE but cannot link such a file.
        var unnamedFD: Int32 = -1
        if unnamed,
           let f = try? Posix.retryingEINTR({ openat(dirFD, ".", cposix_O_TMPFILE | O_WRONLY | O_CLOEXEC, 0o644) }) {
            if Self.canName(f) { unnamedFD = f } else { _ = Glibc.close(f) }
        }
        if unnamedFD >= 0 {
            fd = unnamedFD
            named = false
        } else {
            unlinkat(dirFD, temp, 0)
            do {
                fd = try Posix.retryingEINTR { openat(dirFD, temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) }
            } catch {
                throw SquashFSError("\(path): cannot create the image (\(error)); make sure \(dir) exists and is writable")
            }
            named = true
            tempExists = true
            InterruptCleanup.register(Self.join(dir, tempName))
        }
    }

    deinit {
        Glibc.free(buffer)
        if fd >= 0 { _ = Glibc.close(fd) }
        if tempExists { unlinkat(directory.raw, tempName, 0) }
        InterruptCleanup.unregister()
    }

    /// `.NAME.tmp-PID`, with NAME shortened (on a character boundary) so
    /// the whole still fits in a file name.
    private static func temporaryName(for base: String) -> String {
        let suffix = ".tmp-\(getpid())"
        var stem = ""
        var stemBytes = 0
        for u in base.unicodeScalars {
            let n = String(u).utf8.count
            if 1 + stemBytes + n + suffix.utf8.count > 255 { break }
            stem.unicodeScalars.append(u)
            stemBytes += n
        }
        return "." + stem + suffix
    }

    private static func join(_ dir: String, _ name: String) -> String {
        dir == "/" ? "/" + name : dir + "/" + name
    }

    /// An unnamed file is given a name through /proc/self/fd/N, which any
    /// user may do (AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH): check
    /// now, not after the write, that /proc is there for it.
    private static func canName(_ fd: Int32) -> Bool {
        var st = stat()
        return stat("/proc/self/fd/\(fd)", &st) == 0
    }

    /// Gives the unnamed file the name `name` in the directory.
    private func link(as name: String) -> Errno? {
        if linkat(fd, "", directory.raw, name, cposix_AT_EMPTY_PATH) == 0 { return nil }
        if linkat(AT_FDCWD, "/proc/self/fd/\(fd)", directory.raw, name, AT_SYMLINK_FOLLOW) == 0 { return nil }
        return Errno.current
    }

    private func fail(_ f: WriteFailure, at start: UInt64) -> SquashFSError {
        let reached = start + UInt64(f.written)
        switch f.errno.code {
        case ENOSPC, EDQUOT:
            return SquashFSError("\(finalPath): no space left on the device after \(reached) bytes of image; free space there or write the image elsewhere", kind: .resource(f.errno))
        case EFBIG:
            return SquashFSError("\(finalPath): the file size limit (ulimit -f, RLIMIT_FSIZE) stopped the image after \(reached) bytes; raise the limit or make a smaller image", kind: .resource(f.errno))
        default:
            return SquashFSError("\(finalPath): write failed after \(reached) bytes of image (\(f.errno))")
        }
    }

    func flush() throws(SquashFSError) {
        if buffered == 0 { return }
        let start = position - UInt64(buffered)
        do { try Posix.pwriteFully(fd, buffer, buffered, base + start) } catch { throw fail(error, at: start) }
        buffered = 0
    }

    func write(_ p: UnsafeRawPointer, _ n: Int) throws(SquashFSError) {
        if n == 0 { return }
        observer?.wrote(UnsafeRawBufferPointer(start: p, count: n), at: position)
        // Large writes go straight to the file; the buffer must be flushed
        // first, since `flush` places it just below `position`.
        if buffered + n > bufferCapacity || n >= bufferCapacity / 2 { try flush() }
        if n >= bufferCapacity / 2 {
            do { try Posix.pwriteFully(fd, p, n, base + position) } catch { throw fail(error, at: position) }
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
        let r: Result<Void, WriteFailure> = bytes.withUnsafeBytes { b in
            Result { () throws(WriteFailure) in try Posix.pwriteFully(fd, b.baseAddress!, b.count, base + offset) }
        }
        if case .failure(let f) = r { throw fail(f, at: offset) }
    }

    private func appeared() -> SquashFSError {
        SquashFSError("\(finalPath): appeared while the image was written; it was left as it is and the new image discarded", kind: .destinationAppeared, path: finalPath)
    }

    /// Flushes, syncs and publishes the image under its final name.
    func commit() throws(SquashFSError) {
        try flush()
        try observer?.complete(size: position, file: fd)
        if fsync(fd) != 0 { throw fail(WriteFailure(errno: .current, written: 0), at: position) }
        try observer?.naming()
        if named {
            if close(fd) != 0 { let e = Errno.current; fd = -1; throw fail(WriteFailure(errno: e, written: 0), at: position) }
            fd = -1
        } else if !replace {
            if let e = link(as: baseName) {
                if e.code == EEXIST { throw appeared() }
                throw SquashFSError("\(finalPath): cannot give the finished image its name (\(e))")
            }
            _ = Glibc.close(fd)
            fd = -1
            return
        } else {
            InterruptCleanup.register(Self.join(dirPart, tempName))
            unlinkat(directory.raw, tempName, 0)
            if let e = link(as: tempName) {
                throw SquashFSError("\(finalPath): cannot give the finished image a name (\(e))")
            }
            tempExists = true
            _ = Glibc.close(fd)
            fd = -1
        }
        // Here the image is the file `tempName`.
        if replace {
            var st = stat()
            if fstatat(directory.raw, baseName, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT != S_IFREG {
                throw SquashFSError("\(finalPath): became \(fileKind(st.st_mode)) while the image was written; it was left as it is", kind: .destinationNotRegular)
            }
            if renameat(directory.raw, tempName, directory.raw, baseName) != 0 {
                throw SquashFSError("\(finalPath): cannot move the finished image into place (\(Errno.current))")
            }
        } else if cposix_renameat2(directory.raw, tempName, directory.raw, baseName, cposix_RENAME_NOREPLACE) != 0 {
            let e = Errno.current
            if e.code == EEXIST { throw appeared() }
            guard e.code == EINVAL || e.code == ENOSYS || e.code == EOPNOTSUPP else {
                throw SquashFSError("\(finalPath): cannot move the finished image into place (\(e))")
            }
            // No RENAME_NOREPLACE on this file system: link cannot replace either.
            if linkat(directory.raw, tempName, directory.raw, baseName, 0) != 0 {
                let e = Errno.current
                if e.code == EEXIST { throw appeared() }
                throw SquashFSError("\(finalPath): cannot move the finished image into place without replacing (\(e)); this file system supports neither RENAME_NOREPLACE nor hard links, so pass the option that allows replacing, or write elsewhere")
            }
            unlinkat(directory.raw, tempName, 0)
        }
        tempExists = false
        // After the rename: until then an interrupt must still remove the
        // temporary file (afterwards its name no longer exists).
        InterruptCleanup.unregister()
    }

    private var dirPart: String {
        guard let slash = finalPath.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        let d = String(finalPath[..<slash])
        return d.isEmpty ? "/" : d
    }
}

/// Sees every byte of an image as the writer writes it, so that a digest of
/// the image (a hash tree, say) needs no second read of it.
public protocol OutputObserver: AnyObject {
    /// Where the image starts in the file written (default 0: the file is
    /// the image). A larger offset leaves room before the image for an
    /// envelope the observer writes in `complete` (a disk's partition
    /// table, say), so that the whole file is one unnamed file until done.
    var imageOffset: UInt64 { get }
    /// `bytes` now stand at `offset` of the image. Calls come in the order of writing:
    /// front to back without gaps, except that bytes already written may be
    /// written again. The writer does that once, at the end, for the
    /// superblock at offset 0 (within the first 4 KiB).
    func wrote(_ bytes: UnsafeRawBufferPointer, at offset: UInt64)
    /// All `size` bytes are written to `file` (at `imageOffset`), which is
    /// not yet under its name and not yet synced. The observer may write
    /// bytes of its own into `file` outside the image. Throwing keeps the
    /// file from appearing; an observer whose failure is not the writer's
    /// throws `.observerStopped` and keeps its own error for its caller.
    func complete(size: UInt64, file: Int32) throws(SquashFSError)
    /// The file is complete and synced and is about to get its name: the
    /// moment to name files that must appear with it (sidecars), so that
    /// it never appears without them. Throwing keeps it from appearing.
    func naming() throws(SquashFSError)
}

extension OutputObserver {
    public var imageOffset: UInt64 { 0 }
    public func naming() throws(SquashFSError) {}
}

/// "a FIFO", "a directory", … for messages.
func fileKind(_ mode: mode_t) -> String {
    switch mode & S_IFMT {
    case S_IFREG: return "a regular file"
    case S_IFDIR: return "a directory"
    case S_IFLNK: return "a symlink"
    case S_IFIFO: return "a FIFO"
    case S_IFSOCK: return "a socket"
    case S_IFCHR: return "a character device"
    case S_IFBLK: return "a block device"
    default: return "a file of unknown type"
    }
}

/// Gives the finished file `temp` the name `path` (both in one directory)
/// by `OutputFile`'s rules, for files written beside an image (sidecars,
/// a disk image): never over anything but a regular file, and without
/// `replace` over nothing at all (RENAME_NOREPLACE, or where the file
/// system lacks it, link + unlink), so a file that appeared meanwhile is
/// kept (`.destinationAppeared`).
public func publishFile(_ temp: String, as path: String, replace: Bool) throws(SquashFSError) {
    var st = stat()
    if lstat(path, &st) == 0 && st.st_mode & S_IFMT != S_IFREG {
        throw SquashFSError("\(path): is \(fileKind(st.st_mode)), not a regular file; it was left as it is", kind: .destinationNotRegular)
    }
    if replace {
        if rename(temp, path) != 0 {
            throw SquashFSError("\(path): cannot move the finished file into place (\(Errno.current))")
        }
        return
    }
    if cposix_renameat2(AT_FDCWD, temp, AT_FDCWD, path, cposix_RENAME_NOREPLACE) == 0 { return }
    var e = Errno.current
    if e.code == EINVAL || e.code == ENOSYS || e.code == EOPNOTSUPP {
        if link(temp, path) == 0 {
            unlink(temp)
            return
        }
        e = Errno.current
    }
    if e.code == EEXIST {
        throw SquashFSError("\(path): appeared while the image was written; it was left as it is and the new file discarded", kind: .destinationAppeared, path: path)
    }
    throw SquashFSError("\(path): cannot move the finished file into place (\(e))")
}

/// Checks where an image is to be written, before any work: returns its
/// directory and file name, or throws if the path cannot name an image
/// file, or names something that is not a regular file, or (without
/// `replace`) names anything at all.
@discardableResult
public func checkImageDestination(_ path: String, replace: Bool) throws(SquashFSError) -> (directory: String, name: String) {
    let bytes = Array(path.utf8)
    if bytes.isEmpty {
        throw SquashFSError("the image path is empty; give the path of the image file to write")
    }
    if bytes.last == UInt8(ascii: "/") {
        throw SquashFSError("\(path): ends with '/'; give the path of the image file to write, not a directory")
    }
    let slash = bytes.lastIndex(of: UInt8(ascii: "/"))
    let dir = slash.map { $0 == 0 ? "/" : String(decoding: bytes[..<$0], as: UTF8.self) } ?? "."
    let base = slash.map { String(decoding: bytes[($0 + 1)...], as: UTF8.self) } ?? path
    if base == "." || base == ".." {
        throw SquashFSError("\(path): names a directory; give the path of the image file to write")
    }
    if base.utf8.count > 255 {
        throw SquashFSError("\(path): the file name is \(base.utf8.count) bytes long; a file name holds at most 255 bytes, so choose a shorter one")
    }
    var st = stat()
    if lstat(path, &st) == 0 {
        let type = st.st_mode & S_IFMT
        if type == S_IFDIR {
            throw SquashFSError("\(path): is a directory; give the path of the image file to write", kind: .destinationNotRegular)
        }
        if type != S_IFREG {
            throw SquashFSError("\(path): is \(fileKind(st.st_mode)), not a regular file; an image only ever replaces a regular file, so remove it or write the image elsewhere", kind: .destinationNotRegular)
        }
        if !replace {
            throw SquashFSError("\(path): already exists", kind: .destinationExists)
        }
    }
    return (dir, base)
}

/// Removes the named temporary image when the process is stopped by
/// SIGINT, SIGTERM or SIGHUP (Ctrl-C, a build timeout) while writing, then
/// dies of the same signal: an interrupted write leaves nothing behind
/// either. Handlers are installed only for signals whose action is the
/// default, so a caller's own handling (or SIG_IGN under nohup) is kept.
///
/// The path lives in a buffer that is never freed, and `armed` says
/// whether it is valid: the handler may run at any moment, even while
/// `register` or `unregister` runs on another thread.
enum InterruptCleanup {
    static let capacity = 4352
    nonisolated(unsafe) static let path = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
    static let armed = Atomic<Bool>(false)
    nonisolated(unsafe) static var installed = false
    static let lock = Monitor()

    static func register(_ temp: String) {
        lock.locked {
            armed.store(false, ordering: .sequentiallyConsistent)
            let bytes = Array(temp.utf8)
            guard bytes.count < capacity else { return }
            for (i, b) in bytes.enumerated() { path[i] = CChar(bitPattern: b) }
            path[bytes.count] = 0
            armed.store(true, ordering: .sequentiallyConsistent)
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

    static func unregister() {
        lock.locked { armed.store(false, ordering: .sequentiallyConsistent) }
    }
}

/// The handler: unlink (async-signal-safe), then die of the signal (the
/// action was reset to the default on entry).
private func interruptCleanupHandler(_ sig: Int32) {
    if InterruptCleanup.armed.load(ordering: .sequentiallyConsistent) { unlink(InterruptCleanup.path) }
    raise(sig)
}
