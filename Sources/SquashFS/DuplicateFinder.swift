#if canImport(Glibc)
import Glibc
import SystemIO
#endif

/// Finds files whose bytes equal an earlier file's (squashfs-tools-ng's
/// block_processor deduplication, for whole files).
///
/// On-disk rule: a file whose bytes equal an earlier file's (in data
/// order for files of a block or more, in tail order for smaller ones) gets the earlier file's blocks and fragment in its inode; its own
/// bytes are not stored again. Equal means confirmed byte for byte: a
/// candidate has the same size and the same `ContentHash`, then every byte
/// is compared. A file whose size no other file has cannot have a twin and
/// is not hashed at all (so unique files cost no extra pass); nor are empty
/// files. Each file that finds no twin becomes a candidate for the files
/// after it.
///
/// Memory: two block buffers, allocated once, and per run 12 bytes a file
/// plus up to 16 a candidate (`TwinTable`) and a flag a file.
final class DuplicateFinder {
    private let blockSize: Int
    /// The caller's to read a tail into: `twin(ofSmallFile:count:)` takes
    /// the file's bytes from here, and `twin(ofFile:reader:)` overwrites it.
    let tailBuffer: UnsafeMutableRawPointer
    private let other: UnsafeMutableRawPointer

    private var files: [File] = []
    private var paths: (Int) -> String = { _ in "" }
    /// False where no other file has the same size.
    private var mayHaveTwin: [Bool] = []
    private var twins = TwinTable(fileCount: 0, candidates: 0)

    init(blockSize: Int) throws(SquashFSError) {
        self.blockSize = blockSize
        guard let a = Posix.allocateBuffer(blockSize), let b = Posix.allocateBuffer(blockSize) else {
            throw SquashFSError.outOfMemory("the duplicate finder's two blocks of \(blockSize) bytes")
        }
        tailBuffer = a
        other = b
    }

    deinit {
        Glibc.free(tailBuffer)
        Glibc.free(other)
    }

    /// Starts a run over `input`'s files, in data order.
    func begin(_ input: any DataInput) {
        files = input.files
        paths = { [input] in input.displayPath(ofFile: $0) }
        var sizeCounts: [UInt64: Int] = [:]
        for f in files where f.size > 0 { sizeCounts[f.size, default: 0] += 1 }
        mayHaveTwin = files.map { (sizeCounts[$0.size] ?? 0) > 1 }
        sizeCounts = [:]
        twins = TwinTable(fileCount: files.count, candidates: mayHaveTwin.reduce(0) { $0 + ($1 ? 1 : 0) })
    }

    /// Drops what the run kept (the file list, the table).
    func end() {
        files = []
        paths = { _ in "" }
        mayHaveTwin = []
        twins = TwinTable(fileCount: 0, candidates: 0)
    }

    /// File `i`, of at least one block, read through `reader`: the earlier
    /// file with the same bytes, or nil (and `i` becomes a candidate).
    func twin(ofFile i: Int, reader: borrowing SourceReader) throws(SquashFSError) -> Int? {
        guard mayHaveTwin[i] else { return nil }
        let size = files[i].size
        let hash = try hashFile(reader, size: size)
        if let twin = try findTwin(of: i, hash: hash, matching: { (other: borrowing SourceReader) throws(SquashFSError) -> Bool in
            try sameContent(reader, other, size: size)
        }) {
            return twin
        }
        twins.add(i, key: TwinTable.key(size: size, hash: hash))
        return nil
    }

    /// File `i`, smaller than a block, whose `count` bytes are in
    /// `tailBuffer`: the earlier file with the same bytes, or nil (and `i`
    /// becomes a candidate).
    func twin(ofSmallFile i: Int, count: Int) throws(SquashFSError) -> Int? {
        guard mayHaveTwin[i] else { return nil }
        var h = ContentHash()
        h.update(tailBuffer, count)
        let hash = h.value
        if let twin = try findTwin(of: i, hash: hash, matching: { (other: borrowing SourceReader) throws(SquashFSError) -> Bool in
            try sourced { () throws(SourceTreeError) in try other.read(into: self.other, count: count, at: 0) }
            return memcmp(tailBuffer, self.other, count) == 0
        }) {
            return twin
        }
        twins.add(i, key: TwinTable.key(size: files[i].size, hash: hash))
        return nil
    }

    private func hashFile(_ r: borrowing SourceReader, size: UInt64) throws(SquashFSError) -> UInt64 {
        var h = ContentHash()
        var off: UInt64 = 0
        while off < size {
            let n = Int(min(UInt64(blockSize), size - off))
            try sourced { () throws(SourceTreeError) in try r.read(into: tailBuffer, count: n, at: off) }
            h.update(tailBuffer, n)
            off += UInt64(n)
        }
        return h.value
    }

    private func sameContent(_ a: borrowing SourceReader, _ b: borrowing SourceReader, size: UInt64) throws(SquashFSError) -> Bool {
        var off: UInt64 = 0
        while off < size {
            let n = Int(min(UInt64(blockSize), size - off))
            try sourced { () throws(SourceTreeError) in try a.read(into: tailBuffer, count: n, at: off) }
            try sourced { () throws(SourceTreeError) in try b.read(into: other, count: n, at: off) }
            if memcmp(tailBuffer, other, n) != 0 { return false }
            off += UInt64(n)
        }
        return true
    }

    /// The earlier file (in the order files were added) with the same
    /// size and hash whose bytes `matching` confirms, or nil.
    private func findTwin(of file: Int, hash: UInt64,
                          matching: (borrowing SourceReader) throws(SquashFSError) -> Bool) throws(SquashFSError) -> Int? {
        let size = files[file].size
        var candidate = twins.latest(key: TwinTable.key(size: size, hash: hash))
        while candidate >= 0 {
            // Keys mix size and hash, so a candidate may differ in size.
            if files[candidate].size != size {
                candidate = twins.earlier(than: candidate)
                continue
            }
            let (path, found) = (paths, candidate)
            let other = try sourced { () throws(SourceTreeError) in try SourceReader(files[found], displayPath: path(found)) }
            if try matching(other) { return candidate }
            candidate = twins.earlier(than: candidate)
        }
        return nil
    }
}

/// Finds earlier files with the same size and content hash: an
/// open-addressing table of file indices (4 bytes a slot, at most half
/// full) keyed by one 64-bit mix of size and hash, with same-key files
/// chained through `next`: 12 bytes a file. Different sizes may share a
/// key, so callers check the size (and then the bytes) of each candidate.
struct TwinTable {
    private var slots: [Int32]
    private let mask: Int
    private var keys: [UInt64]
    private var chain: [Int32]

    init(fileCount: Int, candidates: Int) {
        var capacity = 16
        while capacity < 2 * candidates { capacity <<= 1 }
        slots = [Int32](repeating: -1, count: capacity)
        mask = capacity - 1
        keys = [UInt64](repeating: 0, count: fileCount)
        chain = [Int32](repeating: -1, count: fileCount)
    }

    static func key(size: UInt64, hash: UInt64) -> UInt64 {
        hash ^ (size &* 0x9E37_79B9_7F4A_7C15)
    }

    private func slot(key: UInt64) -> Int {
        var p = Int(truncatingIfNeeded: key >> 7) & mask
        while true {
            let f = Int(slots[p])
            if f < 0 || keys[f] == key { return p }
            p = (p + 1) & mask
        }
    }

    /// The most recently added file with this key, or -1.
    func latest(key: UInt64) -> Int {
        Int(slots[slot(key: key)])
    }

    /// The file added before `file` with the same key, or -1.
    func earlier(than file: Int) -> Int { Int(chain[file]) }

    mutating func add(_ file: Int, key: UInt64) {
        let p = slot(key: key)
        keys[file] = key
        chain[file] = slots[p]
        slots[p] = Int32(file)
    }
}
