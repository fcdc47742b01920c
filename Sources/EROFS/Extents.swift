#if canImport(Glibc)
import Glibc
#endif

/// Cuts one segment of a file (see `Segment`) into extents and lays out
/// their physical clusters (pclusters) back to back in an output buffer:
/// the encoder compresses as much of the segment as fits in the largest
/// pcluster (`pclusterSize` bytes); when that is more bytes than the
/// blocks the output needs would hold, those blocks (`ceil(written /
/// 4096)`) hold it compressed, right-aligned after zeros (ZERO_PADDING:
/// the reader finds the start by skipping them); otherwise the next 4096
/// bytes (fewer at the segment's end) are stored as they are, in one
/// block from its start (a PLAIN extent). So a pcluster always saves a
/// block over the bytes it holds, and every extent but the last ends in a
/// later lcluster than it starts, as the index requires
/// (`LclusterIndex`). One exception: a file's last extent, when it
/// shrinks at all, is kept compressed in one block, so that it can go
/// inline after the index (ztailpacking), where bytes count, not blocks;
/// and the extent before it ends where whole blocks are full (`encode`).
/// In a segment that ends inside a block of its file (`SegmentCut`; not
/// its last), every extent is at least 4096 bytes long, so that the next
/// segment's first extent starts in a later lcluster (the index allows one
/// extent start per lcluster): an extent that
/// would leave 8192 bytes or fewer is compressed again from less input
/// (leaving 8193), and the last 8193 to 12287 bytes form one compressed
/// extent even when it saves no block (`finalPiece`): being over 8192
/// bytes, it always has a NONHEAD lcluster after its head to hold its
/// block count. The last 8192 bytes exactly are one pcluster of one
/// block when they fit one, else two PLAIN extents. A segment that ends on
/// a block boundary needs none of this (the next one starts a new
/// lcluster), so its last extent is as short as its bytes leave it: the
/// packed inode's 1 MiB segments and the segments `SegmentPlan` cuts at
/// block boundaries.
/// A segment that chains into the next (`Segment`) stops before the
/// extent that would take all of its rest, when that rest is at most
/// `keep` bytes, or as soon as the rest is no longer than the input of
/// the pcluster before (not compressed first: it would most likely fit
/// one pcluster too): those bytes are carried, uncompressed, to the start of
/// the next segment's input, so its last pcluster is a full one. Each
/// extent it stores is then one the index allows (a compressed one holds
/// more than a block of bytes, a PLAIN one a whole block), and the next
/// segment's first extent starts where it ends.
/// The cut depends on the segment's bytes (with what it was carried),
/// those bits and `keep` alone.
struct Extents {
    /// One extent of a segment: where it starts in the segment, its
    /// pcluster's blocks (from `block` blocks into the output) and, for a
    /// compressed one, the compressed length (the data ends with its
    /// last block).
    struct Piece {
        var start: Int
        var block: Int
        var blocks: Int
        /// 0 for a PLAIN extent.
        var compressedSize: Int
        /// Whether the extent lies in the file's last pcluster's worth:
        /// cut from the rest of the file after the first encoding that
        /// took all of it (what a fragment tail may hold, `FragmentPacker`).
        var inLast = false
        var compressed: Bool { compressedSize > 0 }
    }

    let encoder: any ClusterEncoder
    let pclusterSize: Int

    /// Cuts `input` into extents whose blocks fill `output` from its start
    /// (`output` has room for `Geometry.blocks(input.count)` blocks and a
    /// pcluster more: no extent takes more blocks than bytes it holds).
    /// `openEnd`: the segment does not end its file and ends inside a
    /// block (`Extents.endsInsideBlock`). `keep`: the most bytes it may
    /// leave at its end for the next segment of its chain (0: none);
    /// returns the extents and how many bytes it left.
    func cut(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, fileEnd: Bool,
             openEnd: Bool, keep: Int = 0) throws(EROFSError) -> (pieces: [Piece], carried: Int) {
        var pieces: [Piece] = []
        var at = 0
        let bs = Geometry.blockSize
        var block = 0
        var inLast = false
        // The input of the last pcluster filled: a rest no longer than it
        // is carried without compressing it first (it would most likely
        // take it all, and be compressed again in the next segment).
        var filled = 0
        while at < input.count {
            let rest = UnsafeRawBufferPointer(rebasing: input[at...])
            if rest.count <= min(keep, filled) { return (pieces, rest.count) }
            let out = output.baseAddress! + block * bs
            if openEnd, rest.count >= 2 * bs, rest.count < 3 * bs, let last = try finalPiece(rest, into: out, at: at, block: block) {
                pieces.append(last)
                return (pieces, 0)
            }
            var (taken, written, all) = try encode(rest, into: out, fileEnd: fileEnd)
            if openEnd, taken < rest.count, rest.count - taken <= 2 * bs, rest.count >= 3 * bs {
                let fewer = UnsafeRawBufferPointer(rebasing: rest[0..<(rest.count - 2 * bs - 1)])
                (taken, written) = try encoder.encode(fewer, into: UnsafeMutableRawBufferPointer(start: out, count: pclusterSize))
            }
            inLast = inLast || all
            let blocks = (written + bs - 1) / bs
            let tail = fileEnd && taken == rest.count && written < taken && blocks == 1
            let packs = written > 0 && (taken > blocks * bs || tail)
            if rest.count <= keep, packs ? taken == rest.count : rest.count <= bs { return (pieces, rest.count) }
            if packs {
                let room = blocks * bs
                memmove(out + (room - written), out, written)
                memset(out, 0, room - written)
                pieces.append(Piece(start: at, block: block, blocks: blocks, compressedSize: written, inLast: inLast))
                filled = taken
                at += taken
                block += blocks
            } else {
                let plain = min(bs, rest.count)
                out.copyMemory(from: rest.baseAddress!, byteCount: plain)
                memset(out + plain, 0, bs - plain)
                pieces.append(Piece(start: at, block: block, blocks: 1, compressedSize: 0, inLast: inLast))
                at += plain
                block += 1
            }
        }
        return (pieces, 0)
    }

    /// The last 8192 to 12287 bytes of a segment that does not end its
    /// file as one compressed extent (nil if they do not fit a pcluster,
    /// or 8192 bytes do not fit one block).
    private func finalPiece(_ rest: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer, at: Int, block: Int) throws(EROFSError) -> Piece? {
        let bs = Geometry.blockSize
        let room = rest.count == 2 * bs ? bs : pclusterSize
        let r = try encoder.encode(rest, into: UnsafeMutableRawBufferPointer(start: out, count: room))
        guard r.consumed == rest.count, r.written > 0 else { return nil }
        let blocks = (r.written + bs - 1) / bs
        memmove(out + (blocks * bs - r.written), out, r.written)
        memset(out, 0, blocks * bs - r.written)
        return Piece(start: at, block: block, blocks: blocks, compressedSize: r.written)
    }

    /// Whether a segment from file offset `offset`, `length` bytes long,
    /// that does not end its file, ends inside a block.
    static func endsInsideBlock(offset: UInt64, length: Int) -> Bool {
        (offset + UInt64(length)) % UInt64(Geometry.blockSize) != 0
    }

    /// One pcluster's worth; when the rest of the file fits one pcluster
    /// but not one block, the whole blocks it fills less one, so that what
    /// is left makes a short last extent that can go inline. `all`: the
    /// rest of the file fit one pcluster.
    private func encode(_ rest: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer,
                        fileEnd: Bool) throws(EROFSError) -> (consumed: Int, written: Int, all: Bool) {
        let bs = Geometry.blockSize
        let first = try encoder.encode(rest, into: UnsafeMutableRawBufferPointer(start: out, count: pclusterSize))
        let all = fileEnd && first.consumed == rest.count
        guard all, first.written > bs else { return (first.consumed, first.written, all) }
        let whole = (first.written - 1) / bs * bs
        let second = try encoder.encode(rest, into: UnsafeMutableRawBufferPointer(start: out, count: whole))
        return (second.consumed, second.written, true)
    }
}
