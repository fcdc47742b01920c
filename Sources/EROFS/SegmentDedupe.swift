#if canImport(Glibc)
import Glibc
#endif
import SourceTree

/// Cross-file deduplication of compressed data, a segment at a time: a
/// segment (`SegmentCut`) whose bytes equal an earlier segment's, of this
/// file or an earlier one, is not compressed again; its extents name the
/// earlier segment's pclusters. erofs allows it: an extent's head names
/// its pcluster's block (`FullIndex`), nothing on disk counts the
/// references, and the kernel (Linux 6.1, the DEDUPE feature bit, the
/// same bit as FRAGMENTS) decodes a pcluster for each file that maps it.
/// The extents are the same as the earlier segment's, shifted, so each
/// references all of its pcluster's bytes (no PARTIAL_REF).
///
/// Equal means: same length, both ending inside a block or both on a
/// block boundary (which decides how short the last extent may be,
/// `Extents`), same `ContentHash`, then the same bytes, read
/// again from the earlier file. Only segments that do not end their file
/// take part (a file's last segment holds its tail: inline or a
/// fragment). Which segment names which is decided in submission order
/// (inode order), before compression, so it depends on the tree alone;
/// where the earlier one's pclusters lie is learnt when it is written
/// (`place`), and forgotten when its file is written again flat
/// (`forget`): a segment whose original is gone is compressed by the
/// writer itself. Memory: a key and an origin per segment, and the
/// extents of each written one (a few per MiB), never their bytes.
final class SegmentDedupe {
    struct Placed {
        var block: UInt32
        var pieces: [Extents.Piece]
    }

    private struct Key: Hashable {
        var length: Int
        var openEnd: Bool
        var hash: UInt64
    }

    private struct Origin {
        var item: Int
        var offset: UInt64
        var ordinal: Int
    }

    private var seen: [Key: Origin] = [:]
    private var placed: [Int: Placed] = [:]
    private var count = 0
    private let scratch: UnsafeMutableRawBufferPointer

    init() { scratch = .allocate(byteCount: Segment.size, alignment: 64) }
    deinit { scratch.deallocate() }

    /// Numbers the segment `bytes` of item `item` at `offset` and names
    /// an earlier equal segment, if any.
    func register(_ bytes: UnsafeRawBufferPointer, openEnd: Bool, item: Int, offset: UInt64,
                  of items: FileDataWriter.Items) throws(EROFSError) -> (ordinal: Int, original: Int?) {
        let ordinal = count
        count += 1
        var h = ContentHash()
        h.update(bytes.baseAddress!, bytes.count)
        let key = Key(length: bytes.count, openEnd: openEnd, hash: h.value)
        if let o = seen[key] {
            let theirs = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<bytes.count])
            let content = try FileContent(items[o.item].file, name: items[o.item].name)
            try content.read(into: theirs, at: o.offset)
            if memcmp(theirs.baseAddress!, bytes.baseAddress!, bytes.count) == 0 { return (ordinal, o.ordinal) }
            return (ordinal, nil)
        }
        seen[key] = Origin(item: item, offset: offset, ordinal: ordinal)
        return (ordinal, nil)
    }

    /// Segment `ordinal` was written: its extents' pclusters from `block`.
    func place(_ ordinal: Int, block: UInt32, pieces: [Extents.Piece]) {
        placed[ordinal] = Placed(block: block, pieces: pieces)
    }

    /// Their blocks were given back (the file went flat).
    func forget(_ ordinals: [Int]) {
        for o in ordinals { placed[o] = nil }
    }

    func placement(_ ordinal: Int) -> Placed? { placed[ordinal] }
}
