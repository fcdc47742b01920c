#if canImport(Glibc)
import Glibc
#endif

/// Writes `root` as a squashfs 4.0 image at `path`.
///
/// The image is a function of the tree and the options alone: entries are
/// sorted bytewise, inode numbers follow that order, files' full blocks are
/// laid out in that order and their tails packed into fragment blocks in
/// similarity order (see `DataWriter`), every owner is 0:0 and every time
/// is `options.mtime`.
/// Thread count and timing change nothing. The file appears at `path` only
/// when complete (see `OutputFile` for how, and what each kind of death
/// leaves).
/// `root` is consumed: once flattened, the caller's tree is released, so
/// pass it with `consume` to keep peak memory at one copy of the metadata.
/// `observer`, if given, sees every byte as it is written and can stop the
/// image from appearing.
public func writeImage(root: consuming Directory, to path: String, options: ImageOptions,
                       observer: (any OutputObserver)? = nil) throws(SquashFSError) -> ImageStats {
    try ImageWriter(options: options).write(root: consume root, to: path, observer: observer)
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

    func write(root: consuming Directory, to path: String, observer: (any OutputObserver)? = nil) throws(SquashFSError) -> ImageStats {
        var tree = try FlatTree(root: consume root)
        Trace.mark("tree flattened: \(tree.nodes.count) entries")
        let output = try OutputFile(path: path, replace: options.replace, imageOffset: observer?.imageOffset ?? 0)
        output.observer = observer
        let compressor = options.adaptive ? options.compressor.adaptedToContent() : options.compressor

        // Superblock placeholder, then the options block if any.
        try output.write([UInt8](repeating: 0, count: Superblock.size))
        var flags: Superblock.Flags = [.duplicates, .exportable, .noXattrs, .alwaysFragments]
        if let opts = compressor.options {
            flags.insert(.compressorOptions)
            var b = ByteBuffer()
            b.u16(UInt16(opts.count) | 0x8000)
            b.append(opts)
            try output.write(b.bytes)
        }

        // Data area.
        let data = try DataWriter(fileCount: tree.files.count, blockSize: options.blockSize,
                                  compressor: compressor, jobs: max(1, options.jobs), output: output)
        // The system may give fewer threads than asked (a process or cgroup
        // limit): carry on with those, which changes the speed, not a byte.
        if let refused = data.refused {
            let limit = refused.code == ENOMEM ? "memory (ulimit -v, the cgroup's memory.max) is short" : "the limit on threads (ulimit -u, pids.max) or on memory for their stacks (ulimit -v) is reached"
            options.notice?("started \(data.threadCount) of \(options.jobs) compression threads (\(refused)): \(limit); continuing with \(data.threadCount)")
        }
        let jobs = data.threadCount
        do {
            var bar = options.progress ? ProgressBar() : nil
            try data.run(tree, progress: bar == nil ? nil : { bar!.update(done: $0.done, total: $0.total) })
            bar?.finish()
        }
        tree.releaseFiles()
        // The compressors' work areas, freed in their threads' arenas.
        Posix.releaseFreeMemory()
        Trace.mark("data written")

        // Metadata: inodes and listings in post-order, so every listing is
        // laid out after its children's inodes and before its own inode.
        // References are layout references until the tables are compressed.
        // Blocks compress on `jobs` threads as they are cut.
        let makeWorker = { compressor.makeMetadataWorker() }
        let metadata = try MetadataCompressor(tables: 2, jobs: jobs, makeWorker: makeWorker)
        var inodes = InodeTable(mtime: options.mtime, into: metadata)
        var directories = DirectoryTable(into: metadata)
        var refs = [UInt64](repeating: 0, count: tree.nodes.count)
        var types = [InodeType](repeating: .directory, count: tree.nodes.count)
        let count = UInt32(tree.nodes.count)

        for i32 in tree.postOrder {
            let i = Int(i32)
            let node = tree.nodes[i]
            let number = tree.inodeNumber[i]
            let ref: UInt64
            switch node.kind {
            case .directory(let children, let subdirs):
                let listing = children.map { c in
                    let c = Int(c)
                    return DirectoryChild(name: tree.nodes[c].name, inodeRef: refs[c],
                                          inodeNumber: tree.inodeNumber[c], type: types[c])
                }
                let place = directories.add(listing)
                let parent = node.parent >= 0 ? tree.inodeNumber[Int(node.parent)] : count + 1
                ref = inodes.addDirectory(
                    mode: node.mode, number: number, linkCount: 2 + UInt32(subdirs),
                    listingSize: place.listingSize, block: place.block,
                    blockOffset: place.blockOffset, parent: parent, index: place.index)
                types[i] = .directory
            case .file(let f):
                let l = data.layout(of: f)
                ref = inodes.addFile(
                    mode: node.mode, number: number, size: l.size,
                    blocksStart: l.blocksStart, blockSizes: l.blockSizes,
                    fragment: l.fragment, fragmentOffset: l.fragmentOffset, sparseBytes: l.sparseBytes(blockSize: options.blockSize))
                types[i] = .file
            case .symlink(let target):
                ref = inodes.addSymlink(mode: node.mode, number: number, target: target)
                types[i] = .symlink
            case .fifo:
                ref = inodes.addIPC(.fifo, mode: node.mode, number: number)
                types[i] = .fifo
            case .socket:
                ref = inodes.addIPC(.socket, mode: node.mode, number: number)
                types[i] = .socket
            case .characterDevice(let major, let minor):
                ref = inodes.addDevice(.characterDevice, mode: node.mode, number: number, major: major, minor: minor)
                types[i] = .characterDevice
            case .blockDevice(let major, let minor):
                ref = inodes.addDevice(.blockDevice, mode: node.mode, number: number, major: major, minor: minor)
                types[i] = .blockDevice
            }
            refs[i] = ref
        }
        types = []
        inodes.close()
        directories.close()
        Trace.mark("metadata laid out: \(inodes.stream.count) inode, \(directories.stream.count) directory bytes")

        // Tables, in mksquashfs's order: inodes, directories, fragments,
        // export, ids.
        var tables = try metadata.finish()
        Trace.mark("inode and directory tables compressed")
        let inodeTableStart = output.position
        try tables[0].write(to: output)
        tables[0].blocks = []
        let directoryTableStart = output.position
        try tables[1].write(to: output)
        tables.removeLast()
        let frag = try data.fragments.build(start: output.position, jobs: jobs, makeWorker: makeWorker)
        try output.write(frag.bytes)
        var export = ExportTable(inodeCount: tree.nodes.count)
        for i in refs.indices {
            refs[i] = tables[0].resolve(refs[i])
            export.record(inodeNumber: tree.inodeNumber[i], ref: refs[i])
        }
        tables = []
        let exp = try export.build(start: output.position, jobs: jobs, makeWorker: makeWorker)
        try output.write(exp.bytes)
        let ids = IdTable()
        let id = try ids.build(start: output.position, jobs: jobs, makeWorker: makeWorker)
        try output.write(id.bytes)
        let bytesUsed = output.position
        Trace.mark("other tables written")

        let pad = Int((4096 - bytesUsed % 4096) % 4096)
        try output.write([UInt8](repeating: 0, count: pad))

        let sb = Superblock(
            inodeCount: count, modificationTime: options.mtime, blockSize: UInt32(options.blockSize),
            fragmentCount: UInt32(data.fragments.count), compressor: compressor.id, flags: flags,
            idCount: UInt16(ids.ids.count), rootInode: refs[0], bytesUsed: bytesUsed,
            idTableStart: id.indexStart, inodeTableStart: inodeTableStart,
            directoryTableStart: directoryTableStart, fragmentTableStart: frag.indexStart,
            exportTableStart: exp.indexStart)
        try output.write(sb.encode(), at: 0)
        try output.commit()

        return ImageStats(bytesUsed: bytesUsed, imageSize: bytesUsed + UInt64(pad),
                          inodeCount: Int(count))
    }
}
