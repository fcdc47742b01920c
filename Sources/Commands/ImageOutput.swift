#if canImport(Glibc)
import Glibc
#endif
import DiskImage
import EROFS
import Hex
import PortableService
import SquashFS
import SystemIO
import Verity

/// The last pipeline stage, shared by `pack` and the Nix builder: the file
/// tree → the image in one of its forms, all files appearing together:
/// - plain: `NAME.raw` (squashfs);
/// - verity sidecars: `NAME.raw`, `NAME.verity`, `NAME.roothash`;
/// - DDI: `NAME.raw` (GPT: root + root-verity), `NAME.roothash`.
enum ImageOutput {
    typealias Form = OutputForm

    /// What was written: the squashfs's figures, the size of the file named
    /// IMAGE (for a DDI the whole disk, not the squashfs inside it) and the
    /// verity root hash, when one was computed.
    struct Written {
        var stats: ImageStats
        var fileSize: UInt64
        var rootHash: [UInt8]?
    }

    /// The files a form writes for `image` (to refuse existing ones).
    static func paths(image: String, form: Form) throws -> [String] {
        switch form {
        case .plain: return [image]
        case .veritySidecars:
            let s = try SidecarPaths(image: image)
            return [image, s.verity, s.roothash]
        case .ddi:
            let s = try SidecarPaths(image: image)
            return [image, s.roothash]
        }
    }

    /// The file system the image holds: the one choice between writers.
    /// Everything after it (verity, the DDI, publishing) is the same.
    enum FileSystem {
        case squashfs
        case erofs(EROFSOptions)

        /// The verity seed: squashfs's as it always was; erofs's from it
        /// and the erofs settings, so the two never share a salt.
        func seed(root: Directory, options: ImageOptions) -> [UInt8] {
            let seed = VeritySeed.seed(root: root, options: options)
            guard case .erofs(let e) = self else { return seed }
            return SHA256.hmac(key: seed, message: Array("erofs \(e.compression) \(e.mtime) \(e.pclusterSize)".utf8))
        }

        /// The settings as the summary line shows them.
        func settings(_ options: ImageOptions) -> [String] {
            switch self {
            case .squashfs: return [options.compressor.description, "block size \(options.blockSize)"]
            case .erofs(let e): return ["erofs \(e.compression)", "block size 4096", "pcluster \(e.pclusterSize)"]
            }
        }
    }

    /// Writes `root` as `image` in `form`, the image and its sidecars as
    /// one `OutputSet`: each file unnamed (or under a temporary name) until
    /// all are complete, then named together through one descriptor of the
    /// image's directory, the image last, so it never appears without its
    /// sidecars (it would pass for one without verity), as `publishing`
    /// allows. `digest` computes
    /// the verity root hash of a plain image too, without writing sidecars:
    /// the content digest the builder logs, the same as `--verity` would give.
    static func write(root: consuming Directory, image: String, options: ImageOptions, publishing: Publishing,
                      fileSystem: FileSystem = .squashfs, form: Form, digest: Bool = false) throws -> Written {
        let (directory, name) = try destination(image)
        let set: OutputSet
        let file: Int32
        do {
            set = try publishing.outputSet(in: directory)
            file = try set.create(name)
        } catch {
            throw CommandFailure(message: "\(image): cannot create the image (\(error.errno)); make sure \(directory) exists and is writable")
        }
        let written: Written
        switch form {
        case .plain where digest:
            let tap = VerityTap(parameters: VerityParameters(seed: fileSystem.seed(root: root, options: options)))
            let stats = try writeFileSystem(root: consume root, into: file, image: image, options: options, fileSystem: fileSystem, tap: tap)
            written = Written(stats: stats, fileSize: stats.imageSize, rootHash: try hashes(tap, image).rootHash)

        case .plain:
            let stats = try writeFileSystem(root: consume root, into: file, image: image, options: options, fileSystem: fileSystem, tap: nil)
            written = Written(stats: stats, fileSize: stats.imageSize, rootHash: nil)

        case .veritySidecars:
            let sidecars = try SidecarPaths(image: name)
            let tap = VerityTap(parameters: VerityParameters(seed: fileSystem.seed(root: root, options: options)))
            let stats = try writeFileSystem(root: consume root, into: file, image: image, options: options, fileSystem: fileSystem, tap: tap)
            let h = try hashes(tap, image)
            try add(set, sidecars.verity, h.hashFile)
            try add(set, sidecars.roothash, RootHashFile.encode(h.rootHash))
            written = Written(stats: stats, fileSize: stats.imageSize, rootHash: h.rootHash)

        case .ddi(let types):
            // One file: the file system is written straight into the root
            // partition's place, the tree and the GPTs around it once it
            // is complete.
            let sidecars = try SidecarPaths(image: name)
            let seed = fileSystem.seed(root: root, options: options)
            let tap = VerityTap(parameters: VerityParameters(seed: seed), imageOffset: PortableDDI.rootOffset)
            let stats = try writeFileSystem(root: consume root, into: file, image: image, options: options, fileSystem: fileSystem, tap: tap)
            let h = try hashes(tap, image)
            let layout = PortableDDI(types: types, rootSize: stats.imageSize, veritySize: UInt64(h.hashFile.count), rootHash: h.rootHash,
                                     diskGUID: GUID(bytes: v4UUID(SHA256.hmac(key: seed, message: Array("disk-uuid".utf8)))))
            do { try DDIFile.wrap(file, layout: layout, hashFile: h.hashFile) } catch {
                throw CommandFailure(message: "\(image): write failed (\(writeProblem(error.errno)))")
            }
            try add(set, sidecars.roothash, RootHashFile.encode(h.rootHash))
            written = Written(stats: stats, fileSize: layout.diskSize, rootHash: h.rootHash)
        }
        try set.publish()
        return written
    }

    /// The chosen writer into `file`, with the tap (if any) seeing every byte.
    private static func writeFileSystem(root: consuming Directory, into file: Int32, image: String, options: ImageOptions,
                                        fileSystem: FileSystem, tap: VerityTap?) throws -> ImageStats {
        switch fileSystem {
        case .squashfs:
            return try writeImage(root: consume root, to: file, path: image, options: options, observer: tap)
        case .erofs(let e):
            let s = try ErofsImage.write(root: consume root, into: file, image: image, options: e, tap: tap)
            return ImageStats(bytesUsed: s.imageSize, imageSize: s.imageSize, inodeCount: s.inodeCount)
        }
    }

    /// The finished tree, its failure worded for `image`.
    private static func hashes(_ tap: VerityTap, _ image: String) throws -> VerityHashes {
        do { return try tap.finish() } catch let e as VerityError {
            throw CommandFailure(message: "\(image): \(e.message)")
        }
    }

    /// A file of `bytes` in the set, as `name`.
    private static func add(_ set: OutputSet, _ name: String, _ bytes: [UInt8]) throws {
        let fd = try set.create(name)
        do { try FileDescriptor.writeAll(fd, bytes, at: 0) } catch {
            throw CommandFailure(message: "\(set.path(name)): write failed (\(writeProblem(error.errno)))")
        }
    }

    /// A failed write's errno in words, with the fix for a full disk.
    static func writeProblem(_ e: Errno) -> String {
        e.code == ENOSPC || e.code == EDQUOT ? "no space left on the device; free space there or write elsewhere" : "\(e)"
    }

    /// The image's directory and file name.
    static func destination(_ image: String) throws -> (directory: String, name: String) {
        let (directory, name) = try checkImageDestination(image, replace: true)
        return (directory, name)
    }

    /// One line on what was written, the same in every command:
    /// `wrote IMAGE[ and its sidecars]: BYTES bytes, INODES inodes, EXTRA…,
    /// COMPRESSOR, block size N[, root hash HEX]`. `extra` holds a
    /// command's own counts (the builder's store paths and units).
    static func summary(image: String, form: Form, written: Written, options: ImageOptions,
                        fileSystem: FileSystem = .squashfs,
                        extra: [String] = [], rootHashLabel: String = "root hash") -> String {
        let what: String
        switch form {
        case .plain: what = ""
        case .veritySidecars: what = " with .verity and .roothash"
        case .ddi: what = " as a DDI with .roothash"
        }
        var parts = [counted(Int(written.fileSize), "byte"), counted(written.stats.inodeCount, "inode")] + extra
        parts += fileSystem.settings(options)
        if let h = written.rootHash { parts.append("\(rootHashLabel) \(hex(h))") }
        return "wrote \(image)\(what): \(parts.joined(separator: ", "))"
    }
}

/// `1 unit`, `2 units`: a count with its noun, singular for one.
func counted(_ n: Int, _ noun: String) -> String {
    "\(n) \(noun)\(n == 1 ? "" : "s")"
}
