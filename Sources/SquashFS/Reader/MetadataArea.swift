import SystemIO
import ImageReading

/// A place in a metadata table: the stored block's byte offset in the
/// image, and an offset into the block once decompressed.
struct MetadataPosition: Hashable {
    var block: UInt64
    var offset: Int
}

/// One table's metadata blocks, read (the rule is stated on
/// `MetadataWriter`): each block is a u16 header, whose bit 15 says the
/// block is stored uncompressed and whose low 15 bits give the stored size
/// (1...8192), followed by that many bytes, which decompress to at most
/// 8192. Checked: every block lies inside the table's bytes
/// `start..<end`, so a read can neither leave the table nor loop (each
/// block ends after it starts); decompressed blocks are kept for reuse.
final class MetadataArea: @unchecked Sendable {
    static let blockSize = 8192

    let name: String
    let image: ImageRange
    let start: UInt64
    let end: UInt64
    private let decoder: BlockDecoder
    private let monitor = Monitor()
    private var cache: [UInt64: (bytes: [UInt8], next: UInt64)] = [:]

    init(_ name: String, image: ImageRange, start: UInt64, end: UInt64, decoder: BlockDecoder) {
        self.name = name
        self.image = image
        self.start = start
        self.end = end
        self.decoder = decoder
    }

    /// The most bytes the table's blocks can decompress to: every block
    /// takes at least 3 stored bytes and gives at most 8192.
    var decompressedLimit: UInt64 { (end - start) / 3 * UInt64(Self.blockSize) + UInt64(Self.blockSize) }

    func block(at offset: UInt64) throws(SquashFSError) -> (bytes: [UInt8], next: UInt64) {
        if let hit = monitor.locked({ cache[offset] }) { return hit }
        let place = "\(name) block at byte \(offset)"
        guard offset >= start, offset < end, end - offset >= 2 else {
            throw .badImage(place, "lies outside the \(name) (bytes \(start)..<\(end))")
        }
        let header = try image.bytes(2, at: offset, place: place)
        let word = UInt16(header[0]) | UInt16(header[1]) << 8
        let size = Int(word & 0x7FFF)
        guard size >= 1, size <= Self.blockSize, UInt64(size) <= end - offset - 2 else {
            throw .badImage(place, "stored size \(size) is not 1...8192 or runs past the \(name)'s end at byte \(end)")
        }
        let stored = try image.bytes(size, at: offset + 2, place: place)
        let bytes = word & 0x8000 != 0 ? stored : try decoder.decode(stored, limit: Self.blockSize, place: place)
        let entry = (bytes: bytes, next: offset + 2 + UInt64(size))
        monitor.locked {
            if cache.count >= 4096 { cache.removeAll(keepingCapacity: true) }
            cache[offset] = entry
        }
        return entry
    }

    /// `count` bytes from `position` on, across blocks; moves `position`
    /// past them.
    func read(_ count: Int, at position: inout MetadataPosition, what: @autoclosure () -> String) throws(SquashFSError) -> [UInt8] {
        guard count >= 0, UInt64(count) <= decompressedLimit else {
            throw .badImage(what(), "\(count) bytes cannot fit in the \(name) (\(end - start) stored bytes)")
        }
        var out: [UInt8] = []
        out.reserveCapacity(min(count, 1 << 16))
        while out.count < count {
            let block = try self.block(at: position.block)
            guard position.offset <= block.bytes.count else {
                throw .badImage(what(), "offset \(position.offset) lies past the end of the \(name) block at byte \(position.block) (\(block.bytes.count) bytes)")
            }
            let take = min(count - out.count, block.bytes.count - position.offset)
            out.append(contentsOf: block.bytes[position.offset..<position.offset + take])
            position.offset += take
            if position.offset == block.bytes.count && out.count < count {
                position = MetadataPosition(block: block.next, offset: 0)
            }
        }
        return out
    }

    /// A reader over `count` bytes at `position`.
    func reader(_ count: Int, at position: inout MetadataPosition, what: String) throws(SquashFSError) -> LittleEndianReader {
        LittleEndianReader(try read(count, at: &position, what: what), place: what)
    }
}
