#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CPosix

/// A set of files written into one directory that appear under their names
/// together, complete, or not at all (an image and its sidecars; a disk
/// image and its `.roothash`). The rule:
///
/// - Every file is reached through one descriptor of the directory, opened
///   at the start: a directory renamed mid-run receives the whole set.
/// - The bytes go to unnamed files (`O_TMPFILE`) where the kernel has them
///   and /proc is there to name them by; whatever ends the process, the
///   kernel frees them. Elsewhere, or without `unnamed`, to `.NAME.tmp-PID`,
///   registered with `SignalCleanup` from the moment it exists, and removed
///   on every failure and when the set is dropped unpublished.
/// - `publish` names the files newest first (so the first file created,
///   the main one, appears last), all under an exclusive `flock` of the
///   directory, so two runs publishing to one directory never interleave.
///   Without `replace`, nothing is replaced: a name that exists fails the
///   publish (`.appeared`) and the names this run gave are removed again.
///   With `replace`, only a regular file is replaced (via a temporary name
///   and `rename`); a failure then leaves the names already given, which
///   must describe the new files, never a mix.
/// - A destination that is not a regular file is never replaced.
/// - SIGXFSZ is ignored (unless the caller chose its handling), so the file
///   size limit ends a write like a full disk: an error, no leftovers.
public final class OutputSet {
    /// The directory as given, for the paths in errors.
    public let directoryPath: String
    private let directory: FileDescriptor
    private let replace: Bool
    private let unnamed: Bool
    private var members: [Member] = []

    private final class Member {
        let name: String
        /// The file while it is open: until `publish`, or until the set
        /// goes away.
        var file: FileDescriptor?
        var fd: Int32 { file?.raw ?? -1 }
        /// The temporary name the file has in the directory, if any, and
        /// its `SignalCleanup` slot.
        var temp: String?
        var slot: Int?
        init(name: String, file: consuming FileDescriptor? = nil) {
            self.name = name
            self.file = file
        }
    }

    public init(directory path: String, replace: Bool, unnamed: Bool = true) throws(SystemError) {
        directoryPath = path
        self.replace = replace
        self.unnamed = unnamed
        // O_RDONLY for flock; O_PATH where the directory may be written but
        // not listed (then publishing goes without the lock).
        do {
            directory = try FileDescriptor.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        } catch {
            do { directory = try FileDescriptor.open(path, cposix_O_PATH | O_DIRECTORY | O_CLOEXEC) } catch {
                throw SystemError(.openDirectory, path: path, errno: error.errno)
            }
        }
        Posix.ignoreIfDefault(SIGXFSZ)
    }

    deinit {
        for m in members {
            m.file = nil
            if let t = m.temp { unlinkat(directory.raw, t, 0) }
            SignalCleanup.unregister(m.slot)
        }
    }

    /// `name` in the directory, for messages.
    public func path(_ name: String) -> String {
        directoryPath == "/" ? "/" + name : directoryPath == "." ? name : directoryPath + "/" + name
    }

    /// A new file of the set, to be published as `name`: its descriptor
    /// (read-write), owned by the set.
    public func create(_ name: String) throws(SystemError) -> Int32 {
        if unnamed, let raw = try? Posix.retryingEINTR(.create, { openat(directory.raw, ".", cposix_O_TMPFILE | O_RDWR | O_CLOEXEC, 0o644) }) {
            let fd = FileDescriptor(raw: raw)
            // Named through /proc/self/fd/N, which any user may do
            // (AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH): check now.
            var st = stat()
            if stat("/proc/self/fd/\(raw)", &st) == 0 {
                members.append(Member(name: name, file: fd))
                return raw
            }
        }
        let temp = Self.temporaryName(for: name)
        let member = Member(name: name)
        let dir = directory.raw
        unlinkat(dir, temp, 0)
        let created = SignalCleanup.withSignalsBlocked { () -> Result<Int32, SystemError> in
            let r = Result { () throws(SystemError) in try Posix.retryingEINTR(.create) { openat(dir, temp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644) } }
            if case .success = r { member.temp = temp; member.slot = SignalCleanup.register(temp, in: dir) }
            return r
        }
        switch created {
        case .success(let fd):
            member.file = FileDescriptor(raw: fd)
            members.append(member)
            return fd
        case .failure(let e):
            throw SystemError(.create, path: path(name), errno: e.errno)
        }
    }

    /// `.NAME.tmp-PID`, with NAME cut (on a character boundary) so the whole
    /// fits in a file name.
    static func temporaryName(for name: String) -> String {
        let suffix = ".tmp-\(getpid())"
        var stem = ""
        var bytes = 0
        for u in name.unicodeScalars {
            let n = String(u).utf8.count
            if 1 + bytes + n + suffix.utf8.count > 255 { break }
            stem.unicodeScalars.append(u)
            bytes += n
        }
        return "." + stem + suffix
    }

    /// Syncs every file and gives each its name, newest first, under the
    /// directory's lock (see the rule above).
    public func publish() throws(SystemError) {
        for m in members where fsync(m.fd) != 0 {
            throw SystemError(.sync, path: path(m.name), errno: .current)
        }
        let locked = flock(directory.raw, LOCK_EX) == 0
        defer { if locked { flock(directory.raw, LOCK_UN) } }
        var given: [Member] = []
        do {
            for m in members.reversed() {
                try name(m)
                given.append(m)
            }
        } catch {
            if !replace { for m in given { unlinkat(directory.raw, m.name, 0) } }
            throw error
        }
        for m in members { m.file = nil }
    }

    /// Gives one file its name.
    private func name(_ m: Member) throws(SystemError) {
        let dir = directory.raw
        var st = stat()
        if fstatat(dir, m.name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
            if st.st_mode & S_IFMT != S_IFREG { throw SystemError(.notRegular(mode: UInt32(st.st_mode)), path: path(m.name), errno: Errno(0)) }
            if !replace { throw SystemError(.appeared, path: path(m.name), errno: Errno(EEXIST)) }
        }
        if m.temp == nil {
            if !replace {
                if let e = link(m, as: m.name) {
                    throw SystemError(e.code == EEXIST ? .appeared : .name, path: path(m.name), errno: e)
                }
                return
            }
            let temp = Self.temporaryName(for: m.name)
            unlinkat(dir, temp, 0)
            let e = SignalCleanup.withSignalsBlocked { () -> Errno? in
                let e = link(m, as: temp)
                if e == nil { m.temp = temp; m.slot = SignalCleanup.register(temp, in: dir) }
                return e
            }
            if let e { throw SystemError(.name, path: path(m.name), errno: e) }
        }
        try rename(m)
    }

    /// Gives the unnamed file `m` the name `name`.
    private func link(_ m: Member, as name: String) -> Errno? {
        if linkat(m.fd, "", directory.raw, name, cposix_AT_EMPTY_PATH) == 0 { return nil }
        if linkat(AT_FDCWD, "/proc/self/fd/\(m.fd)", directory.raw, name, AT_SYMLINK_FOLLOW) == 0 { return nil }
        return .current
    }

    /// Moves `m.temp` to `m.name`: over a regular file with `replace`,
    /// else with RENAME_NOREPLACE or, where the file system lacks it,
    /// link + unlink, neither of which replaces anything.
    private func rename(_ m: Member) throws(SystemError) {
        guard let temp = m.temp else { return }
        let dir = directory.raw
        if replace {
            if renameat(dir, temp, dir, m.name) != 0 { throw SystemError(.name, path: path(m.name), errno: .current) }
        } else if cposix_renameat2(dir, temp, dir, m.name, cposix_RENAME_NOREPLACE) != 0 {
            var e = Errno.current
            if e.code == EINVAL || e.code == ENOSYS || e.code == EOPNOTSUPP {
                if linkat(dir, temp, dir, m.name, 0) == 0 {
                    unlinkat(dir, temp, 0)
                    e = Errno(0)
                } else {
                    e = .current
                }
            }
            if e.code != 0 { throw SystemError(e.code == EEXIST ? .appeared : .name, path: path(m.name), errno: e) }
        }
        m.temp = nil
        SignalCleanup.unregister(m.slot)
        m.slot = nil
    }
}
