#if canImport(Glibc)
import Glibc
#endif

/// Cuts one segment of a file (see `Segment`) into extents and lays out
/// their physical clusters, one block each, back to back in an output
/// buffer: the encoder fills a block with as much of the segment as it
/// can; if that is more than a block's worth, the block holds it
/// compressed, right-aligned after zeros (ZERO_PADDING: the reader finds
/// the start by skipping them); otherwise the next 4096 bytes (fewer at
/// the segment's end) are stored as they are, from the block's start (a
/// PLAIN extent). So every extent but the last ends in a later lcluster
/// than it starts, as the index requires (`LclusterIndex`). The cut
/// depends on the segment's bytes alone.
struct Extents {
    /// One extent of a segment: where it starts in the segment, and
    /// whether its block holds it compressed.
    struct Piece {
        var start: Int
        var compressed: Bool
    }

    let encoder: any ClusterEncoder

    /// Cuts `input` into extents whose blocks fill `output` from its start
    /// (`output` has room for `Geometry.blocks(input.count)` blocks: no
    /// extent takes more blocks than bytes it holds).
    func cut(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(EROFSError) -> [Piece] {
        var pieces: [Piece] = []
        var at = 0
        let bs = Geometry.blockSize
        var block = output.baseAddress!
        while at < input.count {
            let rest = UnsafeRawBufferPointer(rebasing: input[at...])
            let (taken, written) = try encoder.encode(rest, into: UnsafeMutableRawBufferPointer(start: block, count: bs))
            if taken > bs {
                memmove(block + (bs - written), block, written)
                memset(block, 0, bs - written)
                pieces.append(Piece(start: at, compressed: true))
                at += taken
            } else {
                let plain = min(bs, rest.count)
                block.copyMemory(from: rest.baseAddress!, byteCount: plain)
                memset(block + plain, 0, bs - plain)
                pieces.append(Piece(start: at, compressed: false))
                at += plain
            }
            block += bs
        }
        return pieces
    }
}
