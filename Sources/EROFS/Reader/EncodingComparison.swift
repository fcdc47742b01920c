import ImageReading

/// Classifies how two erofs images encode their trees differently: the
/// settings in their superblocks (compressors and their configurations,
/// block size, features), time stamps, where and how data is stored
/// (`DataEncoding`), the metadata (the UUID, inodes whose bytes differ)
/// and the images' lengths.
public enum EROFSComparison {
    public static func encoding(_ a: EROFSImage, _ entriesA: [ImageEntry], _ b: EROFSImage, _ entriesB: [ImageEntry],
                                pairs: [ChunkPair]) -> [EncodingDifference] {
        var out = settings(a, b)
        var times: [String] = []
        if a.superblock.epoch != b.superblock.epoch {
            times.append("the superblock's epoch \(a.superblock.epoch) vs \(b.superblock.epoch)")
        }
        if let entries = DataEncoding.changedTimes(entriesA, entriesB) { times.append(entries) }
        if !times.isEmpty { out.append(EncodingDifference(kind: "timestamps", detail: times.joined(separator: "; "))) }
        out += DataEncoding.differences(pairs, sameCodec: a.storageCodec == b.storageCodec)
        out += metadata(a, entriesA, b, entriesB)
        if a.range.length != b.range.length {
            out.append(EncodingDifference(kind: "size", detail: "the images are \(a.range.length) and \(b.range.length) bytes (\(a.superblock.blocks) and \(b.superblock.blocks) blocks)"))
        }
        return out
    }

    static func settings(_ a: EROFSImage, _ b: EROFSImage) -> [EncodingDifference] {
        var out: [EncodingDifference] = []
        let ca = a.configs.descriptions.joined(separator: ", "), cb = b.configs.descriptions.joined(separator: ", ")
        if ca != cb { out.append(EncodingDifference(kind: "compressor", detail: "compressors \"\(ca)\" vs \"\(cb)\"")) }
        if a.blockSize != b.blockSize {
            out.append(EncodingDifference(kind: "blockSize", detail: "block size \(a.blockSize) vs \(b.blockSize)"))
        }
        let fa = features(a), fb = features(b)
        if fa != fb { out.append(EncodingDifference(kind: "flags", detail: "features [\(fa)] vs [\(fb)]")) }
        return out
    }

    static func features(_ image: EROFSImage) -> String {
        let compatible = EROFSImage.compatibleNames.filter { image.superblock.compatible & $0.0 != 0 }.map(\.1)
        return (image.superblock.incompatible.names + compatible).joined(separator: " ")
    }

    /// The UUID, and the paths whose inode bytes (with their xattrs)
    /// differ.
    static func metadata(_ a: EROFSImage, _ entriesA: [ImageEntry], _ b: EROFSImage, _ entriesB: [ImageEntry]) -> [EncodingDifference] {
        var parts: [String] = []
        if a.superblock.uuid != b.superblock.uuid {
            parts.append("the UUID \(EROFSImage.uuidText(a.superblock.uuid)) vs \(EROFSImage.uuidText(b.superblock.uuid))")
        }
        let nidsB = Dictionary(entriesB.map { ($0.path, $0.handle) }, uniquingKeysWith: { x, _ in x })
        var differing: [String] = []
        for e in entriesA {
            guard let nidB = nidsB[e.path], let x = try? a.inodeBytes(e.handle), let y = try? b.inodeBytes(nidB), x != y else { continue }
            differing.append(e.pathString)
        }
        if let first = differing.first { parts.append("the inodes of \(differing.count) paths (first \(first))") }
        return parts.isEmpty ? [] : [EncodingDifference(kind: "metadata", detail: "the bytes of " + parts.joined(separator: "; ") + " differ")]
    }
}

extension EROFSImage {
    /// An inode's bytes with its xattrs.
    func inodeBytes(_ nid: UInt64) throws(EROFSError) -> [UInt8] {
        let i = try inode(nid)
        return try range.record(i.inodeSize + i.xattrSize, at: i.position, place: "inode \(nid)")
    }
}
