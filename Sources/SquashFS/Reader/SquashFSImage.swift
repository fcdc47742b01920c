import SystemIO
import ImageReading

/// A squashfs 4.0 image opened for reading, from any writer (mksquashfs,
/// gensquashfs, this project's). Opening reads and checks the superblock,
/// the compression options, the id and fragment tables; the tree and the
/// data are read on demand. Safe to use from several threads.
public final class SquashFSImage: FileSystemImage, @unchecked Sendable {
    public let range: ImageRange
    let superblock: Superblock
    let options: StoredCompressorOptions
    let decoder: BlockDecoder
    let inodeTable: MetadataArea
    let directoryTable: MetadataArea
    let ids: [UInt32]
    let fragments: [StoredFragment]
    private let fragmentCache = FragmentCache()

    public init(range: ImageRange) throws(SquashFSError) {
        self.range = range
        let head = try range.bytes(Superblock.size, at: 0, place: "superblock (\(range.length) bytes in all)")
        let sb = try Superblock.decode(head, imageLength: range.length)
        superblock = sb
        options = try StoredCompressorOptions(id: sb.compressor, options: try Self.optionsBlock(sb, range),
                                              blockSize: Int(sb.blockSize))
        decoder = BlockDecoder(options.compressor)
        inodeTable = MetadataArea("inode table", image: range, start: sb.inodeTableStart, end: sb.directoryTableStart, decoder: decoder)
        let directoryEnd = sb.tableStarts.map(\.start).filter { $0 > sb.directoryTableStart && $0 != Superblock.absent }.min() ?? sb.bytesUsed
        directoryTable = MetadataArea("directory table", image: range, start: sb.directoryTableStart,
                                      end: min(directoryEnd, sb.bytesUsed), decoder: decoder)
        ids = try StoredIdTable.read(sb, image: range, decoder: decoder)
        fragments = try StoredFragment.table(sb, image: range, decoder: decoder)
    }

    /// The options block's payload, when the superblock says there is one.
    private static func optionsBlock(_ sb: Superblock, _ range: ImageRange) throws(SquashFSError) -> [UInt8]? {
        guard sb.flags.contains(.compressorOptions) else { return nil }
        let end = sb.tableStarts.map(\.start).filter { $0 != Superblock.absent }.min() ?? sb.bytesUsed
        let area = MetadataArea(StoredCompressorOptions.place, image: range, start: UInt64(Superblock.size), end: end,
                                decoder: BlockDecoder(StoredCompressorOptions.defaults(sb.compressor, blockSize: Int(sb.blockSize))))
        return try area.block(at: UInt64(Superblock.size)).bytes
    }

    public var format: String { "squashfs" }

    public var storageCodec: String {
        "\(superblock.compressor) \(options.bytes.map { $0.map { String($0, radix: 16) }.joined() } ?? "-")"
    }

    /// The compressor as mksquashfs would be told it ("xz -Xbcj x86").
    public var compressorDescription: String {
        options.compressor.description + (options.unknown.map { " (\($0))" } ?? "")
    }

    public var blockSize: Int { Int(superblock.blockSize) }

    public func chunks(of entry: ImageEntry) throws -> [StoredChunk] {
        guard entry.type == .file else { return [] }
        let inode = try readInode(entry.handle)
        guard case .file(let file) = inode.body else { return [] }
        return try StoredFileData.chunks(file, path: Shown.escaped(entry.path), superblock: superblock, fragments: fragments)
    }

    public func contents(of chunk: StoredChunk) throws -> [UInt8] {
        try decodedContents(of: chunk)
    }

    func decodedContents(of chunk: StoredChunk) throws(SquashFSError) -> [UInt8] {
        switch chunk.source {
        case .sparse:
            return [UInt8](repeating: 0, count: chunk.length)
        case .block(let index):
            let place = "data block \(index) at byte \(chunk.storedAt)"
            let stored = try range.bytes(chunk.storedSize, at: chunk.storedAt, place: place)
            let bytes = chunk.compressed ? try decoder.decode(stored, limit: blockSize, place: place) : stored
            guard bytes.count == chunk.length else {
                throw .badImage(place, "holds \(bytes.count) bytes; the file's block has \(chunk.length)")
            }
            return bytes
        case .fragment(let index):
            let block = try fragmentBlock(index)
            guard chunk.within + chunk.length <= block.count else {
                throw .badImage("fragment block \(index)", "holds \(block.count) bytes; a tail of \(chunk.length) at offset \(chunk.within) runs past it")
            }
            return Array(block[chunk.within..<chunk.within + chunk.length])
        }
    }

    /// Fragment block `index`, decompressed.
    func fragmentBlock(_ index: Int) throws(SquashFSError) -> [UInt8] {
        if let hit = fragmentCache.get(index) { return hit }
        let f = fragments[index]
        let place = "fragment block \(index) at byte \(f.start)"
        let stored = try range.bytes(f.storedSize, at: f.start, place: place)
        let bytes = f.compressed ? try decoder.decode(stored, limit: blockSize, place: place) : stored
        fragmentCache.put(index, bytes)
        return bytes
    }
}

/// The most recently used fragment blocks, decompressed: files sharing a
/// fragment block are usually read one after another.
private final class FragmentCache: @unchecked Sendable {
    private let monitor = Monitor()
    private var blocks: [Int: [UInt8]] = [:]

    func get(_ index: Int) -> [UInt8]? { monitor.locked { blocks[index] } }

    func put(_ index: Int, _ bytes: [UInt8]) {
        monitor.locked {
            if blocks.count >= 64 { blocks.removeAll(keepingCapacity: true) }
            blocks[index] = bytes
        }
    }
}
