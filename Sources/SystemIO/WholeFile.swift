#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CPosix

extension FileDescriptor {
    /// Reads a whole regular file of at most `limit` bytes. Opened with
    /// O_NONBLOCK (a FIFO must not make open wait for a writer) and refused
    /// unless it is a regular file; the limit is checked while reading too,
    /// since /proc files claim size 0.
    public static func readRegularFile(_ path: String, limit: Int) throws(SystemError) -> [UInt8] {
        let fd = try open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        var st = stat()
        if fstat(fd.raw, &st) != 0 { throw SystemError(.read, path: path, errno: .current) }
        if st.st_mode & S_IFMT != S_IFREG {
            throw SystemError(.notRegularInput(mode: UInt32(st.st_mode)), path: path, errno: Errno(0))
        }
        if Int64(st.st_size) > Int64(limit) { throw SystemError(.tooLarge(limit: limit), path: path, errno: Errno(EFBIG)) }
        var out: [UInt8] = []
        out.reserveCapacity(Int(max(st.st_size, 0)))
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let raw = fd.raw
            let n: Int
            do { n = try Posix.retryingEINTR(.read) { buffer.withUnsafeMutableBytes { Glibc.read(raw, $0.baseAddress, $0.count) } } } catch {
                throw SystemError(.read, path: path, errno: error.errno)
            }
            if n == 0 { return out }
            if out.count + n > limit { throw SystemError(.tooLarge(limit: limit), path: path, errno: Errno(EFBIG)) }
            out.append(contentsOf: buffer[0..<n])
        }
    }

    /// Writes all of `bytes` at `offset` (see `Posix.pwriteFully`).
    public func writeAll(_ bytes: [UInt8], at offset: UInt64) throws(SystemError) {
        try Self.writeAll(raw, bytes, at: offset)
    }

    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: UInt64) throws(SystemError) {
        let r: Result<Void, SystemError> = bytes.withUnsafeBytes { b in
            Result { () throws(SystemError) in
                if let base = b.baseAddress { try Posix.pwriteFully(fd, base, b.count, offset) }
            }
        }
        try r.get()
    }
}
