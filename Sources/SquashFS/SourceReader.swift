#if canImport(Glibc)
import Glibc
import SystemIO
#endif
import CPosix

/// Reads one regular file's bytes in place: from disk with pread into
/// caller-provided buffers, or from memory for inline content.
struct SourceReader {
    private let fd: Int32
    private let inline: [UInt8]?
    let displayPath: String
    let expectedSize: UInt64
    /// The file occupies fewer disk blocks than its size: it has holes,
    /// which `isHole` finds without reading them.
    let hasHoles: Bool

    init(_ file: File, displayPath: String) throws(SquashFSError) {
        self.displayPath = displayPath
        self.expectedSize = file.size
        switch file.source {
        case .bytes(let b):
            fd = -1
            inline = b
            hasHoles = false
        case .path, .entry:
            let p = file.source.diskPath!
            inline = nil
            // O_NONBLOCK: if the file was replaced by a FIFO since the scan,
            // open must not wait for a writer (for regular files it changes
            // nothing). O_NOFOLLOW: nor may it have become a symlink.
            // Piecewise if the path is longer than PATH_MAX (a deep tree).
            let opened = Result { () throws(Errno) in try Posix.openDeep(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) }
            let f = (try? opened.get()) ?? -1
            if f < 0 {
                let e: Int32
                if case .failure(let error) = opened { e = error.code } else { e = EBADF }
                if e == EACCES {
                    throw SquashFSError("\(displayPath): permission denied reading this file; make it readable by the user running mkportable (e.g. chmod a+r) or run as a user who can read it")
                }
                if e == ENOENT {
                    throw SquashFSError("\(displayPath): the file disappeared after the scan; do not modify the source while the image is written", kind: .sourceChanged)
                }
                if e == ELOOP {
                    throw SquashFSError("\(displayPath): the file was replaced by a symlink after the scan; do not modify the source while the image is written", kind: .sourceChanged)
                }
                throw SquashFSError("\(displayPath): cannot open for reading (\(Posix.errorString(e)))")
            }
            var st = stat()
            if fstat(f, &st) != 0 || (st.st_mode & S_IFMT) != S_IFREG {
                _ = Glibc.close(f)
                throw SquashFSError("\(displayPath): is no longer a regular file (it was replaced after the scan); do not modify the source while the image is written", kind: .sourceChanged)
            }
            fd = f
            hasHoles = Int64(st.st_blocks) * 512 < Int64(st.st_size)
        }
    }

    /// True when `[offset, offset + count)` lies entirely in a hole, so it
    /// reads as zeros. Asks the file system (SEEK_DATA) instead of reading.
    func isHole(at offset: UInt64, count: Int) -> Bool {
        guard hasHoles, fd >= 0 else { return false }
        let next = lseek(fd, off_t(offset), cposix_SEEK_DATA)
        if next < 0 { return errno == ENXIO }  // no data at or after offset
        return UInt64(next) >= offset + UInt64(count)
    }

    func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    /// Fills exactly `count` bytes at `offset`, or throws if the file has
    /// become shorter than its scanned size.
    func read(into buf: UnsafeMutableRawPointer, count: Int, at offset: UInt64) throws(SquashFSError) {
        if let inline {
            inline.withUnsafeBytes { src in
                buf.copyMemory(from: src.baseAddress! + Int(offset), byteCount: count)
            }
            return
        }
        let n: Int
        do {
            n = try Posix.preadFully(fd, buf, count, offset)
        } catch {
            throw SquashFSError("\(displayPath): read failed at byte \(offset) (\(error))")
        }
        if n < count {
            throw SquashFSError("\(displayPath): file shrank while being read (expected \(expectedSize) bytes, found end of file at \(offset + UInt64(n))); do not modify the source while the image is written", kind: .sourceChanged)
        }
    }

    /// Throws if the file's size is no longer the scanned size.
    func checkEnd() throws(SquashFSError) {
        if inline != nil { return }
        var st = stat()
        if fstat(fd, &st) == 0 && UInt64(st.st_size) != expectedSize {
            throw SquashFSError("\(displayPath): file changed size while being read (expected \(expectedSize) bytes, now \(st.st_size)); do not modify the source while the image is written", kind: .sourceChanged)
        }
        // A file can hold more than its stated size (procfs, sysfs): one
        // byte past the end must read as end of file.
        var byte: UInt8 = 0
        if pread(fd, &byte, 1, off_t(expectedSize)) > 0 {
            throw SquashFSError("\(displayPath): has more data than its size of \(expectedSize) bytes (a /proc or /sys file, or one still being written); copy it into a regular file first")
        }
    }
}
