import SystemIO

/// The content half of `TreeComparison`: the stored bytes of every file
/// at once, then the files that may still differ decompressed, on several
/// threads.
extension TreeComparison {
    struct FileResult {
        var pairs: [ChunkPair] = []
        var firstDifference: UInt64?
    }

    /// Every file pair's chunk lists are read first (in parallel), then
    /// the stored bytes of all chunk pairs are compared at once; only
    /// files holding a chunk not known equal that way are decompressed,
    /// in parallel, and only those chunks of them.
    static func contents(_ a: any FileSystemImage, _ b: any FileSystemImage, _ files: [(ImageEntry, ImageEntry)],
                         threads: Int) throws -> [FileResult] {
        let lists = Slots<([StoredChunk], [StoredChunk])>(files.count, ([], []))
        try parallelEach(files.count, threads: threads) { i in
            lists.set(i, (try a.chunks(of: files[i].0), try b.chunks(of: files[i].1)))
        }
        let chunks = lists.values
        var stored = StoredExtents()
        for (ca, cb) in chunks where aligned(ca, cb) {
            for (x, y) in zip(ca, cb) { stored.add(x, y) }
        }
        try stored.compare(a.range, b.range, threads: threads)
        let sameCodec = a.storageCodec == b.storageCodec
        var results: [FileResult] = []
        var pending: [Int] = []
        for (i, (ca, cb)) in chunks.enumerated() {
            var result = FileResult()
            if aligned(ca, cb) {
                let path = files[i].0.pathString
                result.pairs = zip(ca, cb).map { x, y in
                    let same = stored.storedEqual(x, y)
                    // Equal stored bytes are equal content when taken the
                    // same way: raw, or through the same codec.
                    return ChunkPair(path: path, a: x, b: y, storedEqual: same, contentEqual: same && (sameCodec || !x.compressed))
                }
            }
            if !aligned(ca, cb) || result.pairs.contains(where: { !$0.contentEqual }) { pending.append(i) }
            results.append(result)
        }
        let decoded = Slots<FileResult>(pending.count, FileResult())
        let known = results
        try parallelEach(pending.count, threads: threads) { k in
            let i = pending[k]
            decoded.set(k, try decode(a, b, chunks[i].0, chunks[i].1, known[i]))
        }
        for (k, value) in decoded.values.enumerated() { results[pending[k]] = value }
        return results
    }

    /// The byte ranges of the files (the images' ranges start at `offsetA`
    /// and `offsetB` in them) found to hold the same stored bytes at the
    /// same place in both, sorted and merged: a search for the files'
    /// first differing byte need not read them again.
    public func equalInPlace(offsetA: UInt64, offsetB: UInt64) -> [Range<UInt64>] {
        var ranges: [Range<UInt64>] = []
        for p in chunkPairs where p.storedEqual && p.a.storedSize > 0 && offsetA + p.a.storedAt == offsetB + p.b.storedAt {
            let start = offsetA + p.a.storedAt
            ranges.append(start..<start + UInt64(p.a.storedSize))
        }
        ranges.sort { $0.lowerBound < $1.lowerBound }
        var merged: [Range<UInt64>] = []
        for r in ranges {
            if let last = merged.last, r.lowerBound <= last.upperBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        return merged
    }

    static func aligned(_ ca: [StoredChunk], _ cb: [StoredChunk]) -> Bool {
        ca.count == cb.count && zip(ca, cb).allSatisfy { $0.offsetInFile == $1.offsetInFile && $0.length == $1.length }
    }

    /// Decompresses the chunks of one file not known equal by their stored
    /// bytes, and finds the file's first differing byte.
    static func decode(_ a: any FileSystemImage, _ b: any FileSystemImage, _ ca: [StoredChunk], _ cb: [StoredChunk],
                       _ known: FileResult) throws -> FileResult {
        // Chunked differently (another block size): the contents as two
        // streams, a chunk of each in memory at a time.
        guard aligned(ca, cb) else { return FileResult(pairs: [], firstDifference: try streamMismatch(a, ca, b, cb)) }
        var result = known
        for (n, p) in known.pairs.enumerated() where !p.contentEqual {
            let bx = try a.contents(of: p.a), by = try b.contents(of: p.b)
            if let k = firstMismatch(bx, by) {
                if result.firstDifference == nil { result.firstDifference = p.a.offsetInFile + UInt64(k) }
            } else {
                result.pairs[n].contentEqual = true
            }
        }
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
