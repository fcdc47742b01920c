#if canImport(Glibc)
import Glibc
import SystemIO
#endif
import CPosix
import Synchronization

#if canImport(Glibc)
import Glibc
import SystemIO
#endif

/// Where the writer puts the image: a file descriptor it is given, written
/// with pwrite through a 1 MiB buffer, `imageOffset` bytes in. The sink
/// knows nothing of names or publishing: the caller creates the file and
/// gives it its name once `finish` (flush and fsync) has returned. `path`
/// only names the file in messages.
final class ImageSink {
    let path: String
    private let fd: Int32
    private(set) var position: UInt64 = 0
    /// Where the image starts in the file (see `OutputObserver.imageOffset`).
    private let base: UInt64
    private var buffer: UnsafeMutableRawPointer
    private let bufferCapacity = 1 << 20
    private var buffered = 0
    /// Sees every byte as it is written (see `OutputObserver`).
    var observer: (any OutputObserver)?

    init(file: Int32, path: String, imageOffset: UInt64 = 0) throws(SquashFSError) {
        self.path = path
        fd = file
        base = imageOffset
        guard let b = Posix.allocateBuffer(bufferCapacity) else { throw SquashFSError.outOfMemory("the output buffer") }
        buffer = b
    }

    deinit {
        Glibc.free(buffer)
    }

    private func fail(_ f: SystemError, at start: UInt64) -> SquashFSError {
        let reached = start + UInt64(f.written)
        switch f.errno.code {
        case ENOSPC, EDQUOT:
            return SquashFSError("\(path): no space left on the device after \(reached) bytes of image; free space there or write the image elsewhere", kind: .resource(f.errno))
        case EFBIG:
            return SquashFSError("\(path): the file size limit (ulimit -f, RLIMIT_FSIZE) stopped the image after \(reached) bytes; raise the limit or make a smaller image", kind: .resource(f.errno))
        default:
            return SquashFSError("\(path): write failed after \(reached) bytes of image (\(f.errno))")
        }
    }

    func flush() throws(SquashFSError) {
        if buffered == 0 { return }
        let start = position - UInt64(buffered)
        do { try Posix.pwriteFully(fd, buffer, buffered, base + start) } catch { throw fail(error, at: start) }
        buffered = 0
    }

    func write(_ p: UnsafeRawPointer, _ n: Int) throws(SquashFSError) {
        if n == 0 { return }
        observer?.wrote(UnsafeRawBufferPointer(start: p, count: n), at: position)
        // Large writes go straight to the file; the buffer must be flushed
        // first, since `flush` places it just below `position`.
        if buffered + n > bufferCapacity || n >= bufferCapacity / 2 { try flush() }
        if n >= bufferCapacity / 2 {
            do { try Posix.pwriteFully(fd, p, n, base + position) } catch { throw fail(error, at: position) }
        } else {
            (buffer + buffered).copyMemory(from: p, byteCount: n)
            buffered += n
        }
        position += UInt64(n)
    }

    func write(_ bytes: [UInt8]) throws(SquashFSError) {
        let r: Result<Void, SquashFSError> = bytes.withUnsafeBytes { b in
            Result { () throws(SquashFSError) in
                if let base = b.baseAddress { try write(base, b.count) }
            }
        }
        try r.get()
    }

    func write(_ bytes: [UInt8], at offset: UInt64) throws(SquashFSError) {
        try flush()
        bytes.withUnsafeBytes { observer?.wrote($0, at: offset) }
        let r: Result<Void, SystemError> = bytes.withUnsafeBytes { b in
            Result { () throws(SystemError) in try Posix.pwriteFully(fd, b.baseAddress!, b.count, base + offset) }
        }
        if case .failure(let f) = r { throw fail(f, at: offset) }
    }

    /// Flushes and syncs: the image is complete in the file.
    func finish() throws(SquashFSError) {
        try flush()
        do { try FileDescriptor.sync(fd) } catch { throw fail(error, at: position) }
    }
}

/// Sees every byte of an image as the writer writes it, so that a digest of
/// the image (a hash tree, say) needs no second read of it.
public protocol OutputObserver: AnyObject {
    /// Where the image starts in the file written (default 0: the file is
    /// the image). A larger offset leaves room before the image for an
    /// envelope the caller writes once the image is complete (a disk's
    /// partition table, say), so that the whole file is one file until done.
    var imageOffset: UInt64 { get }
    /// `bytes` now stand at `offset` of the image. Calls come in the order of writing:
    /// front to back without gaps, except that bytes already written may be
    /// written again. The writer does that once, at the end, for the
    /// superblock at offset 0 (within the first 4 KiB).
    func wrote(_ bytes: UnsafeRawBufferPointer, at offset: UInt64)
}

extension OutputObserver {
    public var imageOffset: UInt64 { 0 }
}
