#if canImport(Glibc)
import Glibc
#endif
import SourceTree

/// The packed inode (FRAGMENTS, Linux 6.1): a regular file that is in no
/// directory, named by the superblock's packed_nid (never 0: 0 means
/// none), whose bytes are other files' fragments one after another; a file
/// stored there whole says where with its `FragmentReference`. Its own
/// data is stored like any compressed file's (never in fragments), so
/// small files are compressed together, in pclusters shared by
/// neighbours, instead of each on its own.
///
/// Written here: fragments in the order they are given (`FileDataWriter`:
/// first the tails of bigger files, the rest after their last full
/// pcluster, then files of fewer than `limit` bytes, and more than 0,
/// whole, each group in the tree's inode order); a fragment whose bytes
/// equal an earlier one's (same size and `ContentHash`, then compared
/// byte for byte) is not stored again but names the earlier offset; nor
/// is one of at least `window` bytes whose bytes end a longer fragment
/// stored earlier (found by the `ContentHash` of its last `window` bytes
/// among the stored fragments', of those sharing it the longest, the
/// earliest of equal length; then compared byte for byte): it names
/// the offset where they start inside that one, as mkfs.erofs's
/// `erofs_fragment_findmatch` does (the reader maps a fragment's bytes to
/// its offset plus their position whatever else lies around it). So
/// the packed inode is a function of the tree alone. Its inode
/// is a regular file, mode 0644, one link, owner 0:0, like mkfs.erofs's.
/// Bytes reach the pipeline in full segments from offset 0, as any file's
/// (`Segment`), chained; the last one ends the file.
final class FragmentPacker {
    static let mode: UInt16 = 0o100644

    private let pipeline: SegmentPipeline
    /// The owner number its segments carry (`SegmentPipeline.Slot.file`).
    private let owner: Int
    private let limit: UInt64
    /// The packed inode's length so far.
    private(set) var size: UInt64 = 0
    private var slot: SegmentPipeline.Slot?
    private let buffer: UnsafeMutableRawBufferPointer
    private let other: UnsafeMutableRawBufferPointer
    /// The fragments stored, by (size, content hash): one per small
    /// file, so 40 bytes a fragment, not the file and its name.
    private var stored = FragmentTable()
    /// The stored fragments of at least `window` bytes, by the hash of
    /// their last `window` bytes (size 0): their entry numbers in `stored`
    /// (as offsets), the longest for each hash.
    private var ends = FragmentTable()
    /// The stored fragments that have a `FragmentOrder` anchor, by it
    /// (size 1): where that window lies in the packed inode (as offsets)
    /// and their entry numbers in `stored` (as items), the longest for each.
    private var anchors = FragmentTable()
    static let window = 64

    init(pipeline: SegmentPipeline, owner: Int, limit: UInt64) {
        self.pipeline = pipeline
        self.owner = owner
        self.limit = limit
        // A tail is at most Segment.size bytes (FileDataWriter.fragmentTail).
        buffer = .allocate(byteCount: max(Int(limit), Segment.size), alignment: 64)
        other = .allocate(byteCount: max(Int(limit), Segment.size), alignment: 64)
    }

    deinit {
        buffer.deallocate()
        other.deallocate()
    }

    /// Makes room for `count` more fragments at once, so that the table
    /// does not grow by copies (old and new alive together).
    func reserve(_ count: Int) {
        stored.reserve(count)
        ends.reserve(count)
        anchors.reserve(count)
    }

    /// Whether a file of `size` bytes goes in whole.
    func takes(_ size: UInt64) -> Bool { size > 0 && size < limit }

    /// Stores `items[k]` from byte `from` to its end (a whole file `takes`
    /// accepts, or a tail within its last segment), whose `FragmentOrder`
    /// anchor is `known` (nil: not taken yet); returns the offset.
    func add(_ k: Int, of items: FileDataWriter.Items, from: UInt64, anchor known: FragmentOrder.Anchor?,
             digest: inout ContentDigest) throws(EROFSError) -> UInt64 {
        let file = items[k].file, name = items[k].name
        let n = Int(file.size - from)
        let bytes = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
        let content = try FileContent(file, name: name)
        try content.read(into: bytes, at: from)
        try content.checkEnd()
        let given = UnsafeRawBufferPointer(bytes)
        var hash = ContentHash()
        hash.update(given.baseAddress!, n)
        let key = FragmentTable.Key(size: UInt64(n), hash: hash.value)
        if let e = stored.find(key), let offset = try lying(given, at: stored.offsets[e], in: e, of: items) { return offset }
        let long = n >= FragmentPacker.window
        let end = long ? FragmentPacker.endKey(given) : nil
        let anchor = long ? known ?? FragmentOrder.anchor(given) : .absent
        if let offset = try earlier(given, end: end, anchor: anchor, of: items) { return offset }
        let offset = size
        stored.store(key, offset: offset, item: k)
        let entry = stored.count - 1
        if let end, longer(n, than: ends.find(end).map { Int(ends.offsets[$0]) }) {
            ends.store(end, offset: UInt64(entry), item: entry)
        }
        let mark = FragmentTable.Key(size: 1, hash: anchor.hash)
        if anchor.hash != FragmentOrder.none, longer(n, than: anchors.find(mark).map { Int(anchors.items[$0]) }) {
            anchors.store(mark, offset: offset + UInt64(anchor.at), item: entry)
        }
        try append(given, digest: &digest)
        return offset
    }

    /// Where a fragment's `bytes` already lie in the packed inode: at the
    /// end of the longest stored fragment with the same last `window`
    /// bytes, or around the place of their anchor in the longest stored
    /// fragment with the same anchor.
    private func earlier(_ bytes: UnsafeRawBufferPointer, end: FragmentTable.Key?, anchor: FragmentOrder.Anchor,
                         of items: FileDataWriter.Items) throws(EROFSError) -> UInt64? {
        let n = UInt64(bytes.count)
        if let end, let e = ends.find(end) {
            let entry = Int(ends.offsets[e])
            let at = stored.offsets[entry] + stored.keys[entry].size
            if at >= n, let offset = try lying(bytes, at: at - n, in: entry, of: items) { return offset }
        }
        guard anchor.hash != FragmentOrder.none, let a = anchors.find(FragmentTable.Key(size: 1, hash: anchor.hash)),
              anchors.offsets[a] >= UInt64(anchor.at) else { return nil }
        return try lying(bytes, at: anchors.offsets[a] - UInt64(anchor.at), in: Int(anchors.items[a]), of: items)
    }

    /// Whether a fragment of `n` bytes is longer than stored fragment
    /// `entry` (or there is none).
    private func longer(_ n: Int, than entry: Int?) -> Bool {
        entry.map { stored.keys[$0].size < UInt64(n) } ?? true
    }

    /// The key of a fragment's last `window` bytes in `ends`.
    private static func endKey(_ bytes: UnsafeRawBufferPointer) -> FragmentTable.Key {
        var hash = ContentHash()
        hash.update(bytes.baseAddress! + bytes.count - window, window)
        return FragmentTable.Key(size: 0, hash: hash.value)
    }

    /// `at` when `bytes` lie there inside stored fragment `entry` (its
    /// bytes there, read again from its file, compared).
    private func lying(_ bytes: UnsafeRawBufferPointer, at: UInt64, in entry: Int,
                       of items: FileDataWriter.Items) throws(EROFSError) -> UInt64? {
        let start = stored.offsets[entry], length = stored.keys[entry].size
        guard at >= start, at + UInt64(bytes.count) <= start + length else { return nil }
        let item = items[Int(stored.items[entry])]
        guard try same(bytes, as: item, from: item.file.size - length + (at - start)) else { return nil }
        return at
    }

    /// Hands the last segment to the pipeline (the file's end).
    func finish(digest: inout ContentDigest) {
        guard let s = slot else { return }
        submit(s, end: true, digest: &digest)
        slot = nil
    }

    private func same(_ bytes: UnsafeRawBufferPointer, as item: FileDataWriter.Item, from: UInt64) throws(EROFSError) -> Bool {
        let theirs = UnsafeMutableRawBufferPointer(rebasing: other[0..<bytes.count])
        let content = try FileContent(item.file, name: item.name)
        try content.read(into: theirs, at: from)
        return memcmp(theirs.baseAddress!, bytes.baseAddress!, bytes.count) == 0
    }

    /// Copies `bytes` into segments; a full one is submitted when more
    /// bytes follow it, so that the last one is known to end the file.
    private func append(_ bytes: UnsafeRawBufferPointer, digest: inout ContentDigest) throws(EROFSError) {
        var at = 0
        while at < bytes.count {
            if let s = slot, s.length == Segment.size {
                submit(s, end: false, digest: &digest)
                slot = nil
            }
            if slot == nil {
                let s = try pipeline.acquire()
                s.length = 0
                s.file = owner
                s.offset = size
                slot = s
            }
            let s = slot!
            let n = min(Segment.size - s.length, bytes.count - at)
            (s.input.baseAddress! + s.length).copyMemory(from: bytes.baseAddress! + at, byteCount: n)
            s.length += n
            size += UInt64(n)
            at += n
        }
    }

    private func submit(_ s: SegmentPipeline.Slot, end: Bool, digest: inout ContentDigest) {
        digest.update(s.bytes)
        s.fileEnd = end
        s.chainsOut = !end
        pipeline.submit(s)
    }
}
