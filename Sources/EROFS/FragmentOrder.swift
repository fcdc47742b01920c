/// The order of the fragments in the packed inode (`FragmentPacker`):
/// fragments that share a run of bytes are put next to each other, so that
/// the compressor, whose window is one pcluster's input, finds the run in
/// the one stored before; the others keep the order they are given (the
/// tails of bigger files in inode order, then the small files whole).
///
/// The rule: a fragment's anchor is the smallest gear hash (h = h << 1 +
/// G[byte], 64 bits, G the table of `SegmentCut`) over its windows of 64
/// bytes, taken after each byte from its 64th on; a fragment shorter than
/// that has none. Two fragments that share a run much longer than 64
/// bytes most often share their anchor (the run's smallest window is the
/// smallest of both when the rest of each has no smaller one). Fragments
/// with the same anchor form a group, placed where its first member is
/// given, its members in the order given; a fragment with no anchor, or
/// an anchor of its own, stays in place. So the order is a function of
/// the fragments' bytes and the tree's order alone.
enum FragmentOrder {
    /// A fragment: an item's bytes from `start` to the file's end.
    struct Fragment {
        var item: Int32
        var start: UInt64
    }

    static let window = 64

    /// A fragment's anchor (`none`: it has none) and where its window
    /// starts in it (the first such window).
    struct Anchor {
        var hash: UInt64
        var at: UInt32
        static let absent = Anchor(hash: none, at: 0)
    }

    /// The numbers of `fragments` in packing order and every fragment's
    /// anchor, given those of the first `known.count`; reads each of the
    /// others once.
    static func arrange(_ fragments: [Fragment], anchors known: [Anchor],
                        of items: FileDataWriter.Items) throws(EROFSError) -> (order: [Int32], anchors: [Anchor]) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Segment.size, alignment: 64)
        defer { buffer.deallocate() }
        var anchors = known
        anchors.reserveCapacity(fragments.count)
        for f in fragments[known.count...] {
            let item = items[Int(f.item)]
            let bytes = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(item.file.size - f.start)])
            let content = try FileContent(item.file, name: item.name)
            try content.read(into: bytes, at: f.start)
            anchors.append(anchor(UnsafeRawBufferPointer(bytes)))
        }
        return (grouped(anchors.map(\.hash)), anchors)
    }

    /// The smallest gear hash of `bytes`' windows (`none` under 64 bytes)
    /// and where the first window with it starts.
    static func anchor(_ bytes: UnsafeRawBufferPointer) -> Anchor {
        guard bytes.count >= window else { return .absent }
        var h: UInt64 = 0
        var least = none, at = 0
        SegmentCut.gear.withUnsafeBufferPointer { g in
            for i in 0..<(window - 1) { h = (h << 1) &+ g[Int(bytes[i])] }
            for i in (window - 1)..<bytes.count {
                h = (h << 1) &+ g[Int(bytes[i])]
                if h < least { (least, at) = (h, i + 1 - window) }
            }
        }
        return Anchor(hash: least, at: UInt32(at))
    }

    /// No anchor (a window hashing to it counts as none, too).
    static let none = UInt64.max

    /// The fragments' numbers in packing order: each group of one anchor
    /// where its first member is, the rest in place.
    static func grouped(_ anchors: [UInt64]) -> [Int32] {
        let byAnchor = anchors.indices.lazy.filter { anchors[$0] != none }.map { Int32($0) }
            .sorted { (anchors[Int($0)], $0) < (anchors[Int($1)], $1) }
        // For each fragment, where its group starts in `byAnchor` when it
        // leads one (-1: it has none or is not its first), or -2 when it
        // follows its group's first.
        var lead = [Int32](repeating: -1, count: anchors.count)
        for (j, f) in byAnchor.enumerated() {
            let first = j == 0 || anchors[Int(f)] != anchors[Int(byAnchor[j - 1])]
            lead[Int(f)] = first ? Int32(j) : -2
        }
        var order: [Int32] = []
        order.reserveCapacity(anchors.count)
        for f in anchors.indices where lead[f] != -2 {
            guard lead[f] >= 0 else { order.append(Int32(f)); continue }
            var j = Int(lead[f])
            repeat {
                order.append(byAnchor[j])
                j += 1
            } while j < byAnchor.count && anchors[Int(byAnchor[j])] == anchors[f]
        }
        return order
    }
}
