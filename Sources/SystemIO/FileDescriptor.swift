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
    public static func open(_ path: [UInt8], _ flags: Int32, mode: mode_t = 0, relativeTo dir: Int32 = AT_FDCWD) throws(SystemError) -> FileDescriptor {
        do {
            let fd = try Posix.retryingEINTR(.open) { Posix.withCString(path) { openat(dir, $0, flags, mode) } }
            return FileDescriptor(raw: fd)
        } catch {
            throw SystemError(.open, path: String(decoding: path, as: UTF8.self), errno: error.errno)
        }
    }

    public static func open(_ path: String, _ flags: Int32, mode: mode_t = 0, relativeTo dir: Int32 = AT_FDCWD) throws(SystemError) -> FileDescriptor {
        try open(Array(path.utf8), flags, mode: mode, relativeTo: dir)
    }

    /// Gives up ownership: the descriptor stays open, and the caller closes it.
    public consuming func release() -> Int32 {
        let fd = raw
        discard self
        return fd
    }

    /// Closes now and reports what close says (some file systems report
    /// a failed write only there).
    public consuming func close() throws(SystemError) {
        let fd = raw
        discard self
        if Glibc.close(fd) != 0 { throw SystemError(.close, errno: .current) }
    }
}

extension FileDescriptor {
    /// Opens `path` (raw bytes, relative) beneath the directory `dir`,
    /// following no symlink on any component and never leaving `dir`:
    /// openat2 with RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH where the kernel
    /// has it (Linux 5.6), else a walk of openat(O_NOFOLLOW | O_DIRECTORY)
    /// per directory and openat(O_NOFOLLOW) for the last component. A link
    /// met on the way fails with ELOOP or ENOTDIR; "..", an absolute path
    /// or an empty one with EXDEV. Paths longer than PATH_MAX take the walk.
    public static func openBeneath(_ path: [UInt8], _ flags: Int32, mode: mode_t = 0, in dir: Int32) throws(SystemError) -> FileDescriptor {
        if !isRelativeBelow(path) { throw SystemError(.open, path: String(decoding: path, as: UTF8.self), errno: Errno(EXDEV)) }
        if path.count < Posix.longPath {
            do {
                let fd = try Posix.retryingEINTR(.open) { Posix.withCString(path) { cposix_openat_beneath(dir, $0, flags, UInt32(mode)) } }
                return FileDescriptor(raw: fd)
            } catch {
                // ENOSYS: no openat2; EPERM: a seccomp filter refuses it.
                guard error.errno.code == ENOSYS || error.errno.code == EPERM else {
                    throw SystemError(.open, path: String(decoding: path, as: UTF8.self), errno: error.errno)
                }
            }
        }
        let components = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
        return try openBeneathByWalk(components, flags, mode: mode, in: dir)
    }

    /// Not absolute, at least one component, none of them "..": what
    /// `openBeneath` accepts. One pass over the bytes: the writer opens
    /// every source file this way, and splitting each path into an array
    /// of components first was most of the cost of the call.
    static func isRelativeBelow(_ path: [UInt8]) -> Bool {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        if path.first == slash { return false }
        return path.withUnsafeBufferPointer { p in
            var named = false
            var start = 0
            for i in 0...p.count where i == p.count || p[i] == slash {
                let length = i - start
                if length == 2 && p[start] == dot && p[start + 1] == dot { return false }
                if length > 0 { named = true }
                start = i + 1
            }
            return named
        }
    }

    /// The walk `openBeneath` falls back on: each directory opened O_PATH |
    /// O_DIRECTORY | O_NOFOLLOW relative to the one before, the last
    /// component with O_NOFOLLOW.
    static func openBeneathByWalk(_ components: [ArraySlice<UInt8>], _ flags: Int32, mode: mode_t, in dir: Int32) throws(SystemError) -> FileDescriptor {
        var parent: FileDescriptor? = nil
        for component in components.dropLast() {
            let next = try open(Array(component), cposix_O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, relativeTo: parent?.raw ?? dir)
            parent = consume next
        }
        return try open(Array(components.last!), flags | O_NOFOLLOW, mode: mode, relativeTo: parent?.raw ?? dir)
    }
}
