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
/// byte for byte) is not stored again but names the earlier offset. So
/// the packed inode is a function of the tree alone. Its inode
/// is a regular file, mode 0644, one link, owner 0:0, like mkfs.erofs's.
/// Bytes reach the pipeline in full segments from offset 0, as any file's
/// (`Segment`); the last one ends the file.
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

    init(pipeline: SegmentPipeline, owner: Int, limit: UInt64) {
        self.pipeline = pipeline
        self.owner = owner
        self.limit = limit
        // A tail lies within a file's last segment.
        buffer = .allocate(byteCount: max(Int(limit), Segment.size), alignment: 64)
        other = .allocate(byteCount: max(Int(limit), Segment.size), alignment: 64)
    }

    deinit {
        buffer.deallocate()
        other.deallocate()
    }

    /// Makes room for `count` more fragments at once, so that the table
    /// does not grow by copies (old and new alive together).
    func reserve(_ count: Int) { stored.reserve(count) }

    /// Whether a file of `size` bytes goes in whole.
    func takes(_ size: UInt64) -> Bool { size > 0 && size < limit }

    /// Stores `items[k]` from byte `from` to its end (a whole file `takes`
    /// accepts, or a tail within its last segment); returns the offset.
    func add(_ k: Int, of items: FileDataWriter.Items, from: UInt64, digest: inout ContentDigest) throws(EROFSError) -> UInt64 {
        let file = items[k].file, name = items[k].name
        let n = Int(file.size - from)
        let bytes = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
        let content = try FileContent(file, name: name)
        try content.read(into: bytes, at: from)
        try content.checkEnd()
        var hash = ContentHash()
        hash.update(bytes.baseAddress!, n)
        let key = FragmentTable.Key(size: UInt64(n), hash: hash.value)
        if let earlier = stored.find(key) {
            let item = items[Int(stored.items[earlier])]
            if try same(UnsafeRawBufferPointer(bytes), as: item, from: item.file.size - UInt64(n)) { return stored.offsets[earlier] }
        }
        let offset = size
        stored.store(key, offset: offset, item: k)
        try append(UnsafeRawBufferPointer(bytes), digest: &digest)
        return offset
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
        pipeline.submit(s)
    }
}
