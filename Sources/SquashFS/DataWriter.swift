#if canImport(Glibc)
import Glibc
#endif

/// Where one regular file's data ended up.
struct FileLayout {
    var size: UInt64 = 0
    var blocksStart: UInt64 = 0
    var blockSizes: [UInt32] = []
    var fragment: UInt32 = FragmentTable.none
    var fragmentOffset: UInt32 = 0
}

extension FileLayout {
    /// Bytes of the file in all-zero blocks stored sparse (size word 0).
    func sparseBytes(blockSize: Int) -> UInt64 {
        UInt64(blockSizes.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }) * UInt64(blockSize)
    }
}

/// Writes the data area: the full blocks of every file in data order, then
/// the fragment blocks of packed tails, in one fixed order decided by the
/// file list and the file contents alone.
///
/// On-disk rule: a file's full blocks are contiguous from its blocks_start;
/// each has a u32 size word (bit 24 = stored uncompressed, 0 = all-zero
/// block stored sparse with no bytes). The tail shorter than a block goes
/// into a fragment block at an offset. A file whose bytes equal an earlier
/// file's (confirmed byte for byte) gets the earlier file's blocks and
/// fragment.
///
/// Tails are packed in similarity order (see `similarityOrder`): data
/// order, except that files sharing a name stem in a directory and its
/// parent sit together, so a fragment block holds related bytes the
/// compressor can match across files. Blocks carry a `BlockContent` hint
/// decided by their bytes, which an adapted compressor may use.
///
/// Blocks are stored by a `BlockPipeline` (reusable slots read on this
/// thread, compressed by workers, written in submission order), so memory
/// is bounded by its slot count, whatever the amount of data.
final class DataWriter {
    struct Progress { var done: UInt64; var total: UInt64 }

    private let blockSize: Int
    private let pipeline: BlockPipeline

    private var fragmentSlot: BlockPipeline.Slot?
    /// Bytes of tails of x86 executables in `fragmentSlot`.
    private var fragmentX86Bytes = 0
    private var fragmentIndex: UInt32 = 0
    private(set) var fragments = FragmentTable()

    private(set) var layouts: [FileLayout]
    private(set) var duplicateOf: [Int32]

    private let scratchA: UnsafeMutableRawPointer
    private let scratchB: UnsafeMutableRawPointer

    init(fileCount: Int, blockSize: Int, compressor: any Compressor, jobs: Int, output: OutputFile) throws(SquashFSError) {
        self.blockSize = blockSize
        layouts = Array(repeating: FileLayout(), count: fileCount)
        duplicateOf = Array(repeating: -1, count: fileCount)
        guard let a = Posix.allocateBuffer(blockSize), let b = Posix.allocateBuffer(blockSize) else {
            throw Posix.outOfMemory("the duplicate finder's two blocks of \(blockSize) bytes")
        }
        scratchA = a
        scratchB = b
        do {
            pipeline = try BlockPipeline(blockSize: blockSize, compressor: compressor, jobs: jobs,
                                         alsoHeld: 2 * blockSize, output: output)
        } catch {
            Glibc.free(a)
            Glibc.free(b)
            throw error
        }
        pipeline.stored = { [unowned self] kind, start, sizeWord in
            switch kind {
            case .data(let file, let block):
                if block == 0 { self.layouts[file].blocksStart = start }
                self.layouts[file].blockSizes.append(sizeWord)
            case .fragment(let index):
                self.fragments.set(index, start: start, size: sizeWord)
            }
        }
    }

    /// How many compression threads run: `jobs`, or fewer if the system
    /// refused more (then `refused` says why).
    var threadCount: Int { pipeline.threadCount }
    var refused: Errno? { pipeline.refused }

    deinit {
        Glibc.free(scratchA)
        Glibc.free(scratchB)
    }

    private func submitFragment() {
        guard let slot = fragmentSlot else { return }
        // Mostly machine code: the x86 filter; otherwise tuned for packing.
        slot.content = fragmentX86Bytes * 2 > slot.length ? .x86Code : .packedTails
        pipeline.submit(slot)
        fragmentSlot = nil
    }

    private func appendTail(_ p: UnsafeRawPointer, _ n: Int, file: Int, x86: Bool) throws(SquashFSError) {
        if let slot = fragmentSlot, slot.length + n > blockSize {
            submitFragment()
        }
        if fragmentSlot == nil {
            let slot = try pipeline.acquire()
            fragmentIndex = fragments.reserve()
            slot.kind = .fragment(fragmentIndex)
            slot.hole = false
            slot.length = 0
            fragmentX86Bytes = 0
            fragmentSlot = slot
        }
        let slot = fragmentSlot!
        (slot.buffer + slot.length).copyMemory(from: p, byteCount: n)
        layouts[file].fragment = fragmentIndex
        layouts[file].fragmentOffset = UInt32(slot.length)
        slot.length += n
        if x86 { fragmentX86Bytes += n }
    }

    // MARK: duplicate detection

    private var twins = TwinTable(fileCount: 0, candidates: 0)

    private func hashFile(_ r: SourceReader, size: UInt64) throws(SquashFSError) -> UInt64 {
        var h = ContentHash()
        var off: UInt64 = 0
        while off < size {
            let n = Int(min(UInt64(blockSize), size - off))
            try r.read(into: scratchA, count: n, at: off)
            h.update(scratchA, n)
            off += UInt64(n)
        }
        return h.value
    }

    private func sameContent(_ a: SourceReader, _ b: SourceReader, size: UInt64) throws(SquashFSError) -> Bool {
        var off: UInt64 = 0
        while off < size {
            let n = Int(min(UInt64(blockSize), size - off))
            try a.read(into: scratchA, count: n, at: off)
            try b.read(into: scratchB, count: n, at: off)
            if memcmp(scratchA, scratchB, n) != 0 { return false }
            off += UInt64(n)
        }
        return true
    }

    // MARK: driver

    /// Writes the data of `files` (in this order) and returns when every
    /// block is on disk. `places(i)` says where file i sits (see
    /// `similarityOrder`). `mayHaveTwin[i]` is false when
    /// no other file has the same size, which lets unique files skip the
    /// hashing pass.
    func run(files: [File], paths: (Int) -> String, places: (Int) -> TailPlace, mayHaveTwin: [Bool],
             progress: ((Progress) -> Void)?) throws(SquashFSError) {
        defer { pipeline.shutdown() }
        var done: UInt64 = 0
        let total = files.reduce(UInt64(0)) { $0 + $1.size }
        twins = TwinTable(fileCount: files.count, candidates: mayHaveTwin.reduce(0) { $0 + ($1 ? 1 : 0) })
        let blockSize = UInt64(self.blockSize)

        // Pass 1, data order: full blocks of files of at least one block.
        // Their tails (and files smaller than a block) wait for pass 2.
        var tails: [Int32] = []
        var x86Files = Set<Int32>()  // of the files in `tails`
        let header = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
        defer { header.deallocate() }
        for (i, file) in files.enumerated() {
            let size = file.size
            layouts[i].size = size
            if size > 0 && size < blockSize {
                // Only the header now, to group machine code in pass 2; and
                // only of files that look like programs or libraries, to
                // spare an extra open of every other small file.
                if size >= 20, Self.mayBeExecutable(file, name: places(i).name),
                   let reader = try? SourceReader(file, displayPath: paths(i)) {
                    if (try? reader.read(into: header, count: 20, at: 0)) != nil,
                       BlockContent.isX86Executable(header, 20) {
                        x86Files.insert(Int32(i))
                    }
                    reader.close()
                }
                tails.append(Int32(i))
                continue
            }
            let reader = try SourceReader(file, displayPath: paths(i))
            defer { reader.close() }
            if size == 0 {
                try reader.checkEnd()
                continue
            }
            if mayHaveTwin[i] {
                let hash = try hashFile(reader, size: size)
                if let twin = try findTwin(of: i, hash: hash, files: files, paths: paths, matching: { (other: SourceReader) throws(SquashFSError) -> Bool in
                    try sameContent(reader, other, size: size)
                }) {
                    duplicateOf[i] = Int32(twin)
                    try reader.checkEnd()
                    done += size
                    progress?(Progress(done: done, total: total))
                    continue
                }
                twins.add(i, key: TwinTable.key(size: size, hash: hash))
            }

            let fullBlocks = Int(size / blockSize)
            layouts[i].blockSizes.reserveCapacity(fullBlocks)
            var content = BlockContent.general
            var off: UInt64 = 0
            for b in 0..<fullBlocks {
                let slot = try pipeline.acquire()
                slot.hole = reader.isHole(at: off, count: self.blockSize)
                if !slot.hole { try reader.read(into: slot.buffer, count: self.blockSize, at: off) }
                if b == 0 && !slot.hole && BlockContent.isX86Executable(slot.buffer, self.blockSize) {
                    content = .x86Code
                }
                slot.length = self.blockSize
                slot.kind = .data(file: i, block: b)
                slot.content = content
                pipeline.submit(slot)
                off += blockSize
                done += blockSize
                progress?(Progress(done: done, total: total))
            }
            if off < size {
                tails.append(Int32(i))
                if content == .x86Code { x86Files.insert(Int32(i)) }
            } else {
                try reader.checkEnd()
            }
        }

        // Pass 2, similarity order: tails into fragment blocks.
        Trace.mark("data pass 1 (full blocks) submitted")
        tails = Self.similarityOrder(tails, x86: x86Files, places: places)
        // The sort's keys lived on this thread's heap; the compressors
        // allocate in their own threads' arenas and would not reuse them.
        Posix.releaseFreeMemory()
        Trace.mark("tails sorted: \(tails.count)")
        for t in tails {
            let i = Int(t)
            let size = layouts[i].size
            let reader = try SourceReader(files[i], displayPath: paths(i))
            defer { reader.close() }
            let off = size / blockSize * blockSize
            let tail = Int(size - off)
            try reader.read(into: scratchA, count: tail, at: off)
            var x86 = x86Files.contains(t)
            if off == 0 {
                if mayHaveTwin[i] {
                    var h = ContentHash()
                    h.update(scratchA, tail)
                    let hash = h.value
                    if let twin = try findTwin(of: i, hash: hash, files: files, paths: paths, matching: { (other: SourceReader) throws(SquashFSError) -> Bool in
                        try other.read(into: scratchB, count: tail, at: 0)
                        return memcmp(scratchA, scratchB, tail) == 0
                    }) {
                        duplicateOf[i] = Int32(twin)
                            try reader.checkEnd()
                        done += size
                        progress?(Progress(done: done, total: total))
                        continue
                    }
                    twins.add(i, key: TwinTable.key(size: size, hash: hash))
                }
                x86 = BlockContent.isX86Executable(scratchA, tail)
            }
            try appendTail(scratchA, tail, file: i, x86: x86)
            try reader.checkEnd()
            done += UInt64(tail)
            progress?(Progress(done: done, total: total))
        }
        submitFragment()
        Trace.mark("data pass 2 (tails) submitted")
        try pipeline.finish()
        // Only the layouts are needed from here on.
        twins = TwinTable(fileCount: 0, candidates: 0)
    }

    /// The earlier file (in the order files were added) with the same
    /// size and hash whose bytes `matching` confirms, or nil.
    private func findTwin(of file: Int, hash: UInt64, files: [File], paths: (Int) -> String,
                          matching: (SourceReader) throws(SquashFSError) -> Bool) throws(SquashFSError) -> Int? {
        let size = files[file].size
        var candidate = twins.latest(key: TwinTable.key(size: size, hash: hash))
        while candidate >= 0 {
            // Keys mix size and hash, so a candidate may differ in size.
            if files[candidate].size != size {
                candidate = twins.earlier(than: candidate)
                continue
            }
            let other = try SourceReader(files[candidate], displayPath: paths(candidate))
            defer { other.close() }
            if try matching(other) { return candidate }
            candidate = twins.earlier(than: candidate)
        }
        return nil
    }

    /// Executable bits, or a shared-object name ("lib.so", "lib.so.1"):
    /// the small files whose headers pass 1 reads.
    static func mayBeExecutable(_ file: File, name: [UInt8]) -> Bool {
        if file.mode & 0o111 != 0 { return true }
        let so: [UInt8] = Array(".so".utf8)
        var i = 0
        while i + 3 <= name.count {
            if name[i] == so[0] && name[i + 1] == so[1] && name[i + 2] == so[2]
                && (i + 3 == name.count || name[i + 3] == UInt8(ascii: ".")) { return true }
            i += 1
        }
        return false
    }

    /// Where a file sits, for `similarityOrder`: its name, and the path-
    /// order ranks of its directory and of that directory's parent (-1 for
    /// the root's).
    typealias TailPlace = (name: [UInt8], directory: Int32, parent: Int32)

    /// Sorts tails into similarity order: tails of x86 executables first;
    /// then data order, except that files with the same name stem (the
    /// bytes before the first dot that is not the first byte) in one
    /// directory, or in a directory and its parent, move up to the first of
    /// them (the group forms at the first file of its topmost directory),
    /// ordered among themselves by directory (path order), extension
    /// (from the last such dot) and data order.
    ///
    /// So `foo.py`, `foo.pyi` and `__pycache__/foo.cpython-311.pyc` sit
    /// together, while everything else stays in data order, which keeps
    /// the inode table (each file's fragment index and offset) as
    /// compressible as in plain data order. Grouping one stem across the
    /// whole tree instead gained less on the benchmark closure and cost
    /// the 200,000-file tree 28% more inode table.
    static func similarityOrder(_ tails: [Int32], x86: Set<Int32>, places: (Int) -> TailPlace) -> [Int32] {
        let dot = UInt8(ascii: ".")
        struct Key {
            var name: [UInt8]
            var directory: Int32
            var parent: Int32
            var group: Int32 = 0
            var stem: UInt16
            var ext: UInt16
            var machineCode: Bool
        }
        var keys: [Key] = []
        keys.reserveCapacity(tails.count)
        for t in tails {
            let (name, directory, parent) = places(Int(t))
            var stem = 1
            while stem < name.count && name[stem] != dot { stem += 1 }
            var ext = name.count
            while ext > stem && name[ext - 1] != dot { ext -= 1 }
            ext = ext > stem ? ext - 1 : name.count
            keys.append(Key(name: name, directory: directory, parent: parent, stem: UInt16(stem), ext: UInt16(ext),
                            machineCode: x86.contains(t)))
        }
        func compare(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int {
            a.withUnsafeBytes { x in
                b.withUnsafeBytes { y in
                    let n = min(x.count, y.count)
                    let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
                    return c != 0 ? Int(c) : x.count - y.count
                }
            }
        }
        func stem(_ k: Key) -> ArraySlice<UInt8> { k.name[..<Int(k.stem)] }
        /// Order by (stem, directory); 0 when equal.
        func compareStemDirectory(_ a: Key, stemOf b: Key, directory: Int32) -> Int {
            let c = compare(stem(a), stem(b))
            return c != 0 ? c : Int(a.directory) - Int(directory)
        }

        // Runs of one (stem, directory) in (stem, directory, data order).
        var order = Array(0..<Int32(tails.count))
        keys.withUnsafeBufferPointer { keys in
            order.sort { p, q in
                let c = compareStemDirectory(keys[Int(p)], stemOf: keys[Int(q)], directory: keys[Int(q)].directory)
                return c != 0 ? c < 0 : p < q
            }
        }
        var runFirst = [Int32](repeating: 0, count: order.count)  // by position in `order`
        for j in order.indices {
            let same = j > 0 && compareStemDirectory(keys[Int(order[j - 1])], stemOf: keys[Int(order[j])],
                                                     directory: keys[Int(order[j])].directory) == 0
            runFirst[j] = same ? runFirst[j - 1] : Int32(j)
        }
        // Each run joins the group of its stem's run in the parent
        // directory, if there is one. Parents rank before their children,
        // so that run's group is already set.
        for j in order.indices where runFirst[j] == Int32(j) {
            let k = keys[Int(order[j])]
            var group = order[j]
            if k.parent >= 0 {
                var lo = 0, hi = order.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if compareStemDirectory(keys[Int(order[mid])], stemOf: k, directory: k.parent) < 0 { lo = mid + 1 } else { hi = mid }
                }
                if lo < order.count && compareStemDirectory(keys[Int(order[lo])], stemOf: k, directory: k.parent) == 0 {
                    group = keys[Int(order[lo])].group
                }
            }
            var m = j
            while m < order.count && runFirst[m] == Int32(j) {
                keys[Int(order[m])].group = group
                m += 1
            }
        }
        runFirst = []
        keys.withUnsafeBufferPointer { keys in
            order.sort { p, q in
                let a = keys[Int(p)], b = keys[Int(q)]
                if a.machineCode != b.machineCode { return a.machineCode }
                if a.group != b.group { return a.group < b.group }
                if a.directory != b.directory { return a.directory < b.directory }
                let d = compare(a.name[Int(a.ext)...], b.name[Int(b.ext)...])
                if d != 0 { return d < 0 }
                return p < q  // tails are in data order: the index breaks ties
            }
        }
        return order.map { tails[Int($0)] }
    }

    /// The layout a file's inode should describe (its twin's for duplicates).
    func layout(of file: Int) -> FileLayout {
        let d = duplicateOf[file]
        return d >= 0 ? layouts[Int(d)] : layouts[file]
    }
}
