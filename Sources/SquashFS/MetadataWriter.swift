/// The metadata tables whose fields name each other's blocks, numbered as
/// the image writer's `MetadataCompressor` holds them.
enum MetadataTable: Int, CustomStringConvertible {
    case inodes = 0, directories = 1

    var description: String { self == .inodes ? "inode" : "directory" }
}

/// A u32 field that must hold the stored start of a block of a metadata
/// table (relative to that table's start). The value is known only once
/// that table has been compressed up to the block.
struct MetadataFixup {
    /// Position of the field in its own stream (uncompressed).
    var position: Int
    /// The target table, as numbered in the `MetadataCompressor`.
    var table: Int
    /// Index of the 8 KiB block whose stored start goes into the field.
    var block: Int
}

/// Lays out a byte stream as squashfs metadata blocks.
///
/// On-disk rule: metadata is cut into blocks of 8192 uncompressed bytes
/// (only the last may be shorter). Each block is stored as a 16-bit
/// little-endian header followed by its payload; the header holds the
/// payload length, with bit 15 set when the payload is stored uncompressed
/// (because compression did not make it strictly smaller). A reference to a
/// byte in the stream is (stored start of its block relative to the table
/// start, offset within the uncompressed block).
///
/// Inodes and directory listings name each other's stored block starts,
/// which depend on how every earlier block compressed. So the writer only
/// lays out: each such field is left zero and recorded as a
/// `MetadataFixup`, references carry block indices ((block << 16) |
/// offset), and every block is handed, once cut, to a `MetadataCompressor`,
/// which fills the fields in and compresses it on a worker thread.
struct MetadataWriter {
    static let blockSize = 8192

    let table: Int
    private let compressor: MetadataCompressor
    /// The block being filled.
    private var current: [UInt8] = []
    /// Fields that touch `current` or come after it, in position order.
    private var fixups: [MetadataFixup] = []
    /// Total uncompressed bytes appended so far.
    private(set) var count = 0

    init(table: Int, into compressor: MetadataCompressor) {
        self.table = table
        self.compressor = compressor
        current.reserveCapacity(Self.blockSize)
    }

    /// Position of the next byte to be appended: (block index, offset).
    var position: (block: Int, offset: Int) {
        (count / Self.blockSize, count % Self.blockSize)
    }

    /// Appends `data`, whose u32 fields at `fields` (offsets within `data`)
    /// must hold the stored start of the named blocks.
    mutating func append(_ data: [UInt8], fields: [(offset: Int, table: Int, block: Int)] = []) {
        for f in fields {
            precondition(f.offset + 4 <= data.count && data[f.offset..<(f.offset + 4)].allSatisfy { $0 == 0 },
                         "metadata field must be a zeroed u32 inside the appended bytes")
            fixups.append(MetadataFixup(position: count + f.offset, table: f.table, block: f.block))
        }
        var i = 0
        while i < data.count {
            let take = min(Self.blockSize - current.count, data.count - i)
            current.append(contentsOf: data[i..<(i + take)])
            i += take
            count += take
            if current.count == Self.blockSize { cut() }
        }
    }

    /// Hands over the last, partial block. Append nothing after this.
    mutating func close() {
        if !current.isEmpty { cut() }
        precondition(fixups.isEmpty, "metadata field past the end of its stream")
    }

    private mutating func cut() {
        let end = count
        let inBlock = fixups.prefix { $0.position < end }
        compressor.submit(table: table, block: current, fixups: Array(inBlock))
        // A field that straddles the cut belongs to the next block too.
        fixups.removeFirst(inBlock.count - (inBlock.last.map { $0.position + 4 > end ? 1 : 0 } ?? 0))
        current = []
        current.reserveCapacity(Self.blockSize)
    }
}

/// One metadata table as stored: blocks with their headers, to be written
/// back to back.
struct StoredMetadata {
    var blocks: [[UInt8]]
    /// Stored start of every block, plus the end of the table.
    var blockStarts: [UInt64]

    var size: UInt64 { blockStarts.last! }

    func write(to output: ImageSink) throws(SquashFSError) {
        for b in blocks { try output.write(b) }
    }

    /// The stored reference for a layout reference ((block << 16) | offset).
    func resolve(_ layoutRef: UInt64) -> UInt64 {
        (blockStarts[Int(layoutRef >> 16)] << 16) | (layoutRef & 0xFFFF)
    }

    /// One stored metadata block: header plus compressed or raw payload.
    static func store(_ block: UnsafeRawBufferPointer, worker: any CompressorWorker,
                      scratch: UnsafeMutableRawBufferPointer) throws(SquashFSError) -> [UInt8] {
        precondition(block.count <= MetadataWriter.blockSize && scratch.count >= block.count)
        var out = ByteBuffer(capacity: block.count + 2)
        if let c = try worker.compress(block, into: scratch) {
            out.u16(UInt16(c))
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[0..<c]))
        } else {
            out.u16(UInt16(block.count) | 0x8000)
            out.append(contentsOf: block)
        }
        return out.bytes
    }
}

/// Writes a table the way the fragment, export and id tables are stored:
/// the entries as metadata blocks, followed by an array of u64 absolute
/// positions of those blocks. The superblock points at that array.
struct IndexedTable {
    /// Returns (bytes to write at `start`, position of the index array).
    static func build(entries: [UInt8], start: UInt64, jobs: Int,
                      makeWorker: () -> any CompressorWorker) throws(SquashFSError) -> (bytes: [UInt8], indexStart: UInt64) {
        let blocks = (entries.count + MetadataWriter.blockSize - 1) / MetadataWriter.blockSize
        let compressor = try MetadataCompressor(tables: 1, jobs: min(jobs, blocks), makeWorker: makeWorker)
        // Stream 0 of a compressor made for this one table (not `MetadataTable`,
        // which numbers the inode and directory streams of the main compressor).
        var stream = MetadataWriter(table: 0, into: compressor)
        stream.append(entries)
        stream.close()
        let stored = try compressor.finish()[0]
        var bytes = ByteBuffer(capacity: Int(stored.size) + 8 * stored.blocks.count)
        for b in stored.blocks { bytes.append(b) }
        for s in stored.blockStarts.dropLast() { bytes.u64(start + s) }
        return (bytes.bytes, start + stored.size)
    }
}
