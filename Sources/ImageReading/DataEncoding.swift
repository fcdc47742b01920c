/// One way two images encode their trees differently, as `diff` reports
/// it when the bytes differ. `kind` is one of the documented JSON kinds:
/// compressor, blockSize, flags, timestamps, dataOrder, fragments,
/// compressedBytes, metadata, size.
public struct EncodingDifference: Sendable {
    public var kind: String
    public var detail: String

    public init(kind: String, detail: String) {
        self.kind = kind
        self.detail = detail
    }
}

/// What the chunk pairs of equal files say about where and how two images
/// store their data, whatever the format: blocks in another order, tails
/// packed differently into shared (fragment) blocks, the same data
/// compressed to other bytes under the same codec.
public enum DataEncoding {
    public static func differences(_ pairs: [ChunkPair], sameCodec: Bool) -> [EncodingDifference] {
        var out: [EncodingDifference] = []
        var recompressed = 0, blocks = 0
        var firstRecompressed: ChunkPair?
        var tailsMoved = 0
        var firstTail: ChunkPair?
        var placed: [ChunkPair] = []
        for p in pairs where p.contentEqual {
            if isFragment(p.a) || isFragment(p.b) {
                if !isFragment(p.a) || !isFragment(p.b) || p.a.source != p.b.source || p.a.within != p.b.within {
                    tailsMoved += 1
                    if firstTail == nil { firstTail = p }
                }
            }
            guard case .block = p.a.source, case .block = p.b.source else { continue }
            blocks += 1
            placed.append(p)
            if !p.storedEqual {
                recompressed += 1
                if firstRecompressed == nil { firstRecompressed = p }
            }
        }
        // Data in another order: two blocks that come one after the other
        // in A come the other way round in B (a mere shift, every block
        // moved by what came before it, is not a difference of its own).
        placed.sort { $0.a.storedAt < $1.a.storedAt }
        if let i = placed.indices.dropFirst().first(where: { placed[$0].b.storedAt < placed[$0 - 1].b.storedAt }) {
            let x = placed[i - 1], y = placed[i]
            out.append(EncodingDifference(kind: "dataOrder", detail: "data is stored in another order: \(name(x.a)) of \(x.path) comes before \(name(y.a)) of \(y.path) in A (bytes \(x.a.storedAt), \(y.a.storedAt)) and after it in B (bytes \(x.b.storedAt), \(y.b.storedAt))"))
        }
        if let p = firstTail {
            out.append(EncodingDifference(kind: "fragments", detail: "\(tailsMoved) file tails are packed differently into fragment blocks (first: \(p.path), \(name(p.a)) offset \(p.a.within) vs \(name(p.b)) offset \(p.b.within))"))
        }
        if let p = firstRecompressed, sameCodec {
            out.append(EncodingDifference(kind: "compressedBytes", detail: "\(recompressed) of \(blocks) data blocks hold the same data compressed to other bytes with the same compressor, options and block size: the compression library's output differs (another release of it, or other per-block choices); first: \(name(p.a)) of \(p.path), \(p.a.storedSize) vs \(p.b.storedSize) bytes"))
        }
        return out
    }

    /// How many paths in both have another mtime, and the first of them;
    /// nil when none has.
    public static func changedTimes(_ entriesA: [ImageEntry], _ entriesB: [ImageEntry]) -> String? {
        let mtimes = Dictionary(entriesB.map { ($0.path, $0.mtime) }, uniquingKeysWith: { x, _ in x })
        let changed = entriesA.filter { e in mtimes[e.path].map { $0 != e.mtime } ?? false }
        guard let first = changed.first else { return nil }
        return "\(changed.count) entries' mtimes (first \(first.pathString): \(first.mtime) vs \(mtimes[first.path]!))"
    }

    static func isFragment(_ c: StoredChunk) -> Bool {
        if case .fragment = c.source { return true }
        return false
    }

    static func name(_ c: StoredChunk) -> String {
        switch c.source {
        case .block(let n): return "data block \(n)"
        case .fragment(let k): return "fragment block \(k)"
        case .sparse(let n): return "sparse block \(n)"
        }
    }
}
