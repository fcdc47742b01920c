#if canImport(Glibc)
import Glibc
#endif
import SystemIO

/// The image being written: an open file the caller owns, filled in order
/// from byte 0 (the superblock's block is written last, in place).
final class ImageFile {
    private let fd: Int32
    /// Where the image starts in the file (a disk image's partition).
    private let base: UInt64
    private(set) var position: UInt64 = 0

    init(fd: Int32, base: UInt64 = 0) {
        self.fd = fd
        self.base = base
    }

    var block: UInt32 { UInt32(position >> UInt64(Geometry.blockBits)) }

    func append(_ bytes: UnsafeRawBufferPointer) throws(EROFSError) {
        try write(bytes, at: position)
        position += UInt64(bytes.count)
    }

    func append(_ bytes: [UInt8]) throws(EROFSError) {
        let done = bytes.withUnsafeBytes { p in Result { () throws(EROFSError) in try append(p) } }
        try done.get()
    }

    func write(_ bytes: [UInt8], at offset: UInt64) throws(EROFSError) {
        let done = bytes.withUnsafeBytes { p in Result { () throws(EROFSError) in try write(p, at: offset) } }
        try done.get()
    }

    /// Forgets what was written from `offset` on (it is overwritten next).
    func rewind(to offset: UInt64) { position = offset }

    /// Cuts the file at the current position (a rewind may have left
    /// bytes past it).
    func finish() throws(EROFSError) {
        do { try FileDescriptor.truncate(fd, to: base + position) } catch {
            throw EROFSError("cannot set the image's size (\(error.errno))", kind: .io(error.errno.code))
        }
    }

    /// Zeros up to the next block boundary.
    func padToBlock() throws(EROFSError) {
        let rest = Int((UInt64(Geometry.blockSize) - position % UInt64(Geometry.blockSize)) % UInt64(Geometry.blockSize))
        if rest > 0 { try append([UInt8](repeating: 0, count: rest)) }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(EROFSError) {
        guard let start = bytes.baseAddress else { return }
        do {
            try Posix.pwriteFully(fd, start, bytes.count, base + offset)
        } catch {
            throw EROFSError("writing the image failed at byte \(offset + UInt64(error.written)) (\(error.errno))", kind: .io(error.errno.code))
        }
    }
}
