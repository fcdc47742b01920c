#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CPosix

/// An open file descriptor that closes itself when it goes away, so no
/// path out of a function (a throw included) leaks one.
public struct FileDescriptor: ~Copyable {
    public let raw: Int32

    public init(raw: Int32) { self.raw = raw }

    deinit { _ = Glibc.close(raw) }

    /// Opens `path` (raw bytes), retrying EINTR.
    public static func open(_ path: [UInt8], _ flags: Int32, mode: mode_t = 0, relativeTo dir: Int32 = AT_FDCWD) throws(Errno) -> FileDescriptor {
        let fd = try Posix.retryingEINTR { Posix.withCString(path) { openat(dir, $0, flags, mode) } }
        return FileDescriptor(raw: fd)
    }

    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0, relativeTo dir: Int32 = AT_FDCWD) throws(Errno) -> FileDescriptor {
        try open(Array(path.utf8), flags, mode: mode, relativeTo: dir)
    }

    /// Closes now and reports what close says (some file systems report
    /// a failed write only there).
    public consuming func close() throws(Errno) {
        let fd = raw
        discard self
        if Glibc.close(fd) != 0 { throw Errno.current }
    }
}
