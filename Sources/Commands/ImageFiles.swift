#if canImport(Glibc)
import Glibc
#endif
import SystemIO

/// A failure of `sign` or `verify`: the one line the user reads.
typealias CheckFailure = CommandFailure

/// A regular file opened for reading, with its size.
struct OpenFile: ~Copyable {
    let path: String
    let fd: FileDescriptor
    let size: UInt64
}

/// The files `sign` and `verify` read: images, hash trees, `.roothash`
/// and signature files. Each is opened without blocking (a FIFO named
/// instead of a file must not hang), must be a regular file, and is read
/// only as far as its size, or a bound where one applies.
enum ImageFiles {
    /// The most a `.roothash` or `.roothash.p7s` may hold: a root hash is
    /// 64 hex digits, a PKCS#7 signature a few KiB with its certificate.
    static let sidecarLimit: UInt64 = 1 << 20

    static func open(_ path: String) throws(CheckFailure) -> OpenFile {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY) } catch {
            throw CheckFailure(message: "\(path): cannot open (\(error.errno))")
        }
        let st: stat
        do { st = try fd.status() } catch { throw CheckFailure(message: "\(path): cannot read (\(error.errno))") }
        guard st.st_mode & S_IFMT == S_IFREG else { throw CheckFailure(message: "\(path): not a regular file") }
        return OpenFile(path: path, fd: fd, size: UInt64(st.st_size))
    }

    /// `open`, or nil if nothing is at `path`.
    static func openIfPresent(_ path: String) throws(CheckFailure) -> OpenFile? {
        var st = stat()
        if lstat(path, &st) != 0 && errno == ENOENT { return nil }
        return try open(path)
    }

    /// The whole file, of at most `limit` bytes; nil if it does not exist.
    /// A larger file is refused before anything is read, so a file swapped
    /// for something huge cannot exhaust memory.
    static func readIfPresent(_ path: String, limit: UInt64 = sidecarLimit) throws(CheckFailure) -> [UInt8]? {
        guard let file = try openIfPresent(path) else { return nil }
        guard file.size <= limit else {
            throw CheckFailure(message: "\(path): \(file.size) bytes, more than the \(limit) such a file can hold; it is not what pack or sign wrote")
        }
        return try read(file, at: 0, count: Int(file.size))
    }

    /// `count` bytes at `offset`.
    static func read(_ file: borrowing OpenFile, at offset: UInt64, count: Int) throws(CheckFailure) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        if count == 0 { return out }
        let fd = file.fd.raw
        let result: Result<Int, SystemError> = out.withUnsafeMutableBytes { b in
            do throws(SystemError) { return .success(try Posix.preadFully(fd, b.baseAddress!, count, offset)) } catch { return .failure(error) }
        }
        switch result {
        case .failure(let e): throw CheckFailure(message: "\(file.path): read failed (\(e.errno))")
        case .success(let n) where n < count:
            throw CheckFailure(message: "\(file.path): ends before byte \(offset + UInt64(count)); it was truncated")
        case .success: return out
        }
    }
}
