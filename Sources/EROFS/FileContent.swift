#if canImport(Glibc)
import Glibc
#endif
import SquashFS

/// Reads one regular file of the tree in order, from disk or memory, and
/// fails if it is not the size the scan saw.
final class FileContent {
    private let fd: Int32
    private let inline: [UInt8]?
    let size: UInt64
    let name: String

    init(_ file: File, name: String) throws(EROFSError) {
        self.size = file.size
        self.name = name
        if case .bytes(let b) = file.source {
            inline = b
            fd = -1
            return
        }
        inline = nil
        let path = file.source.diskPath ?? []
        fd = path.withUnsafeBufferPointer { p in
            var z = Array(p)
            z.append(0)
            return z.withUnsafeBufferPointer { open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self),
                                                    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) }
        }
        if fd < 0 {
            let e = errno
            throw EROFSError("\(name): cannot open for reading (\(String(cString: strerror(e))))",
                             kind: e == ENOENT || e == ELOOP ? .sourceChanged : .io(e))
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Fills `buffer` from `offset`; the range must lie within `size`.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: UInt64) throws(EROFSError) {
        if let inline {
            inline.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[Int(offset)..<Int(offset) + buffer.count])) }
            return
        }
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                let e = errno
                throw EROFSError("\(name): read failed at byte \(offset + UInt64(done)) (\(String(cString: strerror(e))))", kind: .io(e))
            }
            if n == 0 {
                throw EROFSError("\(name): file shrank while being read (expected \(size) bytes); do not modify the source while the image is written",
                                 kind: .sourceChanged)
            }
            done += n
        }
    }

    /// Fails if the file holds more than its scanned size.
    func checkEnd() throws(EROFSError) {
        guard inline == nil else { return }
        var byte: UInt8 = 0
        if pread(fd, &byte, 1, off_t(size)) > 0 {
            throw EROFSError("\(name): has more data than its size of \(size) bytes; do not modify the source while the image is written",
                             kind: .sourceChanged)
        }
    }
}
