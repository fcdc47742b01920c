import SystemIO

/// The content half of `TreeComparison`: one file pair at a time, on
/// several threads.
extension TreeComparison {
    struct FileResult {
        var pairs: [ChunkPair] = []
        var firstDifference: UInt64?
    }

    static func contents(_ a: any FileSystemImage, _ b: any FileSystemImage, _ files: [(ImageEntry, ImageEntry)],
                         threads: Int) throws -> [FileResult] {
        let results = ResultSlots(files.count)
        let sameCodec = a.storageCodec == b.storageCodec
        let shared = SharedBlocks()
        try parallelEach(files.count, threads: threads) { index in
            let (ea, eb) = files[index]
            results.set(index, try compareFile(a, ea, b, eb, sameCodec: sameCodec, shared: shared))
        }
        return results.values
    }

    static func compareFile(_ a: any FileSystemImage, _ ea: ImageEntry, _ b: any FileSystemImage, _ eb: ImageEntry,
                            sameCodec: Bool, shared: SharedBlocks) throws -> FileResult {
        let ca = try a.chunks(of: ea), cb = try b.chunks(of: eb)
        var result = FileResult()
        let aligned = ca.count == cb.count && zip(ca, cb).allSatisfy { $0.offsetInFile == $1.offsetInFile && $0.length == $1.length }
        if aligned {
            for (x, y) in zip(ca, cb) {
                let stored = try shared.storedEqual(a, x, b, y)
                var equal = stored && sameCodec
                if !equal {
                    let bx = try a.contents(of: x), by = try b.contents(of: y)
                    equal = bx == by
                    if !equal, result.firstDifference == nil {
                        result.firstDifference = x.offsetInFile + UInt64(firstMismatch(bx, by) ?? 0)
                    }
                }
                result.pairs.append(ChunkPair(path: ea.pathString, a: x, b: y, storedEqual: stored, contentEqual: equal))
            }
            return result
        }
        // Chunked differently (another block size): the contents as two
        // streams, a chunk of each in memory at a time.
        result.firstDifference = try streamMismatch(a, ca, b, cb)
        return result
    }

    static func streamMismatch(_ a: any FileSystemImage, _ ca: [StoredChunk], _ b: any FileSystemImage,
                               _ cb: [StoredChunk]) throws -> UInt64? {
        var i = 0, j = 0
        var left: ArraySlice<UInt8> = [], right: ArraySlice<UInt8> = []
        var offset: UInt64 = 0
        while true {
            if left.isEmpty, i < ca.count { left = try a.contents(of: ca[i])[...]; i += 1; continue }
            if right.isEmpty, j < cb.count { right = try b.contents(of: cb[j])[...]; j += 1; continue }
            if left.isEmpty || right.isEmpty { return left.isEmpty && right.isEmpty ? nil : offset }
            let n = min(left.count, right.count)
            if let k = (0..<n).first(where: { left[left.startIndex + $0] != right[right.startIndex + $0] }) {
                return offset + UInt64(k)
            }
            left = left.dropFirst(n)
            right = right.dropFirst(n)
            offset += UInt64(n)
        }
    }

    /// The index of the first byte where `x` and `y` differ, the shorter
    /// one's length when one is a prefix of the other, nil when equal.
    static func firstMismatch(_ x: [UInt8], _ y: [UInt8]) -> Int? {
        for i in 0..<min(x.count, y.count) where x[i] != y[i] { return i }
        return x.count == y.count ? nil : min(x.count, y.count)
    }
}

/// Whether two chunks' stored bytes, and the way they are taken from them,
/// are the same. A block many files share (a fragment block) is compared
/// once: its answer is kept by the two blocks' positions.
final class SharedBlocks: @unchecked Sendable {
    private let monitor = Monitor()
    private var known: [Pair: Bool] = [:]

    private struct Pair: Hashable {
        var a: UInt64
        var b: UInt64
    }

    func storedEqual(_ a: any FileSystemImage, _ x: StoredChunk, _ b: any FileSystemImage, _ y: StoredChunk) throws -> Bool {
        guard x.storedSize == y.storedSize, x.compressed == y.compressed, x.within == y.within,
              x.decoding == y.decoding else { return false }
        if x.storedSize == 0 { return true }
        let key = Pair(a: x.storedAt, b: y.storedAt)
        if let hit = monitor.locked({ known[key] }) { return hit }
        let equal = try a.range.read(x.storedSize, at: x.storedAt) == b.range.read(y.storedSize, at: y.storedAt)
        monitor.locked {
            if known.count > 1 << 16 { known.removeAll() }
            known[key] = equal
        }
        return equal
    }
}

/// One slot per file, filled by whichever thread compares it.
private final class ResultSlots: @unchecked Sendable {
    private let monitor = Monitor()
    private var slots: [TreeComparison.FileResult]

    init(_ count: Int) { slots = Array(repeating: TreeComparison.FileResult(), count: count) }

    func set(_ index: Int, _ value: TreeComparison.FileResult) { monitor.locked { slots[index] = value } }

    var values: [TreeComparison.FileResult] { monitor.locked { slots } }
}
