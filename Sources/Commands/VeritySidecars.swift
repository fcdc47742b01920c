#if canImport(Glibc)
import Glibc
#endif
import SquashFS
import Verity

/// `NAME.raw` → `NAME.verity`, `NAME.roothash`: the sidecars systemd looks
/// for beside a plain image (dissect-image.c, `build_auxiliary_path`, which
/// replaces a `.raw` suffix and finds nothing for other names).
struct SidecarPaths {
    let image: String
    let stem: String
    var verity: String { stem + ".verity" }
    var roothash: String { stem + ".roothash" }
    var signature: String { stem + ".roothash.p7s" }

    init(image: String) throws {
        guard let paths = Self.of(image) else { throw CommandFailure(message: Self.unnamed(image)) }
        self = paths
    }

    private init(image: String, stem: String) {
        self.image = image
        self.stem = stem
    }

    /// The sidecars of `image`, nil unless it is named NAME.raw.
    static func of(_ image: String) -> SidecarPaths? {
        // Bytes, as systemd compares them: by Swift Characters a name whose
        // stem ends in a prepending mark ("demo\u{600}.raw") does not end
        // in ".raw", since the mark and the '.' make one Character.
        let bytes = Array(image.utf8), suffix = Array(".raw".utf8)
        guard bytes.count > suffix.count, bytes.reversed().starts(with: suffix.reversed()),
              bytes[bytes.count - suffix.count - 1] != UInt8(ascii: "/") else { return nil }
        return SidecarPaths(image: image, stem: String(decoding: bytes.dropLast(suffix.count), as: UTF8.self))
    }

    /// Why `image` can have no sidecars.
    static func unnamed(_ image: String) -> String {
        "\(image): verity sidecars need an image named NAME.raw (systemd looks for NAME.verity and NAME.roothash beside NAME.raw only); rename the image"
    }
}

/// Computes the hash tree as the writer writes the image, so the image is
/// never read a second time; `finish` gives the tree once it is complete.
final class VerityTap: OutputObserver {
    private let tree: VerityHashTree
    let imageOffset: UInt64

    init(parameters: VerityParameters, imageOffset: UInt64 = 0) {
        tree = VerityHashTree(salt: parameters.salt, uuid: parameters.uuid)
        self.imageOffset = imageOffset
    }

    func wrote(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) {
        tree.append(bytes, at: offset)
    }

    func finish() throws -> VerityHashes {
        try tree.finish()
    }
}

/// The seed of an image's verity salt and UUID (see `VerityParameters`):
/// SHA-256 of the image's definition as the writer receives it, before any
/// byte is written: the settings that shape the image (compressor, block
/// size, mtime, content tuning) and the whole tree (every name, entry type,
/// permission bits, file size, link target and device number), bytewise
/// sorted as the writer sorts it. For a Nix build the tree names every
/// store path of the closure, and a store path's name is a hash of what
/// built it, so distinct closures give distinct seeds. File contents are
/// not read for it (that would read the tree twice); two trees that differ
/// in contents only share a salt, which costs nothing (the salt is public).
enum VeritySeed {
    static func seed(root: Directory, options: ImageOptions) -> [UInt8] {
        var b: [UInt8] = Array("mkportable verity seed v1\0".utf8)
        func u64(_ v: UInt64) { for i in 0..<8 { b.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
        func bytes(_ s: [UInt8]) { u64(UInt64(s.count)); b.append(contentsOf: s) }
        bytes(Array(options.compressor.description.utf8))
        u64(UInt64(options.blockSize))
        u64(UInt64(options.mtime))
        u64(options.adaptive ? 1 : 0)
        // Depth first, each directory's entries in bytewise order, with a
        // stack of the directories being walked, not recursion: a tree
        // 100,000 directories deep overflowed the thread's stack.
        var open: [(entries: [Entry], next: Int)] = []
        func enter(_ d: Directory) {
            u64(UInt64(d.mode))
            u64(UInt64(d.entries.count))
            open.append((d.entries.sorted(by: { $0.name.lexicographicallyPrecedes($1.name) }), 0))
        }
        enter(root)
        while let top = open.indices.last {
            guard open[top].next < open[top].entries.count else {
                open.removeLast()
                continue
            }
            let e = open[top].entries[open[top].next]
            open[top].next += 1
            bytes(e.name)
            switch e.node {
            case .directory(let sub): b.append(1); enter(sub)
            case .file(let f): b.append(2); u64(UInt64(f.mode)); u64(f.size)
            case .symlink(let t, let m): b.append(3); u64(UInt64(m)); bytes(t)
            case .fifo(let m): b.append(4); u64(UInt64(m))
            case .socket(let m): b.append(5); u64(UInt64(m))
            case .characterDevice(let m, let ma, let mi): b.append(6); u64(UInt64(m)); u64(UInt64(ma)); u64(UInt64(mi))
            case .blockDevice(let m, let ma, let mi): b.append(7); u64(UInt64(m)); u64(UInt64(ma)); u64(UInt64(mi))
            }
        }
        return SHA256.hash(b)
    }
}
