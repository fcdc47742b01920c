#if canImport(Glibc)
import Glibc
#endif
import EROFS
import SquashFS
import SystemIO

/// The erofs writer behind `ImageOutput`: the tree is written into the
/// file it is given (one of an `OutputSet`), then shown to the verity tap
/// byte for byte, as the squashfs writer shows it while it writes.
enum ErofsImage {
    static func write(root: consuming Directory, into fd: Int32, image: String, options: EROFSOptions,
                      tap: VerityTap?) throws -> EROFSStats {
        let s = try writeEROFSImage(root: root, to: fd, offset: tap?.imageOffset ?? 0, options: options)
        if let tap { try replay(fd, size: s.imageSize, offset: tap.imageOffset, into: tap, image: image) }
        return s
    }

    /// Reads the finished image back in order for the tap.
    private static func replay(_ fd: Int32, size: UInt64, offset: UInt64, into tap: VerityTap, image: String) throws {
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
        defer { buffer.deallocate() }
        var at: UInt64 = 0
        while at < size {
            let n = Int(min(UInt64(chunk), size - at))
            let got: Int
            do { got = try Posix.preadFully(fd, buffer.baseAddress!, n, offset + at) } catch {
                throw CommandFailure(message: "\(image): cannot read the image back (\(error.errno))")
            }
            guard got == n else { throw CommandFailure(message: "\(image): cannot read the image back (it is shorter than written)") }
            tap.wrote(UnsafeRawBufferPointer(rebasing: buffer[0..<got]), at: at)
            at += UInt64(got)
        }
    }
}
