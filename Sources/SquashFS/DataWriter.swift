#if canImport(Glibc)
import Glibc
import SystemIO
#endif

/// Where one regular file's data ended up: 24 bytes a file, held for
/// every file through the data phase, so its full blocks' size words are
/// not here but in one array of the writer's (`DataWriter.layout(of:)`).
struct FileLayout {
    var size: UInt64 = 0
    var blocksStart: UInt64 = 0
    var fragment: UInt32 = FragmentTable.none
    var fragmentOffset: UInt32 = 0
}

/// A file's layout with the size words of its full blocks, as its inode
/// describes it.
struct StoredFile {
    var layout: FileLayout
    var blockSizes: ArraySlice<UInt32>

    /// Bytes of the file in all-zero blocks stored sparse (size word 0).
    func sparseBytes(blockSize: Int) -> UInt64 {
        UInt64(blockSizes.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }) * UInt64(blockSize)
    }
}

/// The files whose data the writer stores, and what it needs to know of
/// each: the one input of the data side (`FlatTree` is one).
protocol DataInput {
    /// The regular files, in data order.
    var files: [File] { get }
    /// The path that names file `f` in messages.
    func displayPath(ofFile f: Int) -> String
    /// Where file `f` sits in the tree, for `TailOrder`.
    func place(ofFile f: Int) -> TailPlace
}

/// Writes the data area: the full blocks of every file in data order, then
/// the fragment blocks of packed tails, in one fixed order decided by the
/// file list and the file contents alone. The driver of the data side; each
/// rule has its own type:
/// - `BlockPipeline`: how a block is stored (size words, sparse and raw
///   blocks) and that blocks are written in submission order;
/// - `DuplicateFinder`: a file equal to an earlier one shares its data;
/// - `TailPacker`: tails go into fragment blocks (and the x86 sniff);
/// - `TailOrder`: the order tails are packed in;
/// - `IncompressibleProbe`: which blocks are stored raw without trying.
///
/// On-disk rule of this driver: a file's full blocks are contiguous from
/// its blocks_start, in data order (pass 1); its tail shorter than a block
/// is packed after every full block of every file (pass 2). Blocks carry a
/// `BlockContent` hint decided by their bytes (a file whose first block is
/// x86 code: all its blocks), which an adapted compressor may use.
///
/// Memory is bounded by the pipeline's slot count and the finder's two
/// blocks, whatever the amount of data; reads are POSIX preads into those.
final class DataWriter {
    struct Progress { var done: UInt64; var total: UInt64 }

    private let blockSize: Int
    private let finder: DuplicateFinder
    private let pipeline: BlockPipeline
    private let packer: TailPacker

    private(set) var layouts: [FileLayout]
    private(set) var duplicateOf: [Int32]
    /// The size words of every file's full blocks, in the order they were
    /// written: data order, each file's blocks together (pass 1).
    private var blockSizes: [UInt32] = []
    var fragments: FragmentTable { packer.fragments }

    // State of one `run`.
    /// Files whose tails wait for pass 2, in data order.
    private var tails: [Int32] = []
    /// Of the files in `tails`, the x86 executables.
    private var x86Tails = Set<Int32>()
    private var done: UInt64 = 0
    private var total: UInt64 = 0
    private var report: ((Progress) -> Void)?

    init(fileCount: Int, blockSize: Int, compressor: any Compressor, jobs: Int, output: ImageSink) throws(SquashFSError) {
        self.blockSize = blockSize
        layouts = Array(repeating: FileLayout(), count: fileCount)
        duplicateOf = Array(repeating: -1, count: fileCount)
        // The finder's blocks first: the pipeline plans its slots and
        // threads around them.
        finder = try DuplicateFinder(blockSize: blockSize)
        pipeline = try BlockPipeline(blockSize: blockSize, compressor: compressor, jobs: jobs,
                                     alsoHeld: 2 * blockSize, output: output)
        packer = TailPacker(blockSize: blockSize, pipeline: pipeline)
        pipeline.stored = { [unowned self] kind, start, sizeWord in
            switch kind {
            case .data(let file, let block):
                if block == 0 { self.layouts[file].blocksStart = start }
                self.blockSizes.append(sizeWord)
            case .fragment(let index):
                self.packer.stored(index, start: start, sizeWord: sizeWord)
            }
        }
    }

    /// How many compression threads run: `jobs`, or fewer if the system
    /// refused more (then `refused` says why).
    var threadCount: Int { pipeline.threadCount }
    var refused: Errno? { pipeline.refused }

    /// Writes the data of `input`'s files and returns when every block is
    /// on disk. Keeps nothing of `input` afterwards.
    ///
    /// `whileDraining` runs on this thread once every tail is packed and
    /// every data block is written, while the last fragment blocks still
    /// wait for a worker or compress (see `BlockPipeline.writeDataBlocks`):
    /// every file's layout (`layout(of:)`) is final by then, and work done
    /// there overlaps the compression's tail instead of following it; it
    /// may call `writeFinishedBlocks` to free the slots of blocks done
    /// meanwhile. Only the fragments' places (`fragments`) are not known
    /// until `run` returns.
    func run(_ input: any DataInput, progress: ((Progress) -> Void)?,
             whileDraining: () throws(SquashFSError) -> Void = {}) throws(SquashFSError) {
        defer { pipeline.shutdown() }
        let files = input.files
        done = 0
        total = files.reduce(UInt64(0)) { $0 + $1.size }
        report = progress
        defer { report = nil }
        finder.begin(input)
        defer { finder.end() }

        // Pass 1, data order: full blocks of files of at least one block.
        // Their tails (and files smaller than a block) wait for pass 2.
        // The tails' grouping, which needs no file's bytes, meanwhile on a
        // thread of its own when there is a second job: on a tree of small
        // files pass 1 submits no block, and until pass 2 starts only this
        // thread would run.
        // So does the x86 sniff of the files smaller than a block, which
        // needs their first bytes but nothing of pass 1: with both beside
        // it, this thread's own share of pass 1 is the larger files' blocks.
        let ahead = pipeline.threadCount > 1 ? GroupingAhead(files, blockSize: blockSize, input: input) : nil
        defer { ahead?.wait() }
        let sniffing = pipeline.threadCount > 1 ? SniffAhead(files, blockSize: blockSize, input: input) : nil
        defer { sniffing?.wait() }
        let header = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
        defer { header.deallocate() }
        for (i, file) in files.enumerated() {
            try storeBlocks(ofFile: i, file, input: input, header: sniffing == nil ? header : nil)
        }
        if let sniffing { x86Tails.formUnion(sniffing.take()) }

        // Pass 2, similarity order: tails into fragment blocks.
        Trace.mark("data pass 1 (full blocks) submitted")
        let grouped = ahead?.take(for: tails) ?? TailOrder.grouped(tails, places: { input.place(ofFile: $0) })
        let order = TailOrder.order(grouped, x86: x86Tails)
        tails = []
        // The grouping's keys and names are free now (in this thread's
        // heap or the grouping thread's arena); the compressors allocate in
        // their own threads' arenas and would not reuse them.
        Posix.releaseFreeMemory()
        Trace.mark("tails sorted: \(order.count)")
        for t in order {
            try storeTail(ofFile: Int(t), files[Int(t)], input: input, x86: x86Tails.contains(t))
        }
        x86Tails = []
        packer.submit()
        Trace.mark("data pass 2 (tails) submitted")
        // What the drain's work needs room for: the finder's table, idle
        // workers' compressor state.
        pipeline.close()
        finder.end()
        Posix.releaseFreeMemory()
        try pipeline.writeDataBlocks()
        try whileDraining()
        try pipeline.finish()
    }

    /// In `whileDraining`: writes the fragment blocks already compressed
    /// (in order, waiting for none) and frees their memory.
    func writeFinishedBlocks() throws(SquashFSError) {
        try pipeline.writeFinished()
    }

    private func advance(_ n: UInt64) {
        done += n
        report?(Progress(done: done, total: total))
    }

    /// Pass 1 for file `i`: its full blocks, unless it has a twin; a file
    /// with a tail (or smaller than a block) joins `tails`. A file smaller
    /// than a block is sniffed here into `header` unless that is nil
    /// (`SniffAhead` does it).
    private func storeBlocks(ofFile i: Int, _ file: File, input: any DataInput,
                             header: UnsafeMutableRawPointer?) throws(SquashFSError) {
        let size = file.size
        layouts[i].size = size
        if size > 0 && size < UInt64(blockSize) {
            // Only the header now, to group machine code in pass 2.
            if let header, TailPacker.sniffX86(file, name: input.place(ofFile: i).name,
                                               displayPath: input.displayPath(ofFile: i), header: header) {
                x86Tails.insert(Int32(i))
            }
            tails.append(Int32(i))
            return
        }
        let reader = try sourced { () throws(SourceTreeError) in try SourceReader(file, displayPath: input.displayPath(ofFile: i)) }
        if size == 0 {
            try sourced { () throws(SourceTreeError) in try reader.checkEnd() }
            return
        }
        if let twin = try finder.twin(ofFile: i, reader: reader) {
            duplicateOf[i] = Int32(twin)
            try sourced { () throws(SourceTreeError) in try reader.checkEnd() }
            advance(size)
            return
        }
        let content = try submitFullBlocks(ofFile: i, size: size, reader: reader)
        if size % UInt64(blockSize) != 0 {
            tails.append(Int32(i))
            if content == .x86Code { x86Tails.insert(Int32(i)) }
        } else {
            try sourced { () throws(SourceTreeError) in try reader.checkEnd() }
        }
    }

    /// Reads and submits the full blocks of file `i`; returns their hint.
    private func submitFullBlocks(ofFile i: Int, size: UInt64, reader: borrowing SourceReader) throws(SquashFSError) -> BlockContent {
        let fullBlocks = Int(size / UInt64(blockSize))
        var content = BlockContent.general
        var off: UInt64 = 0
        for b in 0..<fullBlocks {
            let slot = try pipeline.acquire()
            slot.hole = reader.isHole(at: off, count: blockSize)
            if !slot.hole { try sourced { () throws(SourceTreeError) in try reader.read(into: slot.buffer, count: blockSize, at: off) } }
            if b == 0 && !slot.hole && BlockContent.isX86Executable(slot.buffer, blockSize) {
                content = .x86Code
            }
            slot.length = blockSize
            slot.kind = .data(file: i, block: b)
            slot.content = content
            pipeline.submit(slot)
            off += UInt64(blockSize)
            advance(UInt64(blockSize))
        }
        return content
    }

    /// Pass 2 for file `i`: its tail into a fragment block, unless the file
    /// is smaller than a block and has a twin. `x86`: what pass 1 saw.
    private func storeTail(ofFile i: Int, _ file: File, input: any DataInput, x86: Bool) throws(SquashFSError) {
        let size = layouts[i].size
        let reader = try sourced { () throws(SourceTreeError) in try SourceReader(file, displayPath: input.displayPath(ofFile: i)) }
        let off = size / UInt64(blockSize) * UInt64(blockSize)
        let tail = Int(size - off)
        let bytes = finder.tailBuffer
        // The tail is shorter than the block-sized buffer, so the byte
        // `readLast` reads past it to find the end of the file fits.
        try sourced { () throws(SourceTreeError) in try reader.readLast(into: bytes, count: tail, at: off) }
        var x86 = x86
        if off == 0 {
            if let twin = try finder.twin(ofSmallFile: i, count: tail) {
                duplicateOf[i] = Int32(twin)
                advance(size)
                return
            }
            // The whole file is at hand: judge it by all its bytes.
            x86 = BlockContent.isX86Executable(bytes, tail)
        }
        let (fragment, offset) = try packer.append(bytes, tail, x86: x86)
        layouts[i].fragment = fragment
        layouts[i].fragmentOffset = offset
        advance(UInt64(tail))
    }

    /// Every file's layout as its inode should describe it, once every
    /// data block is written (in `whileDraining`, or after `run`).
    func storedLayouts() -> StoredLayouts {
        var firstBlock: [Int] = []
        firstBlock.reserveCapacity(layouts.count)
        var next = 0
        for f in layouts.indices {
            firstBlock.append(next)
            if duplicateOf[f] < 0 { next += Int(layouts[f].size / UInt64(blockSize)) }
        }
        precondition(next == blockSizes.count, "data blocks stored do not match the files' full blocks")
        return StoredLayouts(blockSize: blockSize, layouts: layouts, duplicateOf: duplicateOf,
                             blockSizes: blockSizes, firstBlock: firstBlock)
    }
}

/// The layouts `DataWriter` stored, and where each file's size words start
/// in `blockSizes` (pass 1 stored each file's full blocks together, in file
/// order, unless the file has a twin). A struct of the writer's arrays (not
/// copied: nothing writes them once every data block is written), so that
/// the metadata layout, which asks once per file on the one thread that
/// lays it out, reads plain arrays: the writer's class properties cost a
/// dynamic exclusivity check on each read, five a file (docs/performance.md).
struct StoredLayouts {
    let blockSize: Int
    let layouts: [FileLayout]
    let duplicateOf: [Int32]
    let blockSizes: [UInt32]
    let firstBlock: [Int]

    /// The layout a file's inode should describe (its twin's for
    /// duplicates).
    func layout(of file: Int) -> StoredFile {
        let d = duplicateOf[file]
        let f = d >= 0 ? Int(d) : file
        let count = duplicateOf[f] >= 0 ? 0 : Int(layouts[f].size / UInt64(blockSize))
        return StoredFile(layout: layouts[f], blockSizes: blockSizes[firstBlock[f]..<firstBlock[f] + count])
    }
}

/// `TailOrder.grouped` of the files that have tails unless pass 1 finds
/// them to be copies of earlier files (sizes not a multiple of the block),
/// worked out on a thread of its own while pass 1 runs. The thread only
/// reads the input, which no one writes during a run. Taken only if pass 1
/// found no such copy, so the order is the same as without it.
private final class GroupingAhead {
    private var thread: WorkerThread?
    private var result: TailOrder.Grouped?

    /// Nil if the system gives no thread (pass 1's thread groups instead).
    init?(_ files: [File], blockSize: Int, input: any DataInput) {
        var candidates: [Int32] = []
        for (i, f) in files.enumerated() where f.size % UInt64(blockSize) != 0 { candidates.append(Int32(i)) }
        guard let t = try? WorkerThread({ [self] in
            result = TailOrder.grouped(candidates, places: { input.place(ofFile: $0) })
        }) else { return nil }
        thread = t
    }

    deinit { wait() }

    func wait() {
        thread?.join()
        thread = nil
    }

    /// Waits for the thread; its grouping if it was of exactly `tails`.
    func take(for tails: [Int32]) -> TailOrder.Grouped? {
        wait()
        defer { result = nil }
        guard let r = result, r.tails == tails else { return nil }
        return r
    }
}

/// The x86 sniff (`TailPacker.sniffX86`) of every file smaller than a
/// block, on a thread of its own while pass 1 runs, and on pass 1's
/// thread too once its own loop is done (`take`): both take the files in
/// chunks. Pass 1 would sniff the same files and put the same ones in
/// `x86Tails` (every such file is a tail, whatever else pass 1 finds), and
/// a set has no order, so the tail order does not change. On a tree of
/// small files the sniff (an open, a read and a close for each file with
/// an executable bit) was most of pass 1's own thread's work, before the
/// first fragment block could start.
private final class SniffAhead {
    private static let chunk = 256
    private let files: [File]
    private let blockSize: Int
    private let input: any DataInput
    private let monitor = Monitor()
    // Guarded by `monitor`.
    private var next = 0
    private var found: [Int32] = []
    private var thread: WorkerThread?

    /// Nil if the system gives no thread (pass 1 sniffs instead).
    init?(_ files: [File], blockSize: Int, input: any DataInput) {
        self.files = files
        self.blockSize = blockSize
        self.input = input
        guard let t = try? WorkerThread({ [self] in sniffChunks() }) else { return nil }
        thread = t
    }

    deinit { wait() }

    func wait() {
        thread?.join()
        thread = nil
    }

    /// Sniffs what is left beside the thread, waits for it: the files
    /// found to be x86 code.
    func take() -> [Int32] {
        sniffChunks()
        wait()
        return monitor.locked {
            defer { found = [] }
            return found
        }
    }

    /// Takes chunks of the file list until none is left.
    private func sniffChunks() {
        let header = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
        defer { header.deallocate() }
        var mine: [Int32] = []
        while true {
            let start = monitor.locked { () -> Int in
                defer { next += Self.chunk }
                return next
            }
            if start >= files.count { break }
            for i in start..<min(start + Self.chunk, files.count) {
                let file = files[i]
                guard file.size > 0 && file.size < UInt64(blockSize) else { continue }
                if TailPacker.sniffX86(file, name: input.place(ofFile: i).name,
                                       displayPath: self.input.displayPath(ofFile: i), header: header) {
                    mine.append(Int32(i))
                }
            }
        }
        monitor.locked { found += mine }
    }
}
