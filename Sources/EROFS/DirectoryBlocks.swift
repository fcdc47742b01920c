/// A directory's data: blocks of entries, each block sorted and every
/// block's names after the previous block's (the reader binary-searches
/// blocks by their first name, then entries in a block).
///
/// A block holds n 12-byte dirents, then their names, unterminated:
/// dirent = nid u64, nameoff u16 (the name's offset in the block),
/// file_type u8, reserved u8. The first dirent's nameoff is 12 n, which is
/// how the reader counts entries; a name ends where the next begins, and
/// the last one at the block's end, the first NUL, or the directory's
/// size. "." (the directory's own nid) and ".." (its parent's; the root's
/// is itself) are entries like any other and sort bytewise among them.
/// The size is that of every block but the last in full, plus the used
/// part of the last.
struct DirectoryBlocks {
    /// A dirent's fields (the reader's `StoredDirectoryBlock` reads the
    /// same table).
    enum Dirent {
        static let size = 12
        static let nid = Field<UInt64>(0)
        static let nameOffset = Field<UInt16>(8)
        static let fileType = Field<UInt8>(10)
    }

    struct Item {
        var name: ArraySlice<UInt8>
        var nid: UInt64
        var type: FileType
    }

    /// Entry counts of each block, for `items` in order.
    let counts: [Int]
    /// Bytes used in the last block.
    let lastUsed: Int

    init(nameLengths: [Int]) {
        var counts: [Int] = []
        var used = 0, n = 0
        for len in nameLengths {
            if used + 12 + len > Geometry.blockSize {
                counts.append(n)
                used = 0
                n = 0
            }
            used += 12 + len
            n += 1
        }
        counts.append(n)
        self.counts = counts
        self.lastUsed = used
    }

    var size: UInt64 { UInt64(counts.count - 1) * UInt64(Geometry.blockSize) + UInt64(lastUsed) }

    /// The directory's bytes; every block but the last padded with zeros.
    func encode(_ items: [Item]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Int(size))
        var start = 0
        for (i, n) in counts.enumerated() {
            let block = items[start..<start + n]
            var head = FieldRecord(size: Dirent.size * n)
            var nameoff = Dirent.size * n
            for (k, item) in block.enumerated() {
                head[Dirent.nid, at: k * Dirent.size] = item.nid
                head[Dirent.nameOffset, at: k * Dirent.size] = UInt16(nameoff)
                head[Dirent.fileType, at: k * Dirent.size] = item.type.rawValue
                nameoff += item.name.count
            }
            out.append(contentsOf: head.bytes)
            for item in block { out.append(contentsOf: item.name) }
            if i < counts.count - 1 {
                out.append(contentsOf: repeatElement(0, count: (i + 1) * Geometry.blockSize - out.count))
            }
            start += n
        }
        return out
    }
}
