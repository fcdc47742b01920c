#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemIO

/// An open image file, closed when the last range of it goes away. Reads
/// are `pread`s, so any number of threads may read it at once.
public final class ImageFile: @unchecked Sendable {
    private let file: FileDescriptor
    public var descriptor: Int32 { file.raw }
    /// The file's size when it was opened.
    public let size: UInt64

    /// Opens `path` for reading; it must be a regular file or a block
    /// device. Opened with O_NONBLOCK (cleared once the type is known), so
    /// a FIFO is refused rather than waited on for a writer.
    public init(path: String) throws(ImageReadError) {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        } catch {
            throw ImageReadError("cannot open: \(error.errno)", kind: .io(error.errno.code))
        }
        let st: stat
        do { st = try fd.status() } catch {
            throw ImageReadError("cannot stat: \(error.errno)", kind: .io(error.errno.code))
        }
        let type = st.st_mode & S_IFMT
        guard type == S_IFREG || type == S_IFBLK else {
            throw ImageReadError("not a regular file", kind: .io(EINVAL))
        }
        fd.clearNonBlocking()
        var size = UInt64(max(st.st_size, 0))
        if type == S_IFBLK {
            size = (try? fd.endOffset()) ?? 0
        }
        file = consume fd
        self.size = size
    }

    /// The whole file as a range.
    public var whole: ImageRange { ImageRange(file: self, offset: 0, length: size) }
}

/// A byte range of an image file: a whole file, or one partition of a disk
/// image. A format reader sees offsets relative to the range's start, and
/// every read is checked against the range's length before it is made, so
/// no offset or size read from an image can reach outside it.
public struct ImageRange: Sendable {
    public let file: ImageFile
    public let offset: UInt64
    public let length: UInt64

    /// `offset..<offset+length` must lie inside `file`.
    public init(file: ImageFile, offset: UInt64, length: UInt64) {
        precondition(offset <= file.size && length <= file.size - offset, "range outside its file")
        self.file = file
        self.offset = offset
        self.length = length
    }

    /// Whether `count` bytes at `at` lie inside the range.
    public func contains(_ at: UInt64, count: UInt64) -> Bool {
        at <= length && count <= length - at
    }

    /// Reads exactly `buffer.count` bytes at `at` (relative to the range).
    public func read(into buffer: UnsafeMutableRawBufferPointer, at: UInt64) throws(ImageReadError) {
        guard contains(at, count: UInt64(buffer.count)) else {
            throw ImageReadError("bytes \(at)..<\(at + UInt64(buffer.count)) lie past the end (\(length) bytes)", kind: .outOfRange)
        }
        let done: Int
        do {
            done = try Posix.preadFully(file.descriptor, buffer.baseAddress!, buffer.count, offset + at)
        } catch {
            throw ImageReadError("read failed: \(error.errno)", kind: .io(error.errno.code))
        }
        guard done == buffer.count else {
            throw ImageReadError("the file ends at byte \(offset + at + UInt64(done)), shorter than when it was opened", kind: .io(EIO))
        }
    }

    /// `count` bytes at `at`; the count is checked against the range before
    /// anything is allocated.
    public func read(_ count: Int, at: UInt64) throws(ImageReadError) -> [UInt8] {
        guard count >= 0, contains(at, count: UInt64(count)) else {
            throw ImageReadError("bytes \(at)..<\(at + UInt64(max(count, 0))) lie past the end (\(length) bytes)", kind: .outOfRange)
        }
        var out = [UInt8](repeating: 0, count: count)
        var failure: ImageReadError?
        out.withUnsafeMutableBytes { b in
            do throws(ImageReadError) { try read(into: b, at: at) } catch { failure = error }
        }
        if let failure { throw failure }
        return out
    }

    /// A sub-range, relative to this one.
    public func slice(_ at: UInt64, length count: UInt64) -> ImageRange? {
        guard contains(at, count: count) else { return nil }
        return ImageRange(file: file, offset: offset + at, length: count)
    }
}
