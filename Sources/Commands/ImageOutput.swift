#if canImport(Glibc)
import Glibc
#endif
import DiskImage
import SquashFS
import Verity

/// The last pipeline stage, shared by `pack` and the Nix builder: the file
/// tree → the image in one of its forms, all files appearing together:
/// - plain: `NAME.raw` (squashfs);
/// - verity sidecars: `NAME.raw`, `NAME.verity`, `NAME.roothash`;
/// - DDI: `NAME.raw` (GPT: root + root-verity), `NAME.roothash`.
enum ImageOutput {
    enum Form: Equatable {
        case plain
        case veritySidecars
        case ddi(PartitionTypes)
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

    static func write(root: consuming Directory, image: String, options: ImageOptions, form: Form) throws -> ImageStats {
        switch form {
        case .plain:
            return try writeImage(root: consume root, to: image, options: options)

        case .veritySidecars:
            let files = VeritySidecarFiles(paths: try SidecarPaths(image: image))
            let tap = VerityTap(parameters: VerityParameters(seed: VeritySeed.seed(root: root, options: options)))
            tap.onComplete = { h, _, _ in try files.prepare(h) }
            return try write(root: consume root, image: image, options: options, tap: tap, sidecars: files)

        case .ddi(let types):
            // One unnamed file: the squashfs is written straight into the
            // root partition's place, the tree and the GPTs around it once
            // it is complete; no intermediate file is ever named.
            let files = VeritySidecarFiles(paths: try SidecarPaths(image: image))
            let seed = VeritySeed.seed(root: root, options: options)
            let tap = VerityTap(parameters: VerityParameters(seed: seed), imageOffset: PortableDDI.rootOffset)
            let diskGUID = GUID(bytes: v4UUID(SHA256.hmac(key: seed, message: Array("disk-uuid".utf8))))
            tap.onComplete = { h, size, fd in
                let layout = PortableDDI(types: types, rootSize: size, veritySize: UInt64(h.hashFile.count),
                                         rootHash: h.rootHash, diskGUID: diskGUID)
                do {
                    try DDIFile.wrap(fd, layout: layout, hashFile: h.hashFile)
                } catch let e as PendingFile.WriteError {
                    throw e.failure(path: image)
                }
                try files.prepare(h, verity: false)
            }
            return try write(root: consume root, image: image, options: options, tap: tap, sidecars: files)
        }
    }

    /// Writes the image through `tap`, whose `onComplete` prepares
    /// `sidecars`. They are named just before the image, so the image never
    /// appears without them (it would pass for one without verity), and
    /// removed again if the write fails. With `replace` they have already
    /// replaced an older image's sidecars by then, and are left in place:
    /// removing them would leave the older image with none (attached
    /// unverified); beside new sidecars it fails verification instead.
    private static func write(root: consuming Directory, image: String, options: ImageOptions,
                              tap: VerityTap, sidecars: VeritySidecarFiles) throws -> ImageStats {
        tap.onNaming = { try sidecars.publish(replace: options.replace) }
        do {
            return try writeImage(root: consume root, to: image, options: options, observer: tap)
        } catch {
            if !options.replace { sidecars.unpublish() }
            throw error
        }
    }
}
