#if canImport(Glibc)
import Glibc
#endif
import EROFS
import SquashFS

/// The erofs writer behind `ImageOutput`: the tree is written into an
/// unnamed file (`PendingFile`), then shown to the verity tap byte for
/// byte, as the squashfs writer shows it while it writes; the tap's
/// `complete` may wrap it (a DDI's GPT), its `naming` publishes the
/// sidecars, and only then does the image get its name.
enum ErofsImage {
    static func write(root: consuming Directory, image: String, options: EROFSOptions, replace: Bool,
                      tap: VerityTap?) throws -> EROFSStats {
        var failure: (any Error)?
        var stats: EROFSStats?
        let tree = root
        let file: PendingFile
        do {
            file = try PendingFile(path: image) { fd throws(PendingFile.WriteError) in
                do {
                    let s = try writeEROFSImage(root: tree, to: fd, offset: tap?.imageOffset ?? 0, options: options)
                    stats = s
                    if let tap {
                        try replay(fd, size: s.imageSize, offset: tap.imageOffset, into: tap)
                        try tap.complete(size: s.imageSize, file: fd)
                    }
                } catch let e as PendingFile.WriteError {
                    throw e
                } catch {
                    failure = error
                    throw PendingFile.WriteError(errno: EIO)
                }
            }
        } catch {
            throw failure ?? error
        }
        try tap?.naming()
        try file.publish(replace: replace)
        return stats!
    }

    /// Reads the finished image back in order for the tap, through a
    /// second descriptor of the same file (the pending one is write-only).
    private static func replay(_ written: Int32, size: UInt64, offset: UInt64, into tap: VerityTap) throws {
        let fd = open("/proc/self/fd/\(written)", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PendingFile.WriteError(errno: errno) }
        defer { close(fd) }
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
        defer { buffer.deallocate() }
        var at: UInt64 = 0
        while at < size {
            let n = Int(min(UInt64(chunk), size - at))
            let got = pread(fd, buffer.baseAddress!, n, off_t(offset + at))
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { throw PendingFile.WriteError(errno: got < 0 ? errno : EIO) }
            tap.wrote(UnsafeRawBufferPointer(rebasing: buffer[0..<got]), at: at)
            at += UInt64(got)
        }
    }
}
