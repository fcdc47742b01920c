import DiskImage
import EROFS
import ImageReading
import SquashFS

/// An image file opened for `inspect` and `diff`: a plain file system
/// image, or a DDI whose root partition holds one. The format is told by
/// its magic.
struct OpenedImage {
    let path: String
    let fileSystem: any FileSystemImage
    /// The DDI around the file system, nil for a plain image.
    let ddi: DDIPartitions?

    typealias Failure = CommandFailure

    init(path: String) throws {
        self.path = path
        let file: ImageFile
        do { file = try ImageFile(path: path) } catch { throw Failure(message: "\(path): \(error.message)") }
        do {
            ddi = try DDIPartitions.read(fd: file.descriptor, size: file.size)
        } catch {
            throw Failure(message: CheckFailure.disk(error, path: path).message)
        }
        var range = file.whole
        if let ddi {
            guard let root = file.whole.slice(ddi.root.offset, length: ddi.root.size) else {
                throw Failure(message: "\(path): the root partition lies past the end of the file")
            }
            range = root
        }
        fileSystem = try Self.open(range, path: path)
    }

    private static func open(_ range: ImageRange, path: String) throws -> any FileSystemImage {
        let magic = (try? range.read(4, at: 0)) ?? []
        if magic != Array("hsqs".utf8), EROFSImage.hasMagic(range) {
            do {
                return try EROFSImage(range: range)
            } catch {
                throw Failure(message: "\(path): \(error.kind == .unsupportedImage ? "unsupported" : "damaged") erofs image: \(error.message)")
            }
        }
        guard magic == Array("hsqs".utf8) else {
            throw Failure(message: "\(path): neither a squashfs nor an erofs image (no \"hsqs\" magic at byte 0, no erofs magic at byte 1024)\(range.offset > 0 ? " of the root partition" : "")")
        }
        do {
            return try SquashFSImage(range: range)
        } catch {
            throw Failure(message: "\(path): \(error.kind == .unsupportedImage ? "unsupported" : "damaged") squashfs image: \(error.message)")
        }
    }

    /// Runs `body`, wording a reader's error with the image's path.
    func reading<R>(_ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch let e as SquashFSError {
            throw Failure(message: "\(path): \(e.kind == .badImage ? "damaged squashfs image: " : "")\(e.message)")
        } catch let e as EROFSError {
            let what = e.kind == .badImage ? "damaged erofs image: " : e.kind == .unsupportedImage ? "unsupported erofs image: " : ""
            throw Failure(message: "\(path): \(what)\(e.message)")
        }
    }
}
