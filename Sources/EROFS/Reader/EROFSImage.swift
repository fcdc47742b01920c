import SystemIO
import ImageReading

/// An erofs image opened for reading, from any writer (mkfs.erofs, this
/// project's). Opening reads and checks the superblock and the
/// compression configurations; the tree and the data are read on demand.
/// Safe to use from several threads.
public final class EROFSImage: FileSystemImage, @unchecked Sendable {
    public let range: ImageRange
    let superblock: StoredSuperblock
    let configs: StoredCompressionConfigs
    let packedCache = PackedInodeCache()

    public init(range: ImageRange) throws(EROFSError) {
        self.range = range
        superblock = try StoredSuperblock.read(range)
        configs = try StoredCompressionConfigs.read(superblock, range)
    }

    /// Whether `range` starts like an erofs image (its magic at byte 1024).
    public static func hasMagic(_ range: ImageRange) -> Bool {
        (try? range.read(4, at: StoredSuperblock.offset)) == [0xE2, 0xE1, 0xF5, 0xE0]
    }

    public var format: String { "erofs" }

    public var blockSize: Int { superblock.blockSize }

    public var storageCodec: String {
        "erofs \(superblock.blockSize) " + configs.descriptions.joined(separator: ",")
    }

    func inode(_ nid: UInt64) throws(EROFSError) -> StoredInode {
        try StoredInode.read(nid, superblock: superblock, range: range)
    }

    public func chunks(of entry: ImageEntry) throws -> [StoredChunk] {
        guard entry.type == .file else { return [] }
        return try dataChunks(try inode(entry.handle), place: "data of \(Shown.escaped(entry.path))")
    }

    /// How an inode's content is stored, in file order.
    func dataChunks(_ inode: StoredInode, place: String, packedInode: Bool = false) throws(EROFSError) -> [StoredChunk] {
        switch inode.layout {
        case .flatPlain, .flatInline:
            return try FlatData.chunks(inode, superblock: superblock, range: range, place: place)
        case .chunkBased:
            return try ChunkBasedData.chunks(inode, superblock: superblock, range: range, place: place)
        case .compressedFull, .compressedCompact:
            let context = CompressedData.Context(inode: inode, sb: superblock, configs: configs, range: range, place: place)
            return try CompressedData.chunks(context) { (offset, length, offsetInFile) throws(EROFSError) in
                guard !packedInode else { throw .badImage(place, "the packed inode's own data names a fragment") }
                return try self.fragmentChunks(offset, length, offsetInFile, place: place)
            }
        }
    }

    public func contents(of chunk: StoredChunk) throws -> [UInt8] {
        try decoded(chunk)
    }

    func decoded(_ chunk: StoredChunk) throws(EROFSError) -> [UInt8] {
        switch chunk.source {
        case .sparse:
            return [UInt8](repeating: 0, count: chunk.length)
        case .block(let index):
            let place = "data cluster \(index) at byte \(chunk.storedAt)"
            let stored = try range.record(chunk.storedSize, at: chunk.storedAt, place: place)
            guard let coding = ClusterCoding(code: chunk.decoding) else { throw .badImage(place, "no known decoding") }
            return try coding.decode(stored, length: chunk.length, place: place)
        case .fragment(let index):
            let whole = try packedChunk(index)
            guard chunk.within >= 0, chunk.length <= whole.count, chunk.within <= whole.count - chunk.length else {
                throw .badImage("packed inode, cluster \(index)", "holds \(whole.count) bytes; a fragment of \(chunk.length) at offset \(chunk.within) runs past it")
            }
            return Array(whole[chunk.within..<chunk.within + chunk.length])
        }
    }
}

/// The packed inode's chunks, found once, and its most recently decoded
/// clusters (files sharing one are usually read one after another).
final class PackedInodeCache: @unchecked Sendable {
    private let monitor = Monitor()
    private var found: (size: UInt64, chunks: [StoredChunk])?
    private var decoded: [Int: [UInt8]] = [:]
    private var decodedBytes = 0

    func chunks() -> (size: UInt64, chunks: [StoredChunk])? { monitor.locked { found } }
    func set(_ value: (size: UInt64, chunks: [StoredChunk])) { monitor.locked { found = value } }
    func cluster(_ index: Int) -> [UInt8]? { monitor.locked { decoded[index] } }

    func put(_ index: Int, _ bytes: [UInt8]) {
        monitor.locked {
            if decodedBytes + bytes.count > 64 << 20 {
                decoded.removeAll(keepingCapacity: true)
                decodedBytes = 0
            }
            decoded[index] = bytes
            decodedBytes += bytes.count
        }
    }
}
