#if canImport(Glibc)
import Glibc
import SystemIO
#endif

/// Writes `root` as a squashfs 4.0 image into `file`, an open descriptor
/// (from `imageOffset` of `observer` on), and syncs it; `path` names it in
/// messages.
///
/// The image is a function of the tree and the options alone: entries are
/// sorted bytewise, inode numbers follow that order, files' full blocks are
/// laid out in that order and their tails packed into fragment blocks in
/// similarity order (see `DataWriter`, `TailOrder`), every owner is 0:0 and every time
/// is `options.mtime`.
/// Thread count and timing change nothing. Naming the file, once complete,
/// is the caller's (see `ImageSink`).
/// `root` is consumed: once flattened, the caller's tree is released, so
/// pass it with `consume` to keep peak memory at one copy of the metadata.
/// `observer`, if given, sees every byte as it is written.
public func writeImage(root: consuming Directory, to file: Int32, path: String, options: ImageOptions,
                       observer: (any OutputObserver)? = nil) throws(SquashFSError) -> ImageStats {
    try ImageWriter(options: options).write(root: consume root, to: ImageSink(file: file, path: path, imageOffset: observer?.imageOffset ?? 0), observer: observer)
}

struct ImageWriter {
    let options: ImageOptions

    init(options: ImageOptions) throws(SquashFSError) {
        let bs = options.blockSize
        guard bs >= 4096 && bs <= 1 << 20 && bs & (bs - 1) == 0 else {
            throw SquashFSError("block size \(bs): must be a power of two from 4096 (4K) to 1048576 (1M)")
        }
        self.options = options
    }

    /// The phases in order; each writes its part of the image after the
    /// previous one's.
    func write(root: consuming Directory, to output: ImageSink, observer: (any OutputObserver)? = nil) throws(SquashFSError) -> ImageStats {
        var tree = try FlatTree(root: consume root)
        // The scanned tree's arrays and names are free now, scattered
        // between what lives on; given back, they do not add to the data
        // phase's peak.
        Posix.releaseFreeMemory()
        Trace.mark("tree flattened: \(tree.nodes.count) entries")
        output.observer = observer
        let compressor = options.adaptive ? options.compressor.adaptedToContent() : options.compressor
        let flags = try writeHead(compressor: compressor, to: output)
        let makeWorker = { compressor.makeMetadataWorker() }
        // The inode and directory tables are laid out, and their blocks
        // compressed, while the last fragment blocks wait for a worker and
        // compress: they need every file's layout, not the fragments'
        // places. Both are written after the data, so the bytes and their
        // order are as before.
        var laidOut: MetadataCompressor?
        var refs: [UInt64] = []
        let data = try writeData(of: &tree, compressor: compressor, to: output) { (tree: inout FlatTree, data: DataWriter) throws(SquashFSError) in
            guard let metadata = Self.metadataBesideData(data, makeWorker: makeWorker) else { return }
            tree.numberInodes()
            refs = try layOutMetadata(of: tree, data: data, into: metadata, besideData: true)
            laidOut = metadata
        }
        let metadata: MetadataCompressor
        if let m = laidOut {
            metadata = m
            laidOut = nil
        } else {
            tree.numberInodes()
            metadata = try MetadataCompressor(tables: 2, jobs: data.threadCount, makeWorker: makeWorker)
            refs = try layOutMetadata(of: tree, data: data, into: metadata, besideData: false)
        }
        let starts = try writeTables(metadata, refs: &refs, tree: tree, fragments: data.fragments,
                                     jobs: data.threadCount, makeWorker: makeWorker, to: output)
        let bytesUsed = output.position
        let pad = Int((4096 - bytesUsed % 4096) % 4096)
        try output.write([UInt8](repeating: 0, count: pad))
        let sb = Superblock(
            inodeCount: UInt32(tree.nodes.count), modificationTime: options.mtime, blockSize: UInt32(options.blockSize),
            fragmentCount: UInt32(data.fragments.count), compressor: compressor.id, flags: flags,
            idCount: starts.idCount, rootInode: refs[0], bytesUsed: bytesUsed,
            idTableStart: starts.ids, inodeTableStart: starts.inodes,
            directoryTableStart: starts.directories, fragmentTableStart: starts.fragments,
            exportTableStart: starts.export)
        try output.write(sb.encode(), at: 0)
        try output.finish()
        return ImageStats(bytesUsed: bytesUsed, imageSize: bytesUsed + UInt64(pad),
                          inodeCount: tree.nodes.count)
    }

    /// Superblock placeholder (written last, at 0), then the compressor's
    /// options block if it has options. Returns the superblock's flags.
    private func writeHead(compressor: any Compressor, to output: ImageSink) throws(SquashFSError) -> Superblock.Flags {
        try output.write([UInt8](repeating: 0, count: Superblock.size))
        var flags: Superblock.Flags = [.duplicates, .exportable, .noXattrs, .alwaysFragments]
        if let opts = compressor.options {
            flags.insert(.compressorOptions)
            var b = ByteBuffer()
            b.u16(UInt16(opts.count) | 0x8000)
            b.append(opts)
            try output.write(b.bytes)
        }
        return flags
    }

    /// The metadata compressor for the drain, when the system leaves room
    /// for its threads beside the data's: every data thread asked for
    /// started, an address-space limit (if any) fits as many more, and at
    /// least one starts. Else nil, and the tables are laid out after the
    /// data instead, when the data's threads are gone: the same bytes.
    private static func metadataBesideData(_ data: DataWriter, makeWorker: () -> any CompressorWorker) -> MetadataCompressor? {
        let jobs = data.threadCount
        guard data.refused == nil,
              Posix.threadsWithinAddressSpace(jobs, perThread: Posix.threadOverhead, fixed: 0) == jobs else { return nil }
        return try? MetadataCompressor(tables: 2, jobs: jobs, makeWorker: makeWorker)
    }

    /// The data area (see `DataWriter`); then the tree's file sources are
    /// dropped. The writer returned holds each file's layout.
    /// `whileDraining` is `DataWriter.run`'s: every layout is known there.
    private func writeData(of tree: inout FlatTree, compressor: any Compressor, to output: ImageSink,
                           whileDraining: (inout FlatTree, DataWriter) throws(SquashFSError) -> Void) throws(SquashFSError) -> DataWriter {
        let data = try DataWriter(fileCount: tree.files.count, blockSize: options.blockSize,
                                  compressor: compressor, jobs: max(1, options.jobs), output: output)
        // The system may give fewer threads than asked (a process or cgroup
        // limit): carry on with those, which changes the speed, not a byte.
        if let refused = data.refused {
            let limit = refused.code == ENOMEM ? "memory (ulimit -v, the cgroup's memory.max) is short" : "the limit on threads (ulimit -u, pids.max) or on memory for their stacks (ulimit -v) is reached"
            options.notice?("started \(data.threadCount) of \(options.jobs) compression threads (\(refused)): \(limit); continuing with \(data.threadCount)")
        }
        do {
            let progress = options.progress
            try data.run(tree, progress: progress.map { p in { p.update(done: $0.done, total: $0.total) } },
                         whileDraining: { () throws(SquashFSError) in try whileDraining(&tree, data) })
            progress?.finish()
        }
        tree.releaseFiles()
        // The compressors' work areas, freed in their threads' arenas.
        Posix.releaseFreeMemory()
        Trace.mark("data written")
        return data
    }

    /// Inodes and listings in post-order, so every listing is laid out
    /// after its children's inodes and before its own inode. Returns each
    /// node's inode reference, a layout reference until the tables are
    /// compressed. Blocks compress on the metadata threads as they are cut.
    /// `besideData`: the last data blocks still compress; the ones done are
    /// written now and then, so their memory is free for the layout's.
    private func layOutMetadata(of tree: FlatTree, data: DataWriter, into metadata: MetadataCompressor,
                                besideData: Bool) throws(SquashFSError) -> [UInt64] {
        let layouts = data.storedLayouts()
        var inodes = InodeTable(mtime: options.mtime, into: metadata)
        var directories = DirectoryTable(into: metadata)
        var refs = [UInt64](repeating: 0, count: tree.nodes.count)
        var types = [InodeType](repeating: .directory, count: tree.nodes.count)
        for i32 in tree.postOrder {
            let i = Int(i32)
            // Two statements: the arrays are only read until the call ends,
            // so writing them after copies nothing.
            let (ref, type) = inode(of: i, tree: tree, data: layouts, refs: refs, types: types,
                                    inodes: &inodes, directories: &directories)
            refs[i] = ref
            types[i] = type
            if besideData && i32 & 0xfff == 0 { try data.writeFinishedBlocks() }
        }
        types = []
        inodes.close()
        directories.close()
        Trace.mark("metadata laid out: \(inodes.stream.count) inode, \(directories.stream.count) directory bytes")
        return refs
    }

    /// Lays out node `i`'s inode (and, for a directory, its listing, whose
    /// children `refs` and `types` already hold): its reference and type.
    private func inode(of i: Int, tree: FlatTree, data: StoredLayouts, refs: [UInt64], types: [InodeType],
                       inodes: inout InodeTable, directories: inout DirectoryTable) -> (UInt64, InodeType) {
        let node = tree.nodes[i]
        let number = tree.inodeNumber[i]
        switch node.kind {
        case .directory(let children):
            var subdirs = 0
            let listing = children.map { c in
                let c = Int(c)
                if types[c] == .directory { subdirs += 1 }
                return DirectoryChild(name: Array(tree.name(of: c)), inodeRef: refs[c],
                                      inodeNumber: tree.inodeNumber[c], type: types[c])
            }
            let place = directories.add(listing)
            let parent = node.parent >= 0 ? tree.inodeNumber[Int(node.parent)] : UInt32(tree.nodes.count) + 1
            return (inodes.addDirectory(
                mode: node.mode, number: number, linkCount: 2 + UInt32(subdirs),
                listingSize: place.listingSize, block: place.block,
                blockOffset: place.blockOffset, parent: parent, index: place.index), .directory)
        case .file(let f):
            let stored = data.layout(of: f), l = stored.layout
            return (inodes.addFile(
                mode: node.mode, number: number, size: l.size,
                blocksStart: l.blocksStart, blockSizes: Array(stored.blockSizes),
                fragment: l.fragment, fragmentOffset: l.fragmentOffset, sparseBytes: stored.sparseBytes(blockSize: options.blockSize)), .file)
        case .symlink(let target):
            return (inodes.addSymlink(mode: node.mode, number: number, target: target), .symlink)
        case .fifo:
            return (inodes.addIPC(.fifo, mode: node.mode, number: number), .fifo)
        case .socket:
            return (inodes.addIPC(.socket, mode: node.mode, number: number), .socket)
        case .characterDevice(let major, let minor):
            return (inodes.addDevice(.characterDevice, mode: node.mode, number: number, major: major, minor: minor), .characterDevice)
        case .blockDevice(let major, let minor):
            return (inodes.addDevice(.blockDevice, mode: node.mode, number: number, major: major, minor: minor), .blockDevice)
        }
    }

    /// Where each table starts, for the superblock.
    private struct TableStarts {
        var inodes: UInt64, directories: UInt64, fragments: UInt64, export: UInt64, ids: UInt64
        var idCount: UInt16
    }

    /// The tables, in mksquashfs's order: inodes, directories, fragments,
    /// export, ids. `refs` become real inode references once the inode
    /// table is compressed. Each table is dropped once written.
    private func writeTables(_ metadata: MetadataCompressor, refs: inout [UInt64], tree: FlatTree,
                             fragments: FragmentTable, jobs: Int, makeWorker: () -> any CompressorWorker,
                             to output: ImageSink) throws(SquashFSError) -> TableStarts {
        var tables = try metadata.finish()
        Trace.mark("inode and directory tables compressed")
        let inodesAt = MetadataTable.inodes.rawValue, directoriesAt = MetadataTable.directories.rawValue
        let inodeTableStart = output.position
        try tables[inodesAt].write(to: output)
        tables[inodesAt].blocks = []
        let directoryTableStart = output.position
        try tables[directoriesAt].write(to: output)
        tables[directoriesAt].blocks = []
        let frag = try fragments.build(start: output.position, jobs: jobs, makeWorker: makeWorker)
        try output.write(frag.bytes)
        var export = ExportTable(inodeCount: tree.nodes.count)
        for i in refs.indices {
            refs[i] = tables[inodesAt].resolve(refs[i])
            export.record(inodeNumber: tree.inodeNumber[i], ref: refs[i])
        }
        tables = []
        let exp = try export.build(start: output.position, jobs: jobs, makeWorker: makeWorker)
        try output.write(exp.bytes)
        let ids = IdTable()
        let id = try ids.build(start: output.position, jobs: jobs, makeWorker: makeWorker)
        try output.write(id.bytes)
        Trace.mark("other tables written")
        return TableStarts(inodes: inodeTableStart, directories: directoryTableStart, fragments: frag.indexStart,
                           export: exp.indexStart, ids: id.indexStart, idCount: UInt16(ids.ids.count))
    }
}
