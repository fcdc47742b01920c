#if canImport(Glibc)
import Glibc
#endif

/// Small POSIX helpers (no Foundation in this module).
enum FileIO {
    enum ReadResult {
        case bytes([UInt8])
        case missing
        case failed(String)
    }

    /// The most `readFile` reads: twice the largest attributes file seen
    /// for a real closure (946 MB for 300,000 store paths).
    public static let maximumFileSize = 2 << 30

    /// Reads a whole regular file, of at most `maximumFileSize` bytes.
    /// `missing` for ENOENT (and ENOTDIR), `failed` with the reason for
    /// anything else: a device, FIFO or directory (whose reads never end,
    /// block, or fail), and a file over the limit (checked while reading
    /// too, since /proc files claim size 0).
    static func readFile(_ path: String) -> ReadResult {
        // O_NONBLOCK: opening a FIFO must not wait for a writer.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        if fd < 0 {
            let e = errno
            if e == ENOENT || e == ENOTDIR { return .missing }
            return .failed(errorString(e))
        }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { return .failed(errorString(errno)) }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: return .failed("is a directory, not a file")
        case S_IFCHR: return .failed("is a character device, not a regular file")
        case S_IFBLK: return .failed("is a block device, not a regular file")
        case S_IFIFO: return .failed("is a FIFO, not a regular file")
        case S_IFSOCK: return .failed("is a socket, not a regular file")
        default: return .failed("is not a regular file")
        }
        let tooLarge = "is larger than \(maximumFileSize >> 30) GiB, more than any attributes file or reference graph of a real closure"
        if Int64(st.st_size) > Int64(maximumFileSize) { return .failed(tooLarge) }
        var out: [UInt8] = []
        out.reserveCapacity(Int(max(st.st_size, 0)))
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                return .failed(errorString(e))
            }
            if n == 0 { break }
            if out.count + n > maximumFileSize { return .failed(tooLarge) }
            out.append(contentsOf: buffer[0..<n])
        }
        return .bytes(out)
    }

    static func errorString(_ e: Int32) -> String {
        String(cString: strerror(e))
    }
}
