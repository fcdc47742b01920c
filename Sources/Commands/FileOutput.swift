#if canImport(Glibc)
import Glibc
#endif
import CPosix
import SquashFS

/// A file written beside an image (a sidecar) that appears under its name
/// only when `publish` gives it one, so that an image and its sidecars
/// appear together, and that no death of the process leaves a half-written
/// or temporary file behind.
///
/// Rule, as `OutputFile`'s for the image itself:
/// - The bytes go to an unnamed file in the destination's directory
///   (`O_TMPFILE`); the kernel frees it on any death, SIGKILL included.
///   `publish` without `replace` links it to its name (`linkat`, which
///   replaces nothing: a file that appeared meanwhile is kept,
///   `.destinationAppeared`). With `replace`, it links it to
///   `.NAME.tmp-PID` and renames that over NAME; only a SIGKILL between
///   those two calls leaves that name.
/// - Without `O_TMPFILE` (or /proc to name such a file by), or with
///   MKPORTABLE_NO_O_TMPFILE set, the bytes go to `.NAME.tmp-PID`, removed
///   on every failure and when dropped unpublished; SIGKILL leaves it.
final class PendingFile {
    let path: String
    let tempPath: String
    /// The unnamed file, until `publish` names it; -1 for a named one.
    private var fd: Int32 = -1
    /// The bytes are in the file `tempPath`, ours to remove.
    private var named = false
    private var published = false

    convenience init(path: String, bytes: [UInt8]) throws {
        try self.init(path: path) { fd throws(PendingFile.WriteError) in
            try PendingFile.writeAll(fd, bytes, at: 0)
        }
    }

    struct WriteError: Error {
        let errno: Int32

        /// The one line for a failed write of `path`.
        func failure(path: String) -> PackCommand.Failure {
            let why = errno == ENOSPC || errno == EDQUOT ? "no space left on the device; free space there or write elsewhere" : String(cString: strerror(errno))
            return PackCommand.Failure(message: "\(path): write failed (\(why))")
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: UInt64) throws(WriteError) {
        var done = 0
        var failure: Int32 = 0
        bytes.withUnsafeBytes { b in
            while done < b.count {
                let n = pwrite(fd, b.baseAddress! + done, b.count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                done += n
            }
        }
        if failure != 0 { throw WriteError(errno: failure) }
    }

    /// Creates the file (unnamed where possible) and lets `fill` write it.
    init(path: String, fill: (Int32) throws(WriteError) -> Void) throws {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        tempPath = dir + "." + String(decoding: base.utf8.prefix(200), as: UTF8.self) + ".tmp-\(getpid())"
        var file: Int32 = -1
        if getenv("MKPORTABLE_NO_O_TMPFILE") == nil {
            file = open(dir.isEmpty ? "." : dir, cposix_O_TMPFILE | O_WRONLY | O_CLOEXEC, 0o644)
            var st = stat()
            if file >= 0 && stat("/proc/self/fd/\(file)", &st) != 0 { close(file); file = -1 }
        }
        let unnamed = file >= 0
        if !unnamed {
            unlink(tempPath)
            file = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        }
        if file < 0 {
            throw PackCommand.Failure(message: "\(path): cannot create the file (\(String(cString: strerror(errno)))); make sure its directory exists and is writable")
        }
        var failure: Int32 = 0
        do { try fill(file) } catch { failure = error.errno }
        if failure == 0 && fsync(file) != 0 { failure = errno }
        if unnamed && failure == 0 {
            fd = file
            return
        }
        named = !unnamed
        if close(file) != 0 && failure == 0 { failure = errno }
        if failure != 0 {
            if !unnamed { unlink(tempPath) }
            throw WriteError(errno: failure).failure(path: path)
        }
    }

    /// Gives the unnamed file the name `name`.
    private func link(as name: String) -> Int32 {
        if linkat(fd, "", AT_FDCWD, name, cposix_AT_EMPTY_PATH) == 0 { return 0 }
        if linkat(AT_FDCWD, "/proc/self/fd/\(fd)", AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0 { return 0 }
        return errno
    }

    /// Without `replace`, nothing is replaced, even a file that appeared
    /// since the start; with it, only a regular file (see `publishFile`).
    func publish(replace: Bool) throws {
        if named {
            try publishFile(tempPath, as: path, replace: replace)
            published = true
            return
        }
        var st = stat()
        if lstat(path, &st) == 0 && st.st_mode & S_IFMT != S_IFREG {
            throw SquashFSError("\(path): is not a regular file; it was left as it is", kind: .destinationNotRegular)
        }
        if !replace {
            let e = link(as: path)
            if e == EEXIST {
                throw SquashFSError("\(path): appeared while the image was written; it was left as it is and the new file discarded", kind: .destinationAppeared, path: path)
            }
            if e != 0 { throw PackCommand.Failure(message: "\(path): cannot give the finished file its name (\(String(cString: strerror(e))))") }
        } else {
            unlink(tempPath)
            let e = link(as: tempPath)
            if e != 0 { throw PackCommand.Failure(message: "\(path): cannot give the finished file a name (\(String(cString: strerror(e))))") }
            do { try publishFile(tempPath, as: path, replace: true) } catch { unlink(tempPath); throw error }
        }
        close(fd)
        fd = -1
        published = true
    }

    deinit {
        if fd >= 0 { close(fd) }
        if named && !published { unlink(tempPath) }
    }
}
