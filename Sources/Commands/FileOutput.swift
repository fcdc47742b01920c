#if canImport(Glibc)
import Glibc
#endif
import SquashFS

/// A file written under a temporary name beside `path` and moved into
/// place only by `publish`, so that several files (an image and its
/// sidecars) appear together or not at all. Dropped unpublished, the
/// temporary file is removed.
final class PendingFile {
    let path: String
    let tempPath: String
    private var published = false

    convenience init(path: String, bytes: [UInt8]) throws {
        try self.init(path: path) { fd throws(PendingFile.WriteError) in
            try PendingFile.writeAll(fd, bytes, at: 0)
        }
    }

    struct WriteError: Error { let errno: Int32 }

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

    /// Creates the temporary file and lets `fill` write it.
    init(path: String, fill: (Int32) throws(WriteError) -> Void) throws {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[...$0]) } ?? ""
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        tempPath = dir + "." + String(decoding: base.utf8.prefix(200), as: UTF8.self) + ".tmp-\(getpid())"
        unlink(tempPath)
        let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            throw PackCommand.Failure(message: "\(path): cannot create the file (\(String(cString: strerror(errno)))); make sure its directory exists and is writable")
        }
        var failure: Int32 = 0
        do { try fill(fd) } catch { failure = error.errno }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        if close(fd) != 0 && failure == 0 { failure = errno }
        if failure != 0 {
            unlink(tempPath)
            let why = failure == ENOSPC || failure == EDQUOT ? "no space left on the device; free space there or write elsewhere" : String(cString: strerror(failure))
            throw PackCommand.Failure(message: "\(path): write failed (\(why))")
        }
    }

    /// Without `replace`, nothing is replaced, even a file that appeared
    /// since the start; with it, only a regular file (see `publishFile`).
    func publish(replace: Bool) throws {
        try publishFile(tempPath, as: path, replace: replace)
        published = true
    }

    deinit {
        if !published { unlink(tempPath) }
    }
}
