#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension FileDescriptor {
    private typealias CopyFileRange = @convention(c) (Int32, UnsafeMutablePointer<off_t>?, Int32, UnsafeMutablePointer<off_t>?, Int, UInt32) -> Int

    /// glibc's copy_file_range(2), which Swift's Glibc module does not
    /// export (it needs _GNU_SOURCE); nil before glibc 2.27.
    private static let copyFileRange: CopyFileRange? = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "copy_file_range") else { return nil }
        return unsafeBitCast(sym, to: CopyFileRange.self)
    }()

    /// Copies `count` bytes from the start of `source` to `destination` at
    /// `offset`: in the kernel (copy_file_range, a reflink where the file
    /// system has them) where it can, else by reading and writing. A source
    /// shorter than `count` fails with EIO.
    public static func copy(_ source: Int32, to destination: Int32, at offset: UInt64 = 0, count: Int) throws(SystemError) {
        var inOff = off_t(0)
        var outOff = off_t(offset)
        while Int(inOff) < count {
            guard let copyRange = copyFileRange else { break }
            let left = count - Int(inOff)
            let n: Int
            do { n = try Posix.retryingEINTR(.write) { copyRange(source, &inOff, destination, &outOff, left, 0) } } catch {
                if [EXDEV, ENOSYS, EOPNOTSUPP, EINVAL].contains(error.errno.code) { break }
                throw SystemError(.write, errno: error.errno, written: Int(inOff))
            }
            if n == 0 { throw SystemError(.read, errno: Errno(EIO)) }
        }
        try copyByReading(source, from: UInt64(inOff), to: destination, at: UInt64(outOff), count: count - Int(inOff))
    }

    /// The rest of `copy` through a buffer: `count` bytes of `source` at
    /// `from` to `destination` at `at`.
    private static func copyByReading(_ source: Int32, from: UInt64, to destination: Int32, at: UInt64, count: Int) throws(SystemError) {
        var buffer = [UInt8](repeating: 0, count: min(count, 1 << 20))
        var done = 0
        while done < count {
            let want = min(buffer.count, count - done)
            let read = buffer.withUnsafeMutableBytes { b in
                Result { () throws(SystemError) in try Posix.preadFully(source, b.baseAddress!, want, from + UInt64(done)) }
            }
            let n = try read.get()
            if n < want { throw SystemError(.read, errno: Errno(EIO)) }
            try writeAll(destination, Array(buffer[0..<n]), at: at + UInt64(done))
            done += n
        }
    }
}
