#if canImport(Glibc)
import Glibc
#endif
import SourceTree

/// Writes regular files' data, in inode order, and says where each went.
///
/// A file is compressed when that takes fewer bytes than storing it flat
/// (blocks, and what follows the inode: the map header, the index and an
/// inline tail pcluster against the inline tail): flat, its full blocks
/// go to the data area and its tail (size % 4096 bytes) inline after the
/// inode when inode and tail fit one block, else into a block of its own.
/// An inline tail is not kept: the metadata area's writer reads it again
/// from the source (a tree of small files would hold its whole data).
///
/// Files are read once, in order, on the calling thread (which feeds the
/// digest); their segments are compressed by `SegmentPipeline`'s workers
/// and written back in order by `retire`, which makes the choice above
/// once a file's last segment is in. A file that stays flat is written
/// from the segment still held, or, when it had several, read again.
/// A file whose bytes equal an earlier one's (`DuplicateFiles`) shares
/// its data (its plan); a segment whose bytes equal an earlier one's
/// (`SegmentDedupe`) shares its pclusters, and its file gets a full
/// index. With fragments, the small files and the tails are gathered into the packed inode (`FragmentPacker`), whose data comes
/// after every other file's and is always stored compressed (a PLAIN
/// extent takes no more blocks than flat data).
final class FileDataWriter {
    struct Item {
        /// Its file's number (the tree's files, in inode order), whose
        /// file and path `files` gives: a copy of the file here was 48
        /// bytes more a file, and rendering every path was a third of the
        /// work on a tree of small files (it is rendered for messages only).
        var number: Int
        var files: Files

        var file: File { files.file(number) }
        /// The file's path, rendered when called.
        var name: () -> String { { [files, number] in files.path(number) } }
    }

    /// The files to write, as items made when asked: an array of them
    /// was 16 bytes a file, held through the data pass.
    struct Items: RandomAccessCollection {
        let files: Files
        let count: Int
        var startIndex: Int { 0 }
        var endIndex: Int { count }
        subscript(k: Int) -> Item { Item(number: k, files: files) }

        /// No files, before `write` is given some.
        static let none = Items(files: Files(file: { preconditionFailure("no file \($0)") }, path: { "file \($0)" }), count: 0)
    }

    /// Gives a file's `File` and renders its path, by file number.
    final class Files {
        let file: (Int) -> File
        let path: (Int) -> String
        init(file: @escaping (Int) -> File, path: @escaping (Int) -> String) {
            self.file = file
            self.path = path
        }
    }

    private let image: ImageFile
    private let compression: Compression
    private let jobs: Int
    private let pclusterSize: Int
    /// Whether some file's last pcluster went inline (ztailpacking).
    private(set) var usedInlinePclusters = false
    /// Whether some extent names another segment's pclusters.
    private(set) var usedDedupe = false
    /// Cross-file segment sharing (nil: off); the segments of the file
    /// being retired that it knows as written; the writer's own encoder
    /// for a duplicate whose original went flat.
    private let dedupe: SegmentDedupe?
    private var fileOrdinals: [Int] = []
    /// Where files' segments end when dedupe is on (`SegmentPlan`).
    private var plan: SegmentPlan?
    private var ownExtents: Extents?
    private let algorithm: UInt8
    private var items = Items.none
    private var plans: [DataPlan] = []
    /// With fragments: the files stored whole in the packed inode, the
    /// files whose tail goes there (from where, and its `FragmentOrder`
    /// anchor, taken while the tail is in its segment), and the tails' bytes.
    private var wholeFragments: [Bool] = []
    private var tails: [(file: Int, start: UInt64, anchor: FragmentOrder.Anchor)] = []
    private var tailBytes: UInt64 = 0
    /// What the retired file's fragment tail is thought to take there
    /// (its compressed bytes).
    private var tailCost = 0
    /// The compressed file being retired: where it starts and its extents.
    private var start: UInt64 = 0
    private var extents: [LclusterIndex.Extent] = []

    /// Files under this many bytes go whole into the packed inode
    /// (`FragmentPacker`); 0: none do.
    private let fragmentLimit: UInt64
    /// The packed inode's data and length, when files went into it.
    private(set) var packed: (plan: DataPlan, size: UInt64)?

    init(image: ImageFile, compression: Compression, pclusterSize: Int, fragmentLimit: UInt64, dedupe: Bool, jobs: Int) {
        self.image = image
        self.dedupe = dedupe ? SegmentDedupe() : nil
        self.compression = compression
        self.pclusterSize = pclusterSize
        self.fragmentLimit = fragmentLimit
        self.jobs = jobs
        algorithm = compression.algorithmNumber ?? 0
    }

    /// Writes `items`' data; returns their plans, in the same order.
    func write(_ items: Items, digest: inout ContentDigest) throws(EROFSError) -> [DataPlan] {
        self.items = items
        plans = Array(repeating: .none, count: items.count)
        for k in items.indices where items[k].file.size == 0 { plans[k] = .flat(block: 0, inline: 0) }
        if compression.algorithmNumber == nil {
            for (k, item) in items.enumerated() where item.file.size > 0 {
                let content = try FileContent(item.file, name: item.name)
                plans[k] = try FileDataWriter.writeFlat(content, inlined: FileDataWriter.inlines(item.file.size), to: image, digest: &digest)
                try content.checkEnd()
            }
            return plans
        }
        let pipeline = try SegmentPipeline(compression: compression, pclusterSize: pclusterSize, jobs: jobs) { [unowned self] (slot) throws(EROFSError) in
            try self.retire(slot)
        }
        let packer = fragmentLimit > 0 ? FragmentPacker(pipeline: pipeline, owner: items.count, limit: fragmentLimit) : nil
        wholeFragments = Array(repeating: false, count: items.count)
        let twins = try DuplicateFiles.find(items) { packer?.takes($0) != true }
        if dedupe != nil {
            plan = try SegmentPlan(items, taken: { twins[$0] == nil && packer?.takes(items[$0].file.size) != true },
                                   aligned: pclusterSize < SegmentCut.unalignedPcluster)
        }
        for k in items.indices where twins[k] == nil {
            if packer?.takes(items[k].file.size) == true { wholeFragments[k] = true } else { try submit(k, to: pipeline, digest: &digest) }
        }
        if let packer {
            try pipeline.drain()
            try pack(into: packer, digest: &digest)
        }
        try pipeline.finish()
        for (k, j) in twins { plans[k] = plans[j] }
        return plans
    }

    /// Whether a file of `size` bytes keeps its tail inline (inode and
    /// tail in one block).
    static func inlines(_ size: UInt64) -> Bool {
        let inodeSize = size > UInt64(UInt32.max) ? ExtendedInode.size : CompactInode.size
        let tail = Int(size % UInt64(Geometry.blockSize))
        return tail > 0 && inodeSize + tail <= Geometry.blockSize
    }

    /// Bytes a file of `size` bytes takes flat: its blocks and its
    /// inline tail.
    static func flatCost(_ size: UInt64) -> UInt64 {
        let tail = size % UInt64(Geometry.blockSize)
        if tail == 0 { return size }
        return inlines(size) ? size : (size >> UInt64(Geometry.blockBits) + 1) << UInt64(Geometry.blockBits)
    }

    /// The second pass with fragments, once every other file is written:
    /// the tails (their offsets are u32s: `retire` keeps their sum under
    /// 4 GiB) and the whole files into the packed inode, in the order
    /// `FragmentOrder` gives them (from tails in inode order, then whole
    /// files in inode order); in that given order when they total more
    /// than 4 GiB, so that every tail lies within it.
    private func pack(into packer: FragmentPacker, digest: inout ContentDigest) throws(EROFSError) {
        var given = tails.map { FragmentOrder.Fragment(item: Int32($0.file), start: $0.start) }
        let anchors = tails.map(\.anchor)
        tails = []
        given.reserveCapacity(given.count + wholeFragments.lazy.filter { $0 }.count)
        for k in items.indices where wholeFragments[k] { given.append(.init(item: Int32(k), start: 0)) }
        let total = given.reduce(UInt64(0)) { $0 + items[Int($1.item)].file.size - $1.start }
        let (order, anchored) = total > UInt64(UInt32.max) ? (Array(0..<Int32(given.count)), [])
            : try FragmentOrder.arrange(given, anchors: anchors, of: items)
        packer.reserve(given.count)
        for i in order.lazy.map({ Int($0) }) {
            let f = given[i], k = Int(given[i].item)
            let offset = try packer.add(k, of: items, from: f.start, anchor: anchored.isEmpty ? nil : anchored[i], digest: &digest)
            guard f.start > 0 else {
                plans[k] = .fragment(offset: offset)
                continue
            }
            guard case .compressed(let blocks, var header, let index, let inline, let full) = plans[k] else { continue }
            header.fragmentOffset = UInt32(offset)
            plans[k] = .compressed(blocks: blocks, header: header, index: index, inline: inline, full: full)
        }
        packer.finish(digest: &digest)
    }

    /// Reads item `k` into slots: its segments, or (under a block and not
    /// inline) its one block to be stored as read. Its shared segments
    /// (`SegmentPlan`) take part in dedupe; the others chain (`Segment`).
    private func submit(_ k: Int, to pipeline: SegmentPipeline, digest: inout ContentDigest) throws(EROFSError) {
        let size = items[k].file.size
        if size == 0 { return }
        let content = try FileContent(items[k].file, name: items[k].name)
        let cuts = plan?.segments(k)
        let shared = { (i: Int) in cuts.map { i < $0.count && $0[i].shared } ?? false }
        var offset: UInt64 = 0
        var next = 0
        while offset < size {
            let slot = try pipeline.acquire()
            let read = cuts.map { $0[next].length } ?? Int(min(UInt64(Segment.size), size - offset))
            slot.length = read
            try content.read(into: UnsafeMutableRawBufferPointer(rebasing: slot.input[0..<read]), at: offset)
            digest.update(slot.bytes)
            slot.file = k
            slot.offset = offset
            slot.fileEnd = offset + UInt64(slot.length) == size
            slot.chainsOut = !slot.fileEnd && !slot.openEnd && !shared(next) && !shared(next + 1)
            if !slot.fileEnd, shared(next), let dedupe {
                (slot.ordinal, slot.original) = try dedupe.register(slot.bytes, openEnd: slot.openEnd, item: k, offset: offset, of: items)
            }
            next += 1
            pipeline.submit(slot)
            offset += UInt64(slot.length)
        }
        try content.checkEnd()
    }

    /// Writes a finished slot at the image's end (called in submission
    /// order); after a file's last segment, decides how it is stored.
    private func retire(_ slot: SegmentPipeline.Slot) throws(EROFSError) {
        guard case .cut(var pieces, _) = slot.outcome else { return }
        let isPacked = slot.file == items.count
        // The file's size, once its last segment is in.
        let size = slot.offset + UInt64(slot.length)
        if slot.offset == 0 {
            start = image.position
            extents = []
            fileOrdinals = []
        }
        if let original = slot.original {
            if let place = dedupe?.placement(original) {
                for p in place.pieces {
                    extents.append(.init(start: slot.start + UInt64(p.start), block: place.block + UInt32(p.block),
                                         blocks: UInt32(p.blocks), compressed: p.compressed))
                }
                usedDedupe = true
                return
            }
            pieces = try cutHere(slot)
        }
        var tailStart: UInt64? = nil
        if slot.fileEnd, !isPacked, fragmentLimit > 0, tailBytes <= UInt64(UInt32.max), let f = fragmentTail(pieces, slot: slot) {
            tailStart = slot.start + UInt64(pieces[f].start)
            let estimate = pieces[f...].reduce(0) { $0 + ($1.compressed ? $1.compressedSize : Geometry.blockSize) }
            if tailStart! < UInt64(Geometry.blockSize) {
                dedupe?.forget(fileOrdinals)
                image.rewind(to: start)
                wholeFragments[slot.file] = true
                return
            }
            pieces.removeSubrange(f...)
            tailCost = estimate
        }
        let first = image.block
        for p in pieces {
            extents.append(.init(start: slot.start + UInt64(p.start), block: first + UInt32(p.block),
                                 blocks: UInt32(p.blocks), compressed: p.compressed))
        }
        let isLast = slot.fileEnd
        let tail = isLast && tailStart == nil ? inlineTail(pieces, slot: slot, size: size) : []
        let blocks = pieces.last.map { tail.isEmpty ? $0.block + $0.blocks : $0.block } ?? 0
        try image.append(UnsafeRawBufferPointer(rebasing: slot.output[0..<blocks * Geometry.blockSize]))
        if slot.ordinal >= 0, !isLast {
            dedupe?.place(slot.ordinal, block: first, pieces: pieces)
            fileOrdinals.append(slot.ordinal)
        }
        guard isLast else { return }
        try settle(slot, size: size, tail: tail, fragmentTail: tailStart)
    }

    /// The first of a file's last extents that may go to the packed
    /// inode as its tail: those cut from the rest after the first encoding
    /// that took all of it (`Extents.Piece.inLast`), when that rest is at
    /// most `Segment.size` bytes (a chain may carry more into the last
    /// segment), and the file too when the rest starts in its first block
    /// (it then goes whole).
    private func fragmentTail(_ pieces: [Extents.Piece], slot: SegmentPipeline.Slot) -> Int? {
        guard let f = pieces.firstIndex(where: { $0.inLast }) else { return nil }
        let from = slot.start + UInt64(pieces[f].start), size = slot.offset + UInt64(slot.length)
        let most = UInt64(Segment.size)
        return size - from <= most && (from >= UInt64(Geometry.blockSize) || size <= most) ? f : nil
    }

    /// Chooses, for a file whose last segment is written, between its
    /// compressed form (with an inline tail or a tail in the packed inode)
    /// and flat storage, by the bytes each takes.
    private func settle(_ slot: SegmentPipeline.Slot, size: UInt64, tail: [UInt8], fragmentTail: UInt64?) throws(EROFSError) {
        let isPacked = slot.file == items.count
        let stored = UInt32((image.position - start) >> UInt64(Geometry.blockBits))
        if let fragmentTail { extents.append(.init(start: fragmentTail, block: image.block, blocks: 1, compressed: true)) }
        let plan = compressedPlan(blocks: stored, size: size, tail: tail, fragment: fragmentTail != nil)
        let cost = UInt64(stored) * UInt64(Geometry.blockSize) + UInt64(plan.trailerSize) + UInt64(fragmentTail == nil ? 0 : tailCost)
        if isPacked || cost < FileDataWriter.flatCost(size) {
            if !tail.isEmpty { usedInlinePclusters = true }
            if isPacked { packed = (plan, size) } else { plans[slot.file] = plan }
            if let fragmentTail {
                let bytes = UnsafeRawBufferPointer(rebasing: slot.work[Int(fragmentTail - slot.start)...])
                tails.append((slot.file, fragmentTail, FragmentOrder.anchor(bytes)))
                tailBytes += size - fragmentTail
            }
            return
        }
        dedupe?.forget(fileOrdinals)
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

    /// The last extent's pcluster, when it fits after the inode, its map
    /// header and index in one block (ztailpacking): its compressed bytes,
    /// or, for a PLAIN one, the bytes themselves; else empty.
    private func inlineTail(_ pieces: [Extents.Piece], slot: SegmentPipeline.Slot, size: UInt64) -> [UInt8] {
        guard let p = pieces.last else { return [] }
        let inodeSize = size > UInt64(UInt32.max) ? ExtendedInode.size : CompactInode.size
        let length = p.compressed ? p.compressedSize : slot.carry + slot.length - p.start
        let lclusters = Int(Geometry.blocks(size))
        let index = scattered ? FullIndex.byteCount(lclusters) : CompactIndex.byteCount(lclusters)
        let record = inodeSize + MapHeader.size + index + length
        guard record <= Geometry.blockSize else { return [] }
        let from = p.compressed ? (p.block + p.blocks) * Geometry.blockSize - length : p.block * Geometry.blockSize
        return Array(slot.output[from..<from + length])
    }

    /// The map header and index of the retired file: compact when its
    /// pclusters lie in consecutive blocks, else full (`FullIndex`).
    private func compressedPlan(blocks: UInt32, size: UInt64, tail: [UInt8], fragment: Bool) -> DataPlan {
        let big = pclusterSize > Geometry.blockSize
        let full = scattered
        var advice: MapHeader.Advice = full ? [] : [.compacted2B]
        if big { advice.insert(.bigPcluster) }
        if !tail.isEmpty { advice.insert(.inlinePcluster) }
        if fragment { advice.insert(.fragment) }
        let header = MapHeader(algorithm: algorithm, advice: advice, inlineSize: UInt16(tail.count))
        var given = extents
        if full, fragment { given[given.count - 1].block = 0 }
        let entries = LclusterIndex.entries(extents: given, size: size, big: big)
        let index = full ? FullIndex.encode(entries) : CompactIndex.encode(entries, big: big)
        return .compressed(blocks: blocks, header: header, index: index, inline: tail, full: full)
    }

    /// Whether the retired file's pclusters are not in consecutive blocks.
    private var scattered: Bool {
        zip(extents, extents.dropFirst()).contains { $1.block != $0.block + $0.blocks }
    }

    /// Compresses a duplicate segment whose original's blocks went back
    /// (its file was stored flat) on this thread, as a worker would have.
    private func cutHere(_ slot: SegmentPipeline.Slot) throws(EROFSError) -> [Extents.Piece] {
        if ownExtents == nil, let encoder = try makeEncoder(compression, pclusterSize: pclusterSize) {
            ownExtents = Extents(encoder: encoder, pclusterSize: pclusterSize)
        }
        return try ownExtents!.cut(slot.bytes, into: slot.output, fileEnd: slot.fileEnd, openEnd: slot.openEnd).pieces
    }

    /// A whole file held in memory, flat: full blocks, then the tail
    /// inline (only its length is kept: `DataPlan.flat`) or in a
    /// zero-padded block.
    private static func writeFlat(_ bytes: UnsafeRawBufferPointer, inlined: Bool, to image: ImageFile) throws(EROFSError) -> DataPlan {
        let full = bytes.count / Geometry.blockSize * Geometry.blockSize
        let first = full > 0 ? image.block : 0
        try image.append(UnsafeRawBufferPointer(rebasing: bytes[0..<full]))
        if inlined { return .flat(block: first, inline: UInt16(bytes.count - full)) }
        let block = image.block
        try image.append(UnsafeRawBufferPointer(rebasing: bytes[full...]))
        try image.padToBlock()
        return .flat(block: full > 0 ? first : block, inline: 0)
    }

    /// A file read in 1 MiB pieces, flat (any size: 4 GiB files too); an
    /// inline tail is read here for the digest only (`DataPlan.flat`).
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
                if inlined { return .flat(block: full > 0 ? first : 0, inline: UInt16(n)) }
                try image.append(UnsafeRawBufferPointer(chunk))
                try image.padToBlock()
                break
            }
            try image.append(UnsafeRawBufferPointer(chunk))
        }
        return .flat(block: first, inline: 0)
    }
}
