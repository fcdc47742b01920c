/// Packs a byte stream into squashfs metadata blocks.
///
/// On-disk rule: metadata is cut into blocks of 8192 uncompressed bytes
/// (only the last may be shorter). Each block is stored as a 16-bit
/// little-endian header followed by its payload; the header holds the
/// payload length, with bit 15 set when the payload is stored uncompressed
/// (because compression did not make it strictly smaller). A reference to a
/// byte in the stream is (start of its block relative to the table start,
/// offset within the uncompressed block).
struct MetadataWriter {
    static let blockSize = 8192

    private let worker: any CompressorWorker
    /// Finished, stored blocks (headers included).
    private(set) var output: [UInt8] = []
    /// Uncompressed bytes not yet cut into a block.
    private var pending: [UInt8] = []
    /// Stored start of every block cut so far, plus the start of the next.
    private(set) var blockStarts: [UInt64] = [0]
    private var scratch: [UInt8]

    init(worker: any CompressorWorker) {
        self.worker = worker
        self.scratch = [UInt8](repeating: 0, count: MetadataWriter.blockSize)
        pending.reserveCapacity(2 * MetadataWriter.blockSize)
    }

    /// Position of the next byte to be appended.
    var position: (block: UInt64, offset: Int) {
        (UInt64(output.count), pending.count)
    }

    /// Total uncompressed bytes appended so far.
    var uncompressedCount: Int { (blockStarts.count - 1) * MetadataWriter.blockSize + pending.count }

    /// Stored start of the block holding uncompressed stream position `p`.
    /// Valid for any position already appended or the next one.
    func blockStart(forUncompressed p: Int) -> UInt64 {
        blockStarts[p / MetadataWriter.blockSize]
    }

    mutating func append(_ bytes: [UInt8]) throws(SquashFSError) {
        var i = 0
        while i < bytes.count {
            let take = min(MetadataWriter.blockSize - pending.count, bytes.count - i)
            pending.append(contentsOf: bytes[i..<(i + take)])
            i += take
            if pending.count == MetadataWriter.blockSize {
                try cut(MetadataWriter.blockSize)
                pending.removeAll(keepingCapacity: true)
            }
        }
    }

    /// Cuts the final partial block and returns the whole table.
    mutating func finish() throws(SquashFSError) -> [UInt8] {
        if !pending.isEmpty {
            try cut(pending.count)
            pending.removeAll()
        }
        return output
    }

    private mutating func cut(_ n: Int) throws(SquashFSError) {
        let stored = try Self.store(pending, count: n, worker: worker, scratch: &scratch)
        output.append(contentsOf: stored)
        blockStarts.append(UInt64(output.count))
    }

    /// One stored metadata block: header plus compressed or raw payload.
    static func store(_ data: [UInt8], count n: Int, worker: any CompressorWorker, scratch: inout [UInt8]) throws(SquashFSError) -> [UInt8] {
        precondition(n <= blockSize)
        if scratch.count < n { scratch = [UInt8](repeating: 0, count: n) }
        let result: Result<Int?, SquashFSError> = data.withUnsafeBytes { src in
            scratch.withUnsafeMutableBytes { dst in
                Result { () throws(SquashFSError) -> Int? in
                    try worker.compress(UnsafeRawBufferPointer(rebasing: src[0..<n]), into: dst)
                }
            }
        }
        let compressed = try result.get()
        var out = ByteBuffer(capacity: n + 2)
        if let c = compressed {
            out.u16(UInt16(c))
            out.append(contentsOf: scratch[0..<c])
        } else {
            out.u16(UInt16(n) | 0x8000)
            out.append(contentsOf: data[0..<n])
        }
        return out.bytes
    }
}

/// Writes a table the way the fragment, export and id tables are stored:
/// the entries as metadata blocks, followed by an array of u64 absolute
/// positions of those blocks. The superblock points at that array.
struct IndexedTable {
    /// Returns (bytes to write at `start`, position of the index array).
    static func build(entries: [UInt8], start: UInt64, worker: any CompressorWorker) throws(SquashFSError) -> (bytes: [UInt8], indexStart: UInt64) {
        var scratch = [UInt8](repeating: 0, count: MetadataWriter.blockSize)
        var blocks: [UInt8] = []
        var index = ByteBuffer()
        var offset = 0
        while offset < entries.count {
            let n = min(MetadataWriter.blockSize, entries.count - offset)
            index.u64(start + UInt64(blocks.count))
            let stored = try MetadataWriter.store(Array(entries[offset..<(offset + n)]), count: n, worker: worker, scratch: &scratch)
            blocks.append(contentsOf: stored)
            offset += n
        }
        let indexStart = start + UInt64(blocks.count)
        return (blocks + index.bytes, indexStart)
    }
}
