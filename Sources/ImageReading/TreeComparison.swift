/// Compares two images' trees path by path: what is added or removed,
/// and for paths in both, type, mode, owner, size, content, link target
/// and device number. Contents are compared chunk by chunk: chunks whose
/// stored bytes are equal (under the same codec) are equal without being
/// decompressed; only the others are decompressed, files in parallel.
public struct TreeComparison {
    public private(set) var differences: [TreeDifference] = []
    /// Every chunk pair of the files both images hold with equal size, in
    /// path order: what the format's encoding comparison classifies.
    public private(set) var chunkPairs: [ChunkPair] = []

    public var sameContent: Bool { differences.isEmpty }

    public init(_ a: any FileSystemImage, _ entriesA: [ImageEntry], _ b: any FileSystemImage, _ entriesB: [ImageEntry],
                threads: Int) throws {
        var i = 0, j = 0
        var files: [(ImageEntry, ImageEntry)] = []
        while i < entriesA.count || j < entriesB.count {
            let ea = i < entriesA.count ? entriesA[i] : nil, eb = j < entriesB.count ? entriesB[j] : nil
            if let ea, eb == nil || ea.path.lexicographicallyPrecedes(eb!.path) {
                differences.append(TreeDifference(path: ea.pathString, kind: .removed, a: ea.type.rawValue))
                i += 1
            } else if let eb, ea == nil || eb.path.lexicographicallyPrecedes(ea!.path) {
                differences.append(TreeDifference(path: eb.pathString, kind: .added, b: eb.type.rawValue))
                j += 1
            } else if let ea, let eb {
                differences += Self.attributes(ea, eb)
                if ea.type == .file && eb.type == .file && ea.size == eb.size { files.append((ea, eb)) }
                i += 1
                j += 1
            }
        }
        let results = try Self.contents(a, b, files, threads: threads)
        for (index, result) in results.enumerated() {
            chunkPairs += result.pairs
            if let offset = result.firstDifference {
                differences.append(TreeDifference(path: files[index].0.pathString, kind: .content, offset: offset))
            }
        }
        differences.sort { ($0.path, Self.rank($0.kind)) < ($1.path, Self.rank($1.kind)) }
    }

    private static func rank(_ kind: TreeDifference.Kind) -> Int {
        TreeDifference.Kind.allCases.firstIndex(of: kind)!
    }

    static func attributes(_ a: ImageEntry, _ b: ImageEntry) -> [TreeDifference] {
        let path = a.pathString
        if a.type != b.type { return [TreeDifference(path: path, kind: .type, a: a.type.rawValue, b: b.type.rawValue)] }
        var out: [TreeDifference] = []
        if a.permissions != b.permissions {
            out.append(TreeDifference(path: path, kind: .mode, a: octal(a.permissions), b: octal(b.permissions)))
        }
        if a.uid != b.uid || a.gid != b.gid {
            out.append(TreeDifference(path: path, kind: .owner, a: "\(a.uid):\(a.gid)", b: "\(b.uid):\(b.gid)"))
        }
        if a.type == .file && a.size != b.size {
            out.append(TreeDifference(path: path, kind: .size, a: "\(a.size)", b: "\(b.size)"))
        }
        if a.target != b.target {
            out.append(TreeDifference(path: path, kind: .target, a: a.target.map { String(decoding: $0, as: UTF8.self) },
                                      b: b.target.map { String(decoding: $0, as: UTF8.self) }))
        }
        if let da = a.device, let db = b.device, da != db {
            out.append(TreeDifference(path: path, kind: .device, a: "\(da.major),\(da.minor)", b: "\(db.major),\(db.minor)"))
        }
        return out
    }

    /// Permission bits as four octal digits ("0644").
    public static func octal(_ mode: UInt16) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
