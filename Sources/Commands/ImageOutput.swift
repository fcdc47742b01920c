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
            tap.onComplete = { try files.prepare($0) }
            let stats = try writeImage(root: consume root, to: image, options: options, observer: tap)
            do {
                try files.publish(replace: options.replace)
            } catch {
                // The image alone would pass for one without verity. Only
                // what this run wrote goes: a sidecar that appeared
                // meanwhile is someone else's.
                for p in [image] + files.published { unlink(p) }
                throw error
            }
            return stats

        case .ddi(let types):
            let files = VeritySidecarFiles(paths: try SidecarPaths(image: image))
            let seed = VeritySeed.seed(root: root, options: options)
            let tap = VerityTap(parameters: VerityParameters(seed: seed))
            let slash = image.lastIndex(of: "/")
            let dir = slash.map { String(image[...$0]) } ?? ""
            let base = slash.map { String(image[image.index(after: $0)...]) } ?? image
            let filesystem = dir + "." + String(decoding: base.utf8.prefix(200), as: UTF8.self) + ".squashfs-\(getpid())"
            defer { unlink(filesystem) }
            let stats = try writeImage(root: consume root, to: filesystem, options: options, observer: tap)
            guard let h = tap.hashes else { fatalError("verity: the tree is computed before the image is complete") }
            let layout = PortableDDI(types: types, rootSize: stats.imageSize, veritySize: UInt64(h.hashFile.count),
                                     rootHash: h.rootHash,
                                     diskGUID: GUID(bytes: v4UUID(SHA256.hmac(key: seed, message: Array("disk-uuid".utf8)))))
            let disk: PendingFile
            do {
                disk = try PendingFile(path: image) { fd throws(PendingFile.WriteError) in
                    try DDIFile.assemble(into: fd, layout: layout, filesystem: filesystem, hashFile: h.hashFile)
                }
            }
            try files.prepare(h, verity: false)
            try disk.publish(replace: options.replace)
            do {
                try files.publish(replace: options.replace)
            } catch {
                for p in [image] + files.published { unlink(p) }
                throw error
            }
            return stats
        }
    }
}
