#if canImport(Glibc)
import Glibc
#endif

/// The image being written: a temporary file beside the destination that is
/// renamed over it only once complete, so a failure never leaves a partial
/// image under the final name.
final class OutputFile {
    let finalPath: String
    let tempPath: String
    private var fd: Int32
    private(set) var position: UInt64 = 0
    private var buffer: UnsafeMutableRawPointer
    private let bufferCapacity = 1 << 20
    private var buffered = 0
    private var committed = false

    init(path: String) throws(SquashFSError) {
        finalPath = path
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        if base.utf8.count > 255 {
            throw SquashFSError("\(path): the file name is \(base.utf8.count) bytes long; a file name holds at most 255 bytes, so choose a shorter one")
        }
        // The temporary name must fit in a file name too: shorten the part
        // taken from the image's name if needed (on a character boundary).
        let suffix = ".tmp-\(getpid())"
        var stem = ""
        var stemBytes = 0
        for u in base.unicodeScalars {
            let n = String(u).utf8.count
            if 1 + stemBytes + n + suffix.utf8.count > 255 { break }
            stem.unicodeScalars.append(u)
            stemBytes += n
        }
        tempPath = (dir.isEmpty ? "" : dir + "/") + "." + stem + suffix
        unlink(tempPath)
        fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            let e = errno
            throw SquashFSError("\(path): cannot create the image (\(Posix.errorString(e))); make sure \(dir.isEmpty ? "/" : dir) exists and is writable")
        }
        buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferCapacity, alignment: 16)
    }

    deinit {
        buffer.deallocate()
        if fd >= 0 { close(fd) }
        if !committed { unlink(tempPath) }
    }

    private func fail(_ e: Int32) -> SquashFSError {
        if e == ENOSPC || e == EDQUOT {
            return SquashFSError("\(finalPath): no space left on the device after \(position) bytes of image; free space there or write the image elsewhere")
        }
        return SquashFSError("\(finalPath): write failed after \(position) bytes (\(Posix.errorString(e)))")
    }

    func flush() throws(SquashFSError) {
        if buffered == 0 { return }
        let start = position - UInt64(buffered)
        let e = Posix.pwriteFully(fd, buffer, buffered, start)
        if e != 0 { throw fail(e) }
        buffered = 0
    }

    func write(_ p: UnsafeRawPointer, _ n: Int) throws(SquashFSError) {
        if n == 0 { return }
        // Large writes go straight to the file; the buffer must be flushed
        // first, since `flush` places it just below `position`.
        if buffered + n > bufferCapacity || n >= bufferCapacity / 2 { try flush() }
        if n >= bufferCapacity / 2 {
            let e = Posix.pwriteFully(fd, p, n, position)
            if e != 0 { throw fail(e) }
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
        let e = bytes.withUnsafeBytes { Posix.pwriteFully(fd, $0.baseAddress!, $0.count, offset) }
        if e != 0 { throw fail(e) }
    }

    /// Flushes, syncs and renames the image into place.
    func commit() throws(SquashFSError) {
        try flush()
        if fsync(fd) != 0 { throw fail(errno) }
        if close(fd) != 0 { let e = errno; fd = -1; throw fail(e) }
        fd = -1
        if rename(tempPath, finalPath) != 0 {
            let e = errno
            throw SquashFSError("\(finalPath): cannot move the finished image into place (\(Posix.errorString(e)))")
        }
        committed = true
    }
}
