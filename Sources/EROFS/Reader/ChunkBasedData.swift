import ImageReading

/// The data of a chunk-based inode, read: i_u's low u16 is the chunk
/// format (bits 0-4: log2 of the chunk size in blocks; bit 5: 8-byte
/// chunk indexes instead of 4-byte block addresses; bit 6: 48-bit
/// addresses); after the inode and its xattrs, aligned to the entry size,
/// one entry per chunk of the file: a u32 block address, or an index of
/// startblk_hi u16, device_id u16, startblk_lo u32. Address 0xFFFFFFFF
/// is a hole, read as zeros.
///
/// Checked: no unknown format bit and no 48-bit address; the chunk size
/// at most 2^40 bytes; the entries and every chunk lie inside the image;
/// device 0 only (no extra devices are read); the file at most 65536
/// times the image's length, so holes cannot make reading it endless.
enum ChunkBasedData {
    static let hole: UInt32 = 0xFFFF_FFFF

    /// An 8-byte chunk index's fields.
    enum Index {
        static let size = 8
        static let device = Field<UInt16>(2)
        static let block = Field<UInt32>(4)
    }
    /// A 4-byte entry: the block address alone.
    static let blockAddress = Field<UInt32>(0)

    static func chunks(_ inode: StoredInode, superblock sb: StoredSuperblock, range: ImageRange,
                       place: String) throws(EROFSError) -> [StoredChunk] {
        let format = inode.union & 0xFFFF
        guard format & ~0x3F == 0 else {
            throw .unsupported(place, "chunk format 0x\(String(format, radix: 16)) has bits past bit 5 (48-bit addresses or newer)")
        }
        let bits = Int(format & 0x1F) + sb.blockBits
        guard bits <= 40 else { throw .badImage(place, "chunks of 2^\(bits) bytes; at most 2^40") }
        guard inode.size > 0 else { return [] }
        guard inode.size >> 16 <= range.length else {
            throw .unsupported(place, "a chunk-based file of \(inode.size) bytes in an image of \(range.length); holes that large are not read")
        }
        let chunkSize = UInt64(1) << UInt64(bits)
        let count = (inode.size - 1) / chunkSize + 1
        let width = UInt64(format & 0x20 != 0 ? Index.size : blockAddress.width)
        let start = (inode.afterXattrs + width - 1) / width * width
        guard count <= range.length / width, range.contains(start, count: count * width) else {
            throw .badImage(place, "\(count) chunk entries of \(width) bytes at byte \(start) run past the image's end")
        }
        let r = StoredRecord(try range.record(Int(count * width), at: start, place: place))
        var out: [StoredChunk] = []
        for i in 0..<Int(count) {
            let offset = UInt64(i) * chunkSize
            let length = min(chunkSize, inode.size - offset)
            let entry = i * Int(width)
            let address = width == 8 ? r[Index.block, at: entry] : r[blockAddress, at: entry]
            if width == 8, r[Index.device, at: entry] != 0, address != hole {
                throw .unsupported("\(place), chunk \(i)", "device \(r[Index.device, at: entry]); only the image's own device is read")
            }
            if address == hole {
                out += FlatData.pieces(from: 0, length: length, offsetInFile: offset, first: out.count, sparse: true)
                continue
            }
            let at = UInt64(address) << UInt64(sb.blockBits)
            guard range.contains(at, count: length) else {
                throw .badImage("\(place), chunk \(i)", "\(length) bytes at block \(address) run past the image's end")
            }
            out += FlatData.pieces(from: at, length: length, offsetInFile: offset, first: out.count)
        }
        return out
    }
}
