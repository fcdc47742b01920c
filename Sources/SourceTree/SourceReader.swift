#if canImport(Glibc)
import Glibc
import SystemIO
#endif
import CPosix

/// Reads one regular file's bytes in place: from disk with pread into
/// caller-provided buffers, or from memory for inline content. The file is
/// closed when the reader goes away.
public struct SourceReader: ~Copyable {
    /// The open file (nil for inline content), and its descriptor (-1).
    private let owner: FileDescriptor?
    private let fd: Int32
    private let inline: [UInt8]?
    /// Makes the path that names the file in messages. Only a message
    /// calls it: rendering a path costs more than reading a small file, and
    /// doing so for every file was most of the writer thread's work on a
    /// tree of small files (docs/performance.md).
    private let describe: () -> String
    public var displayPath: String { describe() }
    public let expectedSize: UInt64
    /// The file occupies fewer disk blocks than its size: it has holes,
    /// which `isHole` finds without reading them.
    public let hasHoles: Bool

    public init(_ file: File, displayPath: @autoclosure @escaping () -> String) throws(SourceTreeError) {
        describe = displayPath
        self.expectedSize = file.size
        switch file.source {
        case .bytes(let b):
            owner = nil
            fd = -1
            inline = b
            hasHoles = false
        case .path, .entry:
            inline = nil
            let f = try Self.open(file, displayPath: displayPath)
            guard let st = try? f.status(), (st.st_mode & S_IFMT) == S_IFREG else {
                throw SourceTreeError("\(displayPath()): is no longer a regular file (it was replaced after the scan); do not modify the source while the image is written", kind: .sourceChanged)
            }
            if let scanned = file.identity, scanned != FileIdentity(st) {
                throw SourceTreeError("\(displayPath()): is not the file the scan saw: it, or a directory above it, was replaced after the scan; do not modify the source while the image is written", kind: .sourceChanged)
            }
            fd = f.raw
            owner = consume f
            hasHoles = Int64(st.st_blocks) * 512 < Int64(st.st_size)
        }
    }

    /// Opens a file on disk for reading. Below a scanned directory: beneath
    /// that root (itself checked to be the directory scanned), with no link
    /// followed on any component, and relative to its directory's held
    /// descriptor when its path is longer than PATH_MAX (see
    /// `SourceDirectories.open`). Otherwise by its path, piecewise when that
    /// is longer than PATH_MAX, with no link followed on the last component.
    /// O_NONBLOCK: a file replaced by a FIFO since the scan must not make
    /// open wait for a writer (for regular files it changes nothing).
    private static func open(_ file: File, displayPath: () -> String) throws(SourceTreeError) -> FileDescriptor {
        let flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK
        do {
            if case .entry(let directory, let name) = file.source, let root = directory.root {
                return try directory.table.open(.stored(name), in: directory.index, flags: flags, root: try root.descriptor())
            }
            return try Posix.openDeep(file.source.diskPath!, flags)
        } catch {
            throw openFailure(error.errno.code, displayPath: displayPath)
        }
    }

    private static func openFailure(_ e: Int32, displayPath: () -> String) -> SourceTreeError {
        switch e {
        case EACCES:
            return SourceTreeError("\(displayPath()): permission denied reading this file; make it readable (e.g. chmod a+r) for the user that runs the write, or run as a user who can read it")
        case ENOENT:
            return SourceTreeError("\(displayPath()): the file disappeared after the scan; do not modify the source while the image is written", kind: .sourceChanged)
        case ELOOP, ENOTDIR, EXDEV, ESTALE:
            return SourceTreeError("\(displayPath()): the file, or a directory above it, was replaced (by a symlink or another file) after the scan; do not modify the source while the image is written", kind: .sourceChanged)
        default:
            return SourceTreeError("\(displayPath()): cannot open for reading (\(Errno(e)))")
        }
    }

    /// True when `[offset, offset + count)` lies entirely in a hole, so it
    /// reads as zeros. Asks the file system (SEEK_DATA) instead of reading.
    public func isHole(at offset: UInt64, count: Int) -> Bool {
        guard hasHoles, fd >= 0 else { return false }
        do {
            guard let next = try FileDescriptor.nextData(fd, from: offset) else { return true }  // no data at or after offset
            return next >= offset + UInt64(count)
        } catch {
            return false  // read it instead
        }
    }

    /// Fills exactly `count` bytes at `offset`, or throws if the file has
    /// become shorter than its scanned size.
    public func read(into buf: UnsafeMutableRawPointer, count: Int, at offset: UInt64) throws(SourceTreeError) {
        if let inline {
            inline.withUnsafeBytes { src in
                buf.copyMemory(from: src.baseAddress! + Int(offset), byteCount: count)
            }
            return
        }
        let n = try readUpTo(buf, count, at: offset)
        if n < count { throw shrank(endingAt: offset + UInt64(n)) }
    }

    /// Reads the file's last `count` bytes (`offset + count` is the scanned
    /// size) into `buf`, which must have room for one byte more, and checks
    /// the end of the file in the same system call: the read asks for that
    /// extra byte, and must find end of file instead. So a file read this
    /// way needs no `checkEnd`, which would cost two more system calls
    /// (a tree of small files has one read per file: docs/performance.md).
    public func readLast(into buf: UnsafeMutableRawPointer, count: Int, at offset: UInt64) throws(SourceTreeError) {
        precondition(offset + UInt64(count) == expectedSize, "readLast must end at the scanned size")
        if inline != nil { return try read(into: buf, count: count, at: offset) }
        // A regular file reads short only at its end: one pread that
        // returns `count` bytes of the `count + 1` asked for has read the
        // rest of the file and found its end. Otherwise read on as `read`
        // does, then look past the end as `checkEnd` does.
        let first: Int
        do {
            first = try FileDescriptor.readOnce(fd, into: buf, count: count + 1, at: offset)
        } catch {
            throw SourceTreeError("\(displayPath): read failed at byte \(offset) (\(error.errno))")
        }
        if first > count { throw overrun() }
        if first == count { return }
        try read(into: buf + first, count: count - first, at: offset + UInt64(first))
        try checkEnd()
    }

    /// Throws if the file reads past its scanned size: for a file whose
    /// last bytes were read with `read`, not `readLast` (a file of whole
    /// blocks, an empty one, or a twin found by its hash).
    public func checkEnd() throws(SourceTreeError) {
        if inline != nil { return }
        // A file can hold more than its stated size (procfs, sysfs): one
        // byte past the end must read as end of file.
        var byte: UInt8 = 0
        if try readUpTo(&byte, 1, at: expectedSize) > 0 { throw overrun() }
    }

    private func readUpTo(_ buf: UnsafeMutableRawPointer, _ count: Int, at offset: UInt64) throws(SourceTreeError) -> Int {
        do {
            return try Posix.preadFully(fd, buf, count, offset)
        } catch {
            throw SourceTreeError("\(displayPath): read failed at byte \(offset) (\(error.errno))")
        }
    }

    private func shrank(endingAt end: UInt64) -> SourceTreeError {
        SourceTreeError("\(displayPath): file shrank while being read (expected \(expectedSize) bytes, found end of file at \(end)); do not modify the source while the image is written", kind: .sourceChanged)
    }

    /// Data past the scanned size: the file grew (its size says so), or it
    /// is one whose size does not count its bytes.
    private func overrun() -> SourceTreeError {
        if let st = try? FileDescriptor.status(fd), UInt64(st.st_size) != expectedSize {
            return SourceTreeError("\(displayPath): file changed size while being read (expected \(expectedSize) bytes, now \(st.st_size)); do not modify the source while the image is written", kind: .sourceChanged)
        }
        return SourceTreeError("\(displayPath): has more data than its size of \(expectedSize) bytes (a /proc or /sys file, or one still being written); copy it into a regular file first")
    }
}
