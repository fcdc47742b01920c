#if canImport(Glibc)
import Glibc
#endif
import SourceTree
import SystemIO

/// Writes `root` as an erofs image into `fd`, an empty regular file the
/// caller opened for writing (and publishes when this returns), from byte
/// `offset` of it (a disk image's partition; the file ends with the image).
///
/// The image is a function of the tree and `options` alone: inodes in
/// breadth-first order of the bytewise-sorted tree, owner 0:0, every time
/// `options.mtime`, hard links never shared, and the UUID derived from
/// the content. Layout: block 0 (the superblock at byte 1024), the packed
/// inode's data (small files, `FragmentPacker`), the other files' data in
/// inode order, the directories' and symlinks' blocks, then the
/// metadata area (inodes with their inline data or indexes).
public func writeEROFSImage(root: consuming Directory, to fd: Int32, offset: UInt64 = 0,
                            options: EROFSOptions) throws(EROFSError) -> EROFSStats {
    var writer = try EROFSWriter(root: root, image: ImageFile(fd: fd, base: offset), options: options)
    return try writer.write()
}

struct EROFSWriter {
    private var tree: Tree
    private let image: ImageFile
    private let options: EROFSOptions
    /// The regular files' plans, by file number (`Tree.files`).
    private var filePlans: [DataPlan] = []
    /// The first data block of each directory and symlink (0 for others
    /// and for data that is all inline), by inode.
    private var blocks: [UInt32]
    private var sizes: [UInt64]
    private var nids: [UInt64]
    private var digest = ContentDigest()
    private var features: IncompatibleFeatures = [.zeroPadding]
    /// The packed inode's data, length and nid, when it has any.
    private var packed: (plan: DataPlan, size: UInt64)?
    private var packedNid: UInt64 = 0

    init(root: consuming Directory, image: ImageFile, options: EROFSOptions) throws(EROFSError) {
        tree = try Tree(root: root)
        // The scanned tree's entries and names are free now, scattered
        // between what lives on (nothing of it: the tree keeps its names in
        // one buffer); given back, they do not add to the data pass's peak.
        Posix.releaseFreeMemory()
        self.image = image
        self.options = options
        // Made once the data pass is done (`layOut`), not held through it.
        (blocks, sizes, nids) = ([], [], [])
    }

    mutating func write() throws(EROFSError) -> EROFSStats {
        try image.append([UInt8](repeating: 0, count: Geometry.blockSize))
        try writeFiles()
        let areaSize = layOut()
        try writeDirectoriesAndLinks()
        try image.padToBlock()
        let metaBlock = image.block
        try writeMetadata(size: areaSize)
        try image.finish()
        try writeSuperblock(metaBlock: metaBlock)
        return EROFSStats(imageSize: image.position, inodeCount: tree.inodes.count)
    }

    private mutating func writeFiles() throws(EROFSError) {
        let files = FileDataWriter.Files(file: { [tree] in tree.files[$0] }, path: { [tree] in tree.sourcePath(ofFile: $0) })
        let items = FileDataWriter.Items(files: files, count: tree.files.count)
        let limit = options.fragments && options.compression.algorithmNumber != nil ? UInt64(options.pclusterSize) : 0
        let writer = FileDataWriter(image: image, compression: options.compression, pclusterSize: options.pclusterSize,
                                    fragmentLimit: limit, dedupe: options.dedupe, jobs: options.jobs)
        // Kept by file number, as the file writer made them: a copy by
        // inode was a second array of them at the data pass's end.
        filePlans = try writer.write(items, digest: &digest)
        if writer.usedInlinePclusters { features.insert(.ztailpacking) }
        packed = writer.packed
        if packed != nil || writer.usedDedupe { features.insert(.fragments) }
    }

    /// A directory's entries with "." and ".." in their sorted places.
    private func items(of d: Int) -> [(name: ArraySlice<UInt8>, inode: Int)] {
        let node = tree.inodes[d]
        var list = node.children.map { (tree.name(of: $0), $0) }
        for dot in [(ArraySlice([UInt8(ascii: ".")]), d), (ArraySlice([UInt8(ascii: "."), UInt8(ascii: ".")]), Int(node.parent))] {
            let at = list.firstIndex { !$0.0.lexicographicallyPrecedes(dot.0) } ?? list.count
            list.insert(dot, at: at)
        }
        return list
    }

    /// Where inode `i`'s data went: a file's plan, a directory's or
    /// symlink's blocks and inline tail (as `writeDirectoriesAndLinks`
    /// stores them, from the size `layOut` gave).
    private func plan(of i: Int) -> DataPlan {
        switch tree.inodes[i].payload {
        case .file(let k):
            return filePlans[Int(k)]
        case .directory, .target:
            let inlined = EROFSWriter.inlines(size: sizes[i], inodeSize: EROFSWriter.inodeSize(size: sizes[i], nlink: tree.inodes[i].nlink))
            return .flat(block: blocks[i], inline: inlined ? UInt16(sizes[i] % UInt64(Geometry.blockSize)) : 0)
        case .none, .device:
            return .none
        }
    }

    private static func inodeSize(size: UInt64, nlink: UInt32) -> Int {
        InodeRecord(layout: .flatPlain, mode: 0, nlink: nlink, size: size, union: 0, ino: 0).encodedSize
    }

    /// Whether data of `size` bytes keeps its tail inline after an inode
    /// of `inodeSize` (both in one block).
    private static func inlines(size: UInt64, inodeSize: Int) -> Bool {
        let tail = Int(size % UInt64(Geometry.blockSize))
        return tail > 0 && inodeSize + tail <= Geometry.blockSize
    }

    /// Gives every inode its nid; returns the metadata area's size.
    private mutating func layOut() -> Int {
        var area = MetadataArea()
        blocks = Array(repeating: 0, count: tree.inodes.count)
        sizes = Array(repeating: 0, count: tree.inodes.count)
        nids = Array(repeating: 0, count: tree.inodes.count)
        for i in tree.inodes.indices {
            let node = tree.inodes[i]
            switch node.payload {
            case .file(let k): sizes[i] = tree.files[Int(k)].size
            case .target(let t): sizes[i] = UInt64(tree.targets[Int(t)].count)
            case .directory: sizes[i] = DirectoryBlocks(nameLengths: items(of: i).map { $0.name.count }).size
            default: break
            }
            let isize = EROFSWriter.inodeSize(size: sizes[i], nlink: node.nlink)
            let offset = area.place(size: isize + plan(of: i).trailerSize)
            nids[i] = UInt64(offset / Geometry.slotSize)
        }
        if let packed {
            let isize = EROFSWriter.inodeSize(size: packed.size, nlink: 1)
            packedNid = UInt64(area.place(size: isize + packed.plan.trailerSize) / Geometry.slotSize)
        }
        return area.size
    }

    /// Directory and symlink data: full blocks to the data area, the tail
    /// inline where `layOut` left room for it (written with the record).
    private mutating func writeDirectoriesAndLinks() throws(EROFSError) {
        for i in tree.inodes.indices {
            let node = tree.inodes[i]
            let bytes: [UInt8]
            switch node.payload {
            case .target(let t): bytes = tree.targets[Int(t)]
            case .directory: bytes = directoryBytes(i)
            default: continue
            }
            bytes.withUnsafeBytes { digest.update($0) }
            let isize = EROFSWriter.inodeSize(size: sizes[i], nlink: node.nlink)
            let full = EROFSWriter.inlines(size: sizes[i], inodeSize: isize) ? bytes.count / Geometry.blockSize * Geometry.blockSize : bytes.count
            let first = full > 0 ? image.block : 0
            try image.append(Array(bytes[0..<full]))
            try image.padToBlock()
            blocks[i] = first
        }
    }

    /// A directory's blocks (its entries name the nids `layOut` gave).
    private func directoryBytes(_ d: Int) -> [UInt8] {
        let list = items(of: d)
        let blocks = DirectoryBlocks(nameLengths: list.map { $0.name.count })
        return blocks.encode(list.map { .init(name: $0.name, nid: nids[$0.inode], type: tree.inodes[$0.inode].type) })
    }

    /// Writes the metadata area at the image's end in pieces of about
    /// `metadataPiece` bytes (whole blocks), its records in nid order, so
    /// that it is never whole in memory; the digest sees the same bytes
    /// in the same order as if it were. Record `tree.inodes.count` is the
    /// packed inode.
    private mutating func writeMetadata(size: Int) throws(EROFSError) {
        var order = Array(tree.inodes.indices)
        if packed != nil { order.append(tree.inodes.count) }
        order.sort { nid(of: $0) < nid(of: $1) }
        var pending: [UInt8] = [], start = 0  // pending[0] is at `start` of the area
        for r in order {
            var at = Int(nid(of: r)) * Geometry.slotSize - start
            if pending.count >= EROFSWriter.metadataPiece, at >= pending.count {
                try flush(&pending, start: &start)
                at = Int(nid(of: r)) * Geometry.slotSize - start
            }
            let bytes = try record(r)
            let end = (at + bytes.count + Geometry.blockSize - 1) / Geometry.blockSize * Geometry.blockSize
            if end > pending.count { pending.append(contentsOf: repeatElement(0, count: end - pending.count)) }
            pending.replaceSubrange(at..<at + bytes.count, with: bytes)
        }
        try flush(&pending, start: &start)
        precondition(start == size, "the metadata area's records do not fill it")
    }
    /// About how much of the metadata area is held before it is written.
    private static let metadataPiece = 1 << 18

    private func nid(of r: Int) -> UInt64 { r == tree.inodes.count ? packedNid : nids[r] }

    /// Appends `pending` (whole blocks) to the image and the digest.
    private mutating func flush(_ pending: inout [UInt8], start: inout Int) throws(EROFSError) {
        pending.withUnsafeBytes { digest.update($0) }
        try image.append(pending)
        start += pending.count
        pending.removeAll(keepingCapacity: true)
    }

    /// Record `r`'s bytes: its inode, then what follows it.
    private func record(_ r: Int) throws(EROFSError) -> [UInt8] {
        if r == tree.inodes.count, let packed {
            let record = InodeRecord(layout: packed.plan.layout, mode: FragmentPacker.mode, nlink: 1, size: packed.size,
                                     union: packed.plan.union, ino: UInt32(truncatingIfNeeded: tree.inodes.count + 1))
            return record.encode(mtime: options.mtime) + packed.plan.trailer
        }
        let node = tree.inodes[r]
        let plan = plan(of: r)
        var union = plan.union
        if case .device(let rdev) = node.payload { union = rdev }
        let record = InodeRecord(layout: plan.layout, mode: node.mode, nlink: node.nlink, size: sizes[r],
                                 union: union, ino: UInt32(truncatingIfNeeded: r + 1))
        if case .flat(_, let inline) = plan, inline > 0 {
            return record.encode(mtime: options.mtime) + (try inlineTail(of: r, length: Int(inline)))
        }
        return record.encode(mtime: options.mtime) + plan.trailer
    }

    /// The last `length` bytes of inode `i`'s data, its inline tail,
    /// fetched again: a file's read from its source (which must still be
    /// the file scanned, of the size scanned), a directory's encoded
    /// again, a link target's taken from the tree.
    private func inlineTail(of i: Int, length: Int) throws(EROFSError) -> [UInt8] {
        switch tree.inodes[i].payload {
        case .file(let k):
            let f = tree.files[Int(k)]
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 8)
            defer { buffer.deallocate() }
            let content = try FileContent(f, name: { [tree] in tree.sourcePath(of: i) })
            try content.read(into: buffer, at: f.size - UInt64(length))
            try content.checkEnd()
            return Array(buffer)
        case .target(let t):
            return Array(tree.targets[Int(t)].suffix(length))
        case .directory:
            return Array(directoryBytes(i).suffix(length))
        case .none, .device:
            return []
        }
    }

    /// The algorithm's configuration record, when the image needs one
    /// (lzma, deflate and zstd always; lz4 with pclusters of more than one
    /// block).
    private func compressionConfig() throws(EROFSError) -> [UInt8]? {
        switch options.compression.algorithm {
        case .lzma(let level, let dict):
            return CompressionConfig.lzma(dictionarySize: try LZMAClusterEncoder(level: level, dictionarySize: dict).dictionarySize)
        case .lz4, .lz4hc:
            guard options.pclusterSize > Geometry.blockSize else { return nil }
            return CompressionConfig.lz4(maxPclusterBlocks: UInt16(options.pclusterSize / Geometry.blockSize))
        case .deflate:
            return DeflateConfig().encode()
        case .zstd:
            return ZstdConfig(pclusterSize: options.pclusterSize).encode()
        case .none:
            return nil
        }
    }

    private mutating func writeSuperblock(metaBlock: UInt32) throws(EROFSError) {
        var field: UInt16 = 0
        var head = [UInt8](repeating: 0, count: Geometry.blockSize - Geometry.superblockOffset)
        if let config = try compressionConfig(), let number = options.compression.algorithmNumber {
            features.insert([.compressionConfigs, .bigPcluster])
            field = 1 << UInt16(number)
            head.replaceSubrange(Superblock.size..<Superblock.size + config.count, with: config)
        }
        Array("\(options.compression) \(options.pclusterSize)".utf8).withUnsafeBytes { digest.update($0) }
        var sb = Superblock(rootNid: UInt16(nids[0]), inodeCount: UInt64(tree.inodes.count + (packed == nil ? 0 : 1)), buildTime: options.mtime,
                            blocks: UInt32(image.position >> UInt64(Geometry.blockBits)), metaBlockAddress: metaBlock,
                            uuid: digest.uuid, incompatible: features, compressionField: field)
        sb.packedNid = packedNid
        head.replaceSubrange(0..<Superblock.size, with: sb.encode())
        try image.write(head, at: UInt64(Geometry.superblockOffset))
    }
}
