#if canImport(Glibc)
import Glibc
#endif
import SourceTree

/// Writes regular files' data, in inode order, and says where each went.
///
/// A file is compressed when that saves blocks over storing it flat:
/// flat, its full blocks go to the data area and its tail (size % 4096
/// bytes) inline after the inode when inode and tail fit one block, else
/// into a block of its own. Files under a block are never compressed (a
/// compressed file takes a whole block; inline, it takes none).
///
/// Files are read once, in order, on the calling thread (which feeds the
/// digest); their segments are compressed by `SegmentPipeline`'s workers
/// and written back in order by `retire`, which makes the choice above
/// once a file's last segment is in. A file that stays flat is written
/// from the segment still held, or, when it had several, read again.
final class FileDataWriter {
    struct Item {
        var file: File
        var name: String
    }

    private let image: ImageFile
    private let compression: Compression
    private let jobs: Int
    private let algorithm: UInt8
    private var items: [Item] = []
    private var plans: [DataPlan] = []
    /// The compressed file being retired: where it starts and its extents.
    private var start: UInt64 = 0
    private var extents: [LclusterIndex.Extent] = []

    init(image: ImageFile, compression: Compression, jobs: Int) {
        self.image = image
        self.compression = compression
        self.jobs = jobs
        algorithm = compression.algorithmNumber ?? 0
    }

    /// Writes `items`' data; returns their plans, in the same order.
    func write(_ items: [Item], digest: inout ContentDigest) throws(EROFSError) -> [DataPlan] {
        self.items = items
        plans = Array(repeating: .none, count: items.count)
        defer { self.items = [] }
        for k in items.indices where items[k].file.size == 0 { plans[k] = .flat(block: 0, inline: []) }
        if compression.algorithmNumber == nil {
            for (k, item) in items.enumerated() where item.file.size > 0 {
                let content = try FileContent(item.file, name: item.name)
                plans[k] = try FileDataWriter.writeFlat(content, inlined: FileDataWriter.inlines(item.file.size), to: image, digest: &digest)
                try content.checkEnd()
            }
            return plans
        }
        let pipeline = try SegmentPipeline(compression: compression, jobs: jobs) { [unowned self] (slot) throws(EROFSError) in
            try self.retire(slot)
        }
        for k in items.indices { try submit(k, to: pipeline, digest: &digest) }
        try pipeline.finish()
        return plans
    }

    /// Whether a file of `size` bytes keeps its tail inline (inode and
    /// tail in one block).
    static func inlines(_ size: UInt64) -> Bool {
        let inodeSize = size > UInt64(UInt32.max) ? ExtendedInode.size : CompactInode.size
        let tail = Int(size % UInt64(Geometry.blockSize))
        return tail > 0 && inodeSize + tail <= Geometry.blockSize
    }

    /// Blocks a file of `size` bytes takes flat.
    static func flatBlocks(_ size: UInt64) -> UInt64 {
        let tail = size % UInt64(Geometry.blockSize)
        return (size >> UInt64(Geometry.blockBits)) + (tail > 0 && !inlines(size) ? 1 : 0)
    }

    /// Reads item `k` into slots: its segments, or (under a block and not
    /// inline) its one block to be stored as read.
    private func submit(_ k: Int, to pipeline: SegmentPipeline, digest: inout ContentDigest) throws(EROFSError) {
        let size = items[k].file.size
        if size == 0 { return }
        let content = try FileContent(items[k].file, name: items[k].name)
        var offset: UInt64 = 0
        while offset < size {
            let slot = try pipeline.acquire()
            slot.length = Int(min(UInt64(Segment.size), size - offset))
            try content.read(into: UnsafeMutableRawBufferPointer(rebasing: slot.input[0..<slot.length]), at: offset)
            digest.update(slot.bytes)
            if size < UInt64(Geometry.blockSize) && FileDataWriter.inlines(size) {
                plans[k] = .flat(block: 0, inline: Array(slot.bytes))
                pipeline.release(slot)
                break
            }
            slot.file = k
            slot.offset = offset
            slot.compress = size >= UInt64(Geometry.blockSize)
            pipeline.submit(slot)
            offset += UInt64(slot.length)
        }
        try content.checkEnd()
    }

    /// Writes a finished slot at the image's end (called in submission
    /// order); after a file's last segment, decides how it is stored.
    private func retire(_ slot: SegmentPipeline.Slot) throws(EROFSError) {
        guard case .cut(let pieces) = slot.outcome else { return }
        let size = items[slot.file].file.size
        if !slot.compress {
            plans[slot.file] = try FileDataWriter.writeFlat(slot.bytes, inlined: false, to: image)
            return
        }
        if slot.offset == 0 {
            start = image.position
            extents = []
        }
        let first = image.block
        for (i, p) in pieces.enumerated() {
            extents.append(.init(start: slot.offset + UInt64(p.start), block: first + UInt32(i), compressed: p.compressed))
        }
        try image.append(UnsafeRawBufferPointer(rebasing: slot.output[0..<pieces.count * Geometry.blockSize]))
        guard slot.offset + UInt64(slot.length) == size else { return }
        if UInt64(extents.count) < FileDataWriter.flatBlocks(size) {
            let index = LclusterIndex.encode(extents: extents, size: size)
            plans[slot.file] = .compressed(blocks: UInt32(extents.count), index: index, algorithm: algorithm)
            return
        }
        image.rewind(to: start)
        if slot.offset == 0 {
            plans[slot.file] = try FileDataWriter.writeFlat(slot.bytes, inlined: FileDataWriter.inlines(size), to: image)
        } else {
            var unused = ContentDigest()
            let content = try FileContent(items[slot.file].file, name: items[slot.file].name)
            plans[slot.file] = try FileDataWriter.writeFlat(content, inlined: FileDataWriter.inlines(size), to: image, digest: &unused)
            try content.checkEnd()
        }
    }

    /// A whole file held in memory, flat: full blocks, then the tail
    /// inline or in a zero-padded block.
    private static func writeFlat(_ bytes: UnsafeRawBufferPointer, inlined: Bool, to image: ImageFile) throws(EROFSError) -> DataPlan {
        let full = bytes.count / Geometry.blockSize * Geometry.blockSize
        let first = full > 0 ? image.block : 0
        try image.append(UnsafeRawBufferPointer(rebasing: bytes[0..<full]))
        if inlined { return .flat(block: first, inline: Array(bytes[full...])) }
        let block = image.block
        try image.append(UnsafeRawBufferPointer(rebasing: bytes[full...]))
        try image.padToBlock()
        return .flat(block: full > 0 ? first : block, inline: [])
    }

    /// A file read in 1 MiB pieces, flat (any size: 4 GiB files too).
    private static func writeFlat(_ content: FileContent, inlined: Bool, to image: ImageFile,
                                  digest: inout ContentDigest) throws(EROFSError) -> DataPlan {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        let first = image.block
        let full = content.size / UInt64(Geometry.blockSize) * UInt64(Geometry.blockSize)
        var at: UInt64 = 0
        while at < content.size {
            let n = Int(min(UInt64(buffer.count), (at < full ? full : content.size) - at))
            let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
            try content.read(into: chunk, at: at)
            digest.update(UnsafeRawBufferPointer(chunk))
            at += UInt64(n)
            if at > full {
                if inlined { return .flat(block: full > 0 ? first : 0, inline: Array(chunk)) }
                try image.append(UnsafeRawBufferPointer(chunk))
                try image.padToBlock()
                break
            }
            try image.append(UnsafeRawBufferPointer(chunk))
        }
        return .flat(block: first, inline: [])
    }
}
