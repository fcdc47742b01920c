#if canImport(Glibc)
import Glibc
#endif

/// Cuts a file into extents and writes their physical clusters, one block
/// each: the encoder fills a block with as much of the file as it can; if
/// that is more than a block's worth, the block holds it compressed,
/// right-aligned after zeros (ZERO_PADDING: the reader finds the start
/// by skipping them); otherwise the next 4096 bytes (fewer at the end)
/// are stored as they are, from the block's start (a PLAIN extent). So
/// every extent but the last ends in a later lcluster than it starts,
/// as the index requires (`LclusterIndex`).
struct Extents {
    /// The most one extent decodes to: a bound on the reader's work per
    /// block and on the window the writer keeps.
    static let maxExtent = 1 << 20

    let encoder: any ClusterEncoder
    let window: Window
    let block: UnsafeMutableRawBufferPointer

    init(encoder: any ClusterEncoder) {
        self.encoder = encoder
        window = Window(capacity: 2 * Extents.maxExtent)
        block = .allocate(byteCount: 2 * Geometry.blockSize, alignment: 64)
    }

    func release() {
        window.release()
        block.deallocate()
    }

    /// Writes `content`'s extents at the image's end; returns them.
    func write(_ content: FileContent, to image: ImageFile, digest: inout ContentDigest) throws(EROFSError) -> [LclusterIndex.Extent] {
        var extents: [LclusterIndex.Extent] = []
        var at: UInt64 = 0
        window.reset()
        let bs = Geometry.blockSize
        let out = UnsafeMutableRawBufferPointer(rebasing: block[bs..<2 * bs])
        while at < content.size {
            let n = Int(min(UInt64(Extents.maxExtent), content.size - at))
            let input = try window.bytes(of: content, at: at, count: n, digest: &digest)
            let (taken, written) = try encoder.encode(input, into: out)
            let start = image.block
            if taken > bs {
                let head = UnsafeMutableRawBufferPointer(rebasing: block[bs - written..<bs])
                head.copyMemory(from: UnsafeRawBufferPointer(rebasing: out[0..<written]))
                memset(block.baseAddress!, 0, bs - written)
                try image.append(UnsafeRawBufferPointer(rebasing: block[0..<bs]))
                extents.append(.init(start: at, block: start, compressed: true))
                at += UInt64(taken)
            } else {
                let plain = min(bs, n)
                block.baseAddress!.copyMemory(from: input.baseAddress!, byteCount: plain)
                memset(block.baseAddress! + plain, 0, bs - plain)
                try image.append(UnsafeRawBufferPointer(rebasing: block[0..<bs]))
                extents.append(.init(start: at, block: start, compressed: false))
                at += UInt64(plain)
            }
        }
        return extents
    }
}

/// A sliding window over one file: the bytes from `start`, read once each
/// (and fed to the digest as they are read), in order.
final class Window {
    private let buffer: UnsafeMutableRawBufferPointer
    private var start: UInt64 = 0
    private var count = 0

    init(capacity: Int) { buffer = .allocate(byteCount: capacity, alignment: 64) }

    func release() { buffer.deallocate() }

    func reset() {
        start = 0
        count = 0
    }

    /// `count` bytes from `offset`, which is at or after the last call's
    /// offset and no further than what was read.
    func bytes(of content: FileContent, at offset: UInt64, count n: Int,
               digest: inout ContentDigest) throws(EROFSError) -> UnsafeRawBufferPointer {
        if offset + UInt64(n) > start + UInt64(count) {
            let skip = Int(offset - start)
            let keep = count - skip
            if keep > 0 { memmove(buffer.baseAddress!, buffer.baseAddress! + skip, keep) }
            start = offset
            count = keep
            let want = Int(min(UInt64(buffer.count - count), content.size - (start + UInt64(count))))
            let fresh = UnsafeMutableRawBufferPointer(rebasing: buffer[count..<count + want])
            try content.read(into: fresh, at: start + UInt64(count))
            digest.update(UnsafeRawBufferPointer(fresh))
            count += want
        }
        let from = Int(offset - start)
        return UnsafeRawBufferPointer(rebasing: buffer[from..<from + n])
    }
}
