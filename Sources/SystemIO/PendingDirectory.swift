#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CPosix

/// A new directory filled under a temporary name (`NAME.tmp-PID` beside
/// NAME) and renamed into place when complete. The temporary directory and
/// every file made in it are registered with `SignalCleanup` from the
/// moment they exist, and removed on every failure and when dropped
/// unpublished; only SIGKILL leaves them. `publish` never replaces
/// anything (RENAME_NOREPLACE; where the file system lacks it, a plain
/// rename, which can replace only an empty directory). The parent is
/// reached through one descriptor opened at the start.
public final class PendingDirectory {
    /// The final path, and the temporary one (for reading files back by path).
    public let path: String
    public let temporaryPath: String
    private let parent: FileDescriptor
    private let name: String
    private let temporaryName: String
    private let directory: FileDescriptor
    private var slots: [Int?] = []
    private var files: [String] = []
    private var published = false

    public init(_ path: String) throws(SystemError) {
        self.path = path
        // Split as bytes, not Characters: a name ending in a prepended
        // mark (U+0600) and "/" is one Character, which would hide the
        // slash and put the temporary directory inside the target.
        let bytes = Array(path.utf8)
        let slashByte = UInt8(ascii: "/")
        var end = bytes.count
        while end > 1 && bytes[end - 1] == slashByte { end -= 1 }
        let trimmed = bytes[..<end]
        let slash = trimmed.lastIndex(of: slashByte)
        let text = { (b: ArraySlice<UInt8>) in String(decoding: b, as: UTF8.self) }
        let parentPath = slash.map { $0 == 0 ? "/" : text(trimmed[..<$0]) } ?? "."
        name = text(trimmed[(slash.map { $0 + 1 } ?? 0)...])
        let temp = name + ".tmp-\(getpid())"
        temporaryName = temp
        temporaryPath = (slash.map { text(trimmed[...$0]) } ?? "") + temp
        do { parent = try FileDescriptor.open(parentPath, cposix_O_PATH | O_DIRECTORY | O_CLOEXEC) } catch {
            throw SystemError(.create, path: path, errno: error.errno)
        }
        let p = parent.raw
        var slot: Int?
        let made = SignalCleanup.withSignalsBlocked { () -> Int32 in
            let rc = mkdirat(p, temp, 0o755)
            if rc == 0 { slot = SignalCleanup.register(temp, in: p, removingDirectory: true) }
            return rc == 0 ? 0 : errno
        }
        if made != 0 { throw SystemError(.create, path: path, errno: Errno(made)) }
        slots.append(slot)
        do { directory = try FileDescriptor.open(temp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, relativeTo: p) } catch {
            unlinkat(p, temp, AT_REMOVEDIR)
            SignalCleanup.unregister(slot)
            throw SystemError(.create, path: path, errno: error.errno)
        }
    }

    deinit {
        if !published {
            for f in files { unlinkat(directory.raw, f, 0) }
            unlinkat(parent.raw, temporaryName, AT_REMOVEDIR)
        }
        for s in slots.reversed() { SignalCleanup.unregister(s) }
    }

    /// A new file `name` in the directory, read-write.
    public func create(_ file: String) throws(SystemError) -> FileDescriptor {
        let dir = directory.raw
        var slot: Int?
        let created = SignalCleanup.withSignalsBlocked { () -> Result<Int32, SystemError> in
            let r = Result { () throws(SystemError) in try Posix.retryingEINTR(.create) { openat(dir, file, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644) } }
            if case .success = r { slot = SignalCleanup.register(file, in: dir) }
            return r
        }
        switch created {
        case .success(let fd):
            files.append(file)
            slots.append(slot)
            return FileDescriptor(raw: fd)
        case .failure(let e):
            throw SystemError(.create, path: temporaryPath + "/" + file, errno: e.errno)
        }
    }

    /// Renames the directory into place; `.appeared` if NAME exists.
    public func publish() throws(SystemError) {
        let p = parent.raw
        if cposix_renameat2(p, temporaryName, p, name, cposix_RENAME_NOREPLACE) != 0 {
            var e = Errno.current
            if e.code == EINVAL || e.code == ENOSYS || e.code == EOPNOTSUPP {
                e = renameat(p, temporaryName, p, name) == 0 ? Errno(0) : .current
            }
            if e.code != 0 {
                throw SystemError(e.code == EEXIST || e.code == ENOTEMPTY ? .appeared : .name, path: path, errno: e)
            }
        }
        published = true
        for s in slots { SignalCleanup.unregister(s) }
        slots = []
    }
}
