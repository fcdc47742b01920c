#if canImport(Glibc)
import Glibc
#endif
import DiskImage
import EROFS
import Hex
import PortableService
import SquashFS
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
            return SHA256.hmac(key: seed, message: Array("erofs \(e.compression) \(e.mtime)".utf8))
        }

        /// The settings as the summary line shows them.
        func settings(_ options: ImageOptions) -> [String] {
            switch self {
            case .squashfs: return [options.compressor.description, "block size \(options.blockSize)"]
            case .erofs(let e): return ["erofs \(e.compression)", "block size 4096"]
            }
        }
    }

    /// Writes `root` as `image` in `form`. `digest` computes the verity
    /// root hash of a plain image too, without writing sidecars: the
    /// content digest the builder logs, the same as `--verity` would give.
    static func write(root: consuming Directory, image: String, options: ImageOptions,
                      fileSystem: FileSystem = .squashfs, form: Form, digest: Bool = false) throws -> Written {
        switch form {
        case .plain where digest:
            let tap = VerityTap(parameters: VerityParameters(seed: fileSystem.seed(root: root, options: options)))
            let stats = try writeFileSystem(root: consume root, image: image, options: options, fileSystem: fileSystem, tap: tap)
            return Written(stats: stats, fileSize: stats.imageSize, rootHash: tap.hashes?.rootHash)

        case .plain:
            let stats = try writeFileSystem(root: consume root, image: image, options: options, fileSystem: fileSystem, tap: nil)
            return Written(stats: stats, fileSize: stats.imageSize, rootHash: nil)

        case .veritySidecars:
            let files = VeritySidecarFiles(paths: try SidecarPaths(image: image))
            let tap = VerityTap(parameters: VerityParameters(seed: fileSystem.seed(root: root, options: options)))
            tap.onComplete = { h, _, _ in try files.prepare(h) }
            let stats = try write(root: consume root, image: image, options: options, fileSystem: fileSystem, tap: tap, sidecars: files)
            return Written(stats: stats, fileSize: stats.imageSize, rootHash: tap.hashes?.rootHash)

        case .ddi(let types):
            // One unnamed file: the squashfs is written straight into the
            // root partition's place, the tree and the GPTs around it once
            // it is complete; no intermediate file is ever named.
            let files = VeritySidecarFiles(paths: try SidecarPaths(image: image))
            let seed = fileSystem.seed(root: root, options: options)
            let tap = VerityTap(parameters: VerityParameters(seed: seed), imageOffset: PortableDDI.rootOffset)
            let diskGUID = GUID(bytes: v4UUID(SHA256.hmac(key: seed, message: Array("disk-uuid".utf8))))
            var diskSize: UInt64 = 0
            tap.onComplete = { h, size, fd in
                let layout = PortableDDI(types: types, rootSize: size, veritySize: UInt64(h.hashFile.count),
                                         rootHash: h.rootHash, diskGUID: diskGUID)
                diskSize = layout.diskSize
                do {
                    try DDIFile.wrap(fd, layout: layout, hashFile: h.hashFile)
                } catch let e as PendingFile.WriteError {
                    throw e.failure(path: image)
                }
                try files.prepare(h, verity: false)
            }
            let stats = try write(root: consume root, image: image, options: options, fileSystem: fileSystem, tap: tap, sidecars: files)
            return Written(stats: stats, fileSize: diskSize, rootHash: tap.hashes?.rootHash)
        }
    }

    /// The chosen writer, with the tap (if any) seeing every byte.
    private static func writeFileSystem(root: consuming Directory, image: String, options: ImageOptions,
                                        fileSystem: FileSystem, tap: VerityTap?) throws -> ImageStats {
        switch fileSystem {
        case .squashfs:
            if let tap { return try writeImage(root: consume root, to: image, options: options, observer: tap) }
            return try writeImage(root: consume root, to: image, options: options)
        case .erofs(let e):
            let s = try ErofsImage.write(root: consume root, image: image, options: e, replace: options.replace, tap: tap)
            return ImageStats(bytesUsed: s.imageSize, imageSize: s.imageSize, inodeCount: s.inodeCount)
        }
    }

    /// Writes the image through `tap`, whose `onComplete` prepares
    /// `sidecars`. They are named just before the image, so the image never
    /// appears without them (it would pass for one without verity), and
    /// removed again if the write fails. With `replace` they have already
    /// replaced an older image's sidecars by then, and are left in place:
    /// removing them would leave the older image with none (attached
    /// unverified); beside new sidecars it fails verification instead.
    private static func write(root: consuming Directory, image: String, options: ImageOptions, fileSystem: FileSystem,
                              tap: VerityTap, sidecars: VeritySidecarFiles) throws -> ImageStats {
        tap.onNaming = { try sidecars.publish(replace: options.replace) }
        do {
            return try writeFileSystem(root: consume root, image: image, options: options, fileSystem: fileSystem, tap: tap)
        } catch {
            if !options.replace { sidecars.unpublish() }
            guard (error as? SquashFSError)?.kind == .observerStopped, let failure = tap.failure else { throw error }
            if let e = failure as? VerityError { throw PackCommand.Failure(message: "\(image): \(e.message)") }
            throw failure
        }
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
