import ImageReading

/// Says what a byte offset of a squashfs image holds, in the terms of the
/// format: a superblock field, the options block, a metadata block of a
/// table (with the paths whose inodes or listings it holds), data block N
/// of a file, fragment block K (with the files whose tails it holds), or
/// the padding.
extension SquashFSImage {
    /// With `other`, the image compared with, a metadata block is
    /// decompressed in both and the inode or listing holding the first
    /// differing byte is named.
    public func describe(offset: UInt64, entries: [ImageEntry], comparedWith other: SquashFSImage? = nil) -> String {
        let sb = superblock
        if offset >= range.length { return "past the end of the image (\(range.length) bytes)" }
        if let field = ImageLayout.superblockField(at: offset) { return "the superblock's \(field) field" }
        if offset >= sb.bytesUsed { return "the padding after bytes_used (\(sb.bytesUsed))" }
        let layout = ImageLayout(self)
        if let table = layout.table(at: offset) {
            return describe(offset, in: table, entries: entries, other: other)
        }
        if let data = dataBlock(at: offset, entries: entries) { return data }
        if sb.flags.contains(.compressorOptions), offset < UInt64(Superblock.size) + 2 + UInt64(options.bytes?.count ?? 0) {
            return "the compression options block"
        }
        return "bytes no table or file claims"
    }

    /// The metadata block of `table` holding `offset`, and whose inodes or
    /// listings start in it.
    private func describe(_ offset: UInt64, in table: ImageLayout.Region, entries: [ImageEntry], other: SquashFSImage?) -> String {
        guard table.name == "inode table" || table.name == "directory table" else { return "the \(table.name)" }
        let inodes = table.name == "inode table"
        let area = inodes ? inodeTable : directoryTable
        var block = area.start
        while let next = try? area.block(at: block).next, next <= offset { block = next }
        let relative = block - area.start
        // Whose inode or listing starts in this block, and at which offset.
        var starts: [(offset: Int, path: String)] = []
        for e in entries {
            if inodes, e.handle >> 16 == relative {
                starts.append((Int(e.handle & 0xFFFF), e.pathString))
            } else if !inodes, e.type == .directory, let inode = try? readInode(e.handle),
                      case .directory(let d) = inode.body, UInt64(d.block) == relative {
                starts.append((Int(d.offset), e.pathString))
            }
        }
        starts.sort { $0.offset < $1.offset }
        let what = inodes ? "inode" : "listing"
        let head = "the \(table.name), metadata block at byte \(block)"
        if let other, let mine = try? area.block(at: block).bytes,
           let theirArea = Optional(inodes ? other.inodeTable : other.directoryTable),
           let theirs = try? theirArea.block(at: theirArea.start + relative).bytes,
           let k = (0..<min(mine.count, theirs.count)).first(where: { mine[$0] != theirs[$0] }) ?? (mine.count == theirs.count ? nil : min(mine.count, theirs.count)),
           let owner = starts.last(where: { $0.offset <= k }) {
            return "\(head), the \(what) of \(owner.path) (its byte \(k - owner.offset) differs once decompressed)"
        }
        let paths = starts.map(\.path)
        let named = paths.prefix(3).joined(separator: ", ") + (paths.count > 3 ? " and \(paths.count - 3) more" : "")
        return head + (paths.isEmpty ? "" : " (\(what)s of \(named))")
    }

    private func dataBlock(at offset: UInt64, entries: [ImageEntry]) -> String? {
        for (index, f) in fragments.enumerated() where offset >= f.start && offset < f.start + UInt64(f.storedSize) {
            return "fragment block \(index) (bytes \(f.start)..<\(f.start + UInt64(f.storedSize)))"
        }
        for e in entries where e.type == .file {
            guard let chunks = try? self.chunks(of: e) else { continue }
            for c in chunks {
                if case .block(let n) = c.source, offset >= c.storedAt, offset < c.storedAt + UInt64(c.storedSize) {
                    return "data block \(n) of \(e.pathString) (bytes \(c.storedAt)..<\(c.storedAt + UInt64(c.storedSize)))"
                }
            }
        }
        return nil
    }
}
