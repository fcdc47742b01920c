#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CPosix

/// The calls on an open file that other modules make besides reading and
/// writing: its size, its sync, where its data lies. Static forms take
/// a raw descriptor, for writers that hold one they do not own.
extension FileDescriptor {
    /// Sets the file's size to `size` (ftruncate): cut, or extended with a
    /// hole. Fails as a `write`. Neither call retries EINTR: the
    /// signals the program catches end it.
    public func truncate(to size: UInt64) throws(SystemError) {
        try Self.truncate(raw, to: size)
    }

    public static func truncate(_ fd: Int32, to size: UInt64) throws(SystemError) {
        if ftruncate(fd, off_t(size)) != 0 { throw SystemError(.write, errno: .current) }
    }

    /// Waits until what was written to the file is on its device (fsync).
    public func sync() throws(SystemError) {
        try Self.sync(raw)
    }

    public static func sync(_ fd: Int32) throws(SystemError) {
        if fsync(fd) != 0 { throw SystemError(.sync, errno: .current) }
    }

    /// Where the first data at or after `offset` starts (lseek SEEK_DATA),
    /// or nil when there is none: the rest of the file is a hole. A file
    /// system without holes reports all of the file as data. Fails as a
    /// `read`.
    public static func nextData(_ fd: Int32, from offset: UInt64) throws(SystemError) -> UInt64? {
        let next = lseek(fd, off_t(offset), cposix_SEEK_DATA)
        if next >= 0 { return UInt64(next) }
        let e = errno
        if e == ENXIO { return nil }
        throw SystemError(.read, errno: Errno(e))
    }
}

extension FileDescriptor {
    /// The file's status (fstat). Fails as a `read`.
    public func status() throws(SystemError) -> stat {
        try Self.status(raw)
    }

    public static func status(_ fd: Int32) throws(SystemError) -> stat {
        var st = stat()
        if fstat(fd, &st) != 0 { throw SystemError(.read, errno: .current) }
        return st
    }

    /// One pread of up to `count` bytes at `offset`, retrying EINTR only:
    /// it may return fewer bytes than are there (see `Posix.preadFully`).
    public static func readOnce(_ fd: Int32, into buf: UnsafeMutableRawPointer, count: Int, at offset: UInt64) throws(SystemError) -> Int {
        try Posix.retryingEINTR(.read) { pread(fd, buf, count, off_t(offset)) }
    }

    /// The offset of the file's end (lseek SEEK_END): a block device's
    /// size, which its status gives as 0. Fails as a `read`.
    public func endOffset() throws(SystemError) -> UInt64 {
        let end = lseek(raw, 0, SEEK_END)
        if end < 0 { throw SystemError(.read, errno: .current) }
        return UInt64(end)
    }

    /// Clears O_NONBLOCK (set to open a FIFO without waiting), so reads
    /// wait for data. A failure leaves it set: reads then fail with EAGAIN.
    public func clearNonBlocking() {
        _ = fcntl(raw, F_SETFL, fcntl(raw, F_GETFL) & ~O_NONBLOCK)
    }
}
