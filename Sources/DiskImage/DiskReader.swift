#if canImport(Glibc)
import Glibc
#endif

/// Positioned reads of a disk image (until the project's OS layer offers
/// one that this module can use).
enum DiskReader {
    /// Exactly `count` bytes at `offset` of `fd`.
    static func read(_ fd: Int32, at offset: UInt64, count: Int) throws(DiskImageError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw DiskImageError(.read(errno: errno), "read failed at byte \(offset + UInt64(done))") }
            if n == 0 { throw DiskImageError(.read(errno: 0), "the disk ends before byte \(offset + UInt64(count))") }
            done += n
        }
        return out
    }
}
