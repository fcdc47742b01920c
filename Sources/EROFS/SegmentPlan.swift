#if canImport(Glibc)
import Glibc
#endif
import SourceTree

/// Where a compressed file's segments (`Segment`) end, decided before any
/// is compressed, from the whole tree: every segment end costs a partly
/// filled pcluster (the slack of its last block, and the compressor starts
/// again with no history), so a file is cut only where a cut lets bytes be
/// stored once (`SegmentDedupe`).
///
/// The rule: a file's content-defined chunks are the segments `SegmentCut`
/// gives from offset 0. A chunk that does not end its file and whose key
/// (length, whether it ends inside a block, `ContentHash`) belongs to two
/// chunks or more in the tree's files (twins left out, `DuplicateFiles`)
/// is "shared": it is a segment of its own, or part of one: two shared
/// keys that always occur together (every chunk of the first is followed
/// by a shared chunk of the second, and every chunk of the second follows
/// one of the first) are joined wherever they occur, so a run of chunks
/// that every copy holds alike is one segment up to `Segment.size` bytes
/// (split greedily from its first chunk, so alike in every copy) and not a
/// segment end every chunk. The bytes between shared
/// chunks (and before the first, after the last) are cut only every
/// `Segment.size` bytes, at the last block boundary of the file within
/// that reach, so that those ends fall on block boundaries (`Extents`:
/// the last extent may then be short); a cut that would leave less than
/// `leftover` bytes before the run's end moves back by `leftover`, so
/// that no segment that ends inside a block is too short for `Extents`
/// to give each of its extents 4096 bytes or more. A file with no shared chunk is cut
/// every `Segment.size` bytes from offset 0. So the segments depend on the
/// tree alone; a hash collision only makes a chunk its own segment.
///
/// Only shared segments take part in `SegmentDedupe`; the others may chain
/// (`Segment`).
///
/// The planner reads each file once more (2 MiB at a time) before the data
/// pass; kept: one count per key, then the segment lengths of the files
/// that have a shared chunk.
final class SegmentPlan {
    private struct Key: Hashable {
        var length: Int
        var openEnd: Bool
        var hash: UInt64
    }

    static let leftover = Segment.size / 16

    /// One planned segment: its length, and whether it is a shared run.
    struct Cut {
        var length: Int
        var shared: Bool
    }

    /// Segments by item, for files with a shared chunk.
    private var lengths: [Int: [Cut]] = [:]

    /// Counts the chunks of the items `taken` (their sizes: compressed
    /// files, not twins) and plans their segments.
    init(_ items: FileDataWriter.Items, taken: (Int) -> Bool, aligned: Bool) throws(EROFSError) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * Segment.size, alignment: 64)
        defer { buffer.deallocate() }
        var keys: [Int: [(key: Key, length: Int)]] = [:]
        var counts: [Key: Int] = [:]
        for k in items.indices where taken(k) && items[k].file.size > UInt64(SegmentCut.minimum) {
            let chunks = try SegmentPlan.chunks(items[k], buffer: buffer, aligned: aligned)
            for c in chunks.dropLast() { counts[c.key, default: 0] += 1 }
            keys[k] = chunks
        }
        let isShared = { (chunks: [(key: Key, length: Int)], i: Int) in
            i < chunks.count - 1 && counts[chunks[i].key, default: 0] > 1
        }
        let joined = SegmentPlan.joined(keys, shared: isShared)
        for (k, chunks) in keys {
            let shared = chunks.indices.map { isShared(chunks, $0) }
            guard shared.contains(true) else { continue }
            let joins = chunks.indices.map { i in i > 0 && shared[i - 1] && shared[i] && joined.contains(Pair(chunks[i - 1].key, chunks[i].key)) }
            lengths[k] = SegmentPlan.segments(chunks.map(\.length), shared: shared, joins: joins)
        }
    }

    private struct Pair: Hashable {
        var first: Key
        var second: Key
        init(_ first: Key, _ second: Key) { (self.first, self.second) = (first, second) }
    }

    /// The pairs of shared keys that always occur together: every chunk
    /// of the first is followed by a shared chunk of the second, and every
    /// chunk of the second follows one of the first. Such chunks join one
    /// segment wherever they occur (so each copy is cut alike), which saves
    /// the segment end between them.
    private static func joined(_ keys: [Int: [(key: Key, length: Int)]],
                               shared: ([(key: Key, length: Int)], Int) -> Bool) -> Set<Pair> {
        // nil: not always the same (or none).
        var next: [Key: Key?] = [:]
        var previous: [Key: Key?] = [:]
        func note(_ table: inout [Key: Key?], _ key: Key, _ other: Key?) {
            if let seen = table[key] { if seen != other { table[key] = .some(nil) } } else { table[key] = .some(other) }
        }
        for (_, chunks) in keys {
            for i in chunks.indices where shared(chunks, i) {
                let before: Key? = i > 0 && shared(chunks, i - 1) ? chunks[i - 1].key : nil
                let after: Key? = shared(chunks, i + 1) ? chunks[i + 1].key : nil
                note(&previous, chunks[i].key, before)
                note(&next, chunks[i].key, after)
            }
        }
        var out = Set<Pair>()
        for (key, after) in next {
            guard let after = after ?? nil, previous[after] == .some(.some(key)) else { continue }
            out.insert(Pair(key, after))
        }
        return out
    }

    /// The segments of item `k`, in order; nil: every `Segment.size`
    /// bytes from offset 0, none shared.
    func segments(_ k: Int) -> [Cut]? { lengths[k] }

    /// The file's chunks, read once: `buffer` (2 MiB) holds what is left
    /// of the window and is topped up whenever less than `Segment.size`
    /// bytes remain unread in it (a read from each chunk's start was
    /// 40 times the file with 24 KiB chunks).
    private static func chunks(_ item: FileDataWriter.Item, buffer: UnsafeMutableRawBufferPointer,
                               aligned: Bool) throws(EROFSError) -> [(key: Key, length: Int)] {
        let content = try FileContent(item.file, name: item.name)
        var out: [(key: Key, length: Int)] = []
        var offset: UInt64 = 0
        var (start, held, readTo) = (0, 0, UInt64(0))
        while offset < content.size {
            if held < Segment.size, readTo < content.size {
                memmove(buffer.baseAddress!, buffer.baseAddress! + start, held)
                start = 0
                let n = Int(min(UInt64(buffer.count - held), content.size - readTo))
                try content.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[held..<held + n]), at: readTo)
                (readTo, held) = (readTo + UInt64(n), held + n)
            }
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[start..<start + min(held, Segment.size)])
            let endsFile = offset + UInt64(bytes.count) == content.size
            let n = SegmentCut.length(bytes, at: offset, endsFile: endsFile, aligned: aligned)
            var h = ContentHash()
            h.update(bytes.baseAddress!, n)
            out.append((Key(length: n, openEnd: Extents.endsInsideBlock(offset: offset, length: n), hash: h.value), n))
            (offset, start, held) = (offset + UInt64(n), start + n, held - n)
        }
        return out
    }

    /// Shared chunks alone, or joined to the one before while `joins`
    /// says so and the segment stays within `Segment.size` bytes (a
    /// joined run is the same chunks wherever it occurs, so it is split
    /// alike); the runs between them cut every `Segment.size` bytes at
    /// block boundaries of the file.
    private static func segments(_ chunks: [Int], shared: [Bool], joins: [Bool]) -> [Cut] {
        var out: [Cut] = []
        var offset = 0
        var run = 0
        func flush() {
            var at = offset - run
            let end = offset
            while at < end {
                let reach = at + Segment.size
                var cut = reach >= end ? end : reach / Geometry.blockSize * Geometry.blockSize
                if cut < end, end - cut < SegmentPlan.leftover { cut -= SegmentPlan.leftover }
                out.append(Cut(length: cut - at, shared: false))
                at = cut
            }
            run = 0
        }
        for (i, n) in chunks.enumerated() {
            if shared[i] {
                flush()
                if joins[i], let last = out.last, last.shared, last.length + n <= Segment.size {
                    out[out.count - 1].length += n
                } else {
                    out.append(Cut(length: n, shared: true))
                }
            } else {
                run += n
            }
            offset += n
        }
        flush()
        return out
    }
}
