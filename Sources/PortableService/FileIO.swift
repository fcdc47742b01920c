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

    /// Reads a whole regular file. `missing` for ENOENT (and ENOTDIR),
    /// `failed` with the reason for anything else.
    static func readFile(_ path: String) -> ReadResult {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let e = errno
            if e == ENOENT || e == ENOTDIR { return .missing }
            return .failed(errorString(e))
        }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { return .failed(errorString(errno)) }
        if st.st_mode & S_IFMT == S_IFDIR { return .failed("is a directory, not a file") }
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
            out.append(contentsOf: buffer[0..<n])
        }
        return .bytes(out)
    }

    static func errorString(_ e: Int32) -> String {
        String(cString: strerror(e))
    }
}

/// The directory part of a path, as dirname(1) gives it.
func directoryName(_ path: String) -> String {
    var bytes = Array(path.utf8)
    while bytes.count > 1, bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
    guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return "." }
    if slash == 0 { return "/" }
    var dir = Array(bytes[..<slash])
    while dir.count > 1, dir.last == UInt8(ascii: "/") { dir.removeLast() }
    return String(decoding: dir, as: UTF8.self)
}
