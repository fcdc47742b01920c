#if canImport(Glibc)
import Glibc
#endif
import DiskImage
import Hex
import SystemIO
import Verity

/// Writing portable DDIs as files, and finding one in a file.
enum DDIFile {
    /// The partition types for `uname -m`.
    static func hostTypes() -> PartitionTypes? {
        PartitionTypes.forSystem(machineName())
    }

    /// Completes the disk in `fd`, whose root partition (at LBA 40, as repart puts it) already
    /// holds the file system: the hash tree after it, the protective MBR and
    /// primary GPT before it, the backup GPT at the end.
    static func wrap(_ fd: Int32, layout: PortableDDI, hashFile: [UInt8]) throws(WriteFailure) {
        let (head, tail) = layout.gpt().encode()
        if ftruncate(fd, off_t(layout.diskSize)) != 0 { throw WriteFailure(errno: Errno(errno), written: 0) }
        try FileDescriptor.writeAll(fd, head, at: 0)
        try FileDescriptor.writeAll(fd, hashFile, at: layout.verityOffset)
        try FileDescriptor.writeAll(fd, tail, at: layout.gpt().tailOffset)
    }

    typealias CopyFileRange = @convention(c) (Int32, UnsafeMutablePointer<off_t>?, Int32, UnsafeMutablePointer<off_t>?, Int, UInt32) -> Int
    /// glibc's copy_file_range(2), which Swift's Glibc module does not
    /// export (it needs _GNU_SOURCE); nil before glibc 2.27.
    static let copyFileRange: CopyFileRange? = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "copy_file_range") else { return nil }
        return unsafeBitCast(sym, to: CopyFileRange.self)
    }()

    /// Copies `count` bytes from the start of `src` to `fd` at `at`,
    /// in-kernel where possible.
    static func copy(_ src: Int32, to fd: Int32, at: off_t = 0, count: Int) throws(WriteFailure) {
        var inOff = off_t(0)
        var outOff = at
        var left = count
        while left > 0 {
            guard let copyRange = copyFileRange else {
                try copyByReading(src, from: inOff, to: fd, at: outOff, count: left)
                return
            }
            let n = copyRange(src, &inOff, fd, &outOff, left, 0)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL {
                    try copyByReading(src, from: inOff, to: fd, at: outOff, count: left)
                    return
                }
                throw WriteFailure(errno: Errno(errno), written: 0)
            }
            if n == 0 { throw WriteFailure(errno: Errno(EIO), written: 0) }
            left -= n
        }
    }

    static func copyByReading(_ src: Int32, from: off_t, to fd: Int32, at: off_t, count: Int) throws(WriteFailure) {
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var done = 0
        while done < count {
            let n = buf.withUnsafeMutableBytes { pread(src, $0.baseAddress!, min($0.count, count - done), from + off_t(done)) }
            if n < 0 { if errno == EINTR { continue }; throw WriteFailure(errno: Errno(errno), written: 0) }
            if n == 0 { throw WriteFailure(errno: Errno(EIO), written: 0) }
            try FileDescriptor.writeAll(fd, Array(buf[0..<n]), at: UInt64(at) + UInt64(done))
            done += n
        }
    }

    /// nil if `file` has no GPT; throws if it has one that is not a
    /// portable DDI as pack writes it.
    static func read(_ file: borrowing OpenFile) throws(CheckFailure) -> DDIPartitions? {
        do {
            return try DDIPartitions.read(fd: file.fd.raw, size: file.size)
        } catch {
            throw CheckFailure.disk(error, path: file.path)
        }
    }
}
