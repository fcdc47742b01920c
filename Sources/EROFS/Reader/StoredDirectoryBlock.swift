import ImageReading

/// One child as a directory block names it.
struct StoredDirent {
    var name: [UInt8]
    var nid: UInt64
    /// 1 file, 2 directory, 3 char, 4 block, 5 fifo, 6 socket, 7 symlink.
    var fileType: UInt8
}

/// A directory block, read: a directory's content is cut into blocks of
/// the block size (the last one shorter); each starts with 12-byte
/// dirents (nid u64, nameoff u16, file_type u8, reserved u8), the first
/// one's nameoff / 12 of them, and the names follow, each from its
/// nameoff to the next one's (the last to the block's end or its first
/// NUL). Names are sorted; "." and ".." are entries too.
///
/// Checked: the first nameoff is a multiple of 12 inside the block; each
/// name lies inside the block after the dirents, is 1...255 bytes without
/// "/" or NUL; a file type of 1...7.
enum StoredDirectoryBlock {
    typealias F = DirectoryBlocks.Dirent
    static let direntSize = F.size
    static let types: [UInt8: EntryType] = [1: .file, 2: .directory, 3: .char, 4: .block, 5: .fifo, 6: .socket, 7: .symlink]

    static func entries(_ block: ArraySlice<UInt8>, place: @autoclosure () -> String) throws(EROFSError) -> [StoredDirent] {
        let b = Array(block)
        let r = StoredRecord(b)
        guard b.count >= direntSize else { throw .badImage(place(), "a block of \(b.count) bytes holds no dirent") }
        let first = Int(r[F.nameOffset])
        guard first >= direntSize, first % direntSize == 0, first < b.count else {
            throw .badImage(place(), "the first name starts at byte \(first); a multiple of 12 inside the \(b.count)-byte block expected")
        }
        let count = first / direntSize
        var out: [StoredDirent] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            let at = i * direntSize
            let start = Int(r[F.nameOffset, at: at])
            guard start >= first, start < b.count else {
                throw .badImage(place(), "dirent \(i)'s name starts at byte \(start), outside the block's names")
            }
            let end = i + 1 < count ? Int(r[F.nameOffset, at: at + direntSize]) : b[start...].firstIndex(of: 0) ?? b.count
            guard start < end, end <= b.count, end - start <= 255 else {
                throw .badImage(place(), "dirent \(i)'s name at bytes \(start)..<\(end) lies outside the names or is not 1...255 bytes")
            }
            let name = Array(b[start..<end])
            guard !name.contains(0x2F), !name.contains(0) else {
                throw .badImage(place(), "the name \(Shown.quoted(name)) holds \"/\" or NUL")
            }
            let type = r[F.fileType, at: at]
            guard types[type] != nil else { throw .badImage(place(), "\(Shown.quoted(name)) has file type \(type), none of 1...7") }
            out.append(StoredDirent(name: name, nid: r[F.nid, at: at], fileType: type))
        }
        return out
    }
}
