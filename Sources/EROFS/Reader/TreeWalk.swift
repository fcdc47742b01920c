import ImageReading

/// The walk from the root directory through every directory's blocks to
/// every entry.
///
/// Rules checked: the root is a directory; each dirent's file type is its
/// inode's; each directory is reached once (a second time is a loop,
/// erofs has no directory hard links), so the walk ends; names other than
/// "." and ".." strictly increase within a directory (so none repeats);
/// symlink targets are 1...4096 bytes; all directories together decode to
/// at most 16 times the image's length plus 64 MiB (compressed
/// directories cannot make the walk unbounded); the distinct regular files
/// (hard links counted once) stay within `FileBytesBudget`; the paths
/// within `PathBudget`.
extension EROFSImage {
    public func entries() throws -> [ImageEntry] {
        try walk()
    }

    func walk() throws(EROFSError) -> [ImageEntry] {
        let root = try inode(superblock.rootNid)
        guard root.type == .directory else {
            throw .badImage("root inode \(superblock.rootNid)", "is a \(root.type.rawValue), not a directory")
        }
        var out = [try entry(root, path: [0x2F])]
        var seen: Set<UInt64> = [root.nid]
        var pending: [(path: [UInt8], inode: StoredInode)] = [([], root)]
        var budget = range.length.multipliedReportingOverflow(by: 16).partialValue &+ (64 << 20)
        var files = FileBytesBudget(imageLength: range.length)
        var paths = PathBudget(imageLength: range.length)
        while let (path, directory) = pending.popLast() {
            let shown = path.isEmpty ? "/" : Shown.escaped(path)
            guard directory.size <= budget else {
                throw .unsupported("directory \(shown)", "the directories hold more than 16 times the image's \(range.length) bytes")
            }
            budget -= directory.size
            for d in try listing(directory, shown: shown) {
                guard paths.take(path.count + 1 + d.name.count) else {
                    throw .unsupported("directory \(shown)", paths.explanation)
                }
                let childPath = path + [0x2F] + d.name
                let child = try inode(d.nid)
                guard StoredDirectoryBlock.types[d.fileType] == child.type else {
                    throw .badImage("directory \(shown), entry \(Shown.quoted(d.name))",
                                    "names a \(StoredDirectoryBlock.types[d.fileType]?.rawValue ?? "?"); inode \(d.nid) is a \(child.type.rawValue)")
                }
                if child.type == .directory {
                    guard seen.insert(d.nid).inserted else {
                        throw .badImage("directory \(shown), entry \(Shown.quoted(d.name))", "names directory inode \(d.nid), already listed elsewhere (a loop in the tree)")
                    }
                    pending.append((childPath, child))
                }
                if child.type == .file, !files.take(id: child.nid, size: child.size) {
                    throw .unsupported("the image's files", files.explanation)
                }
                out.append(try entry(child, path: childPath))
            }
        }
        out[1...].sort { $0.path.lexicographicallyPrecedes($1.path) }
        return out
    }

    /// A directory's children, "." and ".." left out, block by block.
    func listing(_ directory: StoredInode, shown: String) throws(EROFSError) -> [StoredDirent] {
        let bs = superblock.blockSize
        var pending: [UInt8] = []
        var out: [StoredDirent] = []
        var blockIndex = 0
        let take = { (block: ArraySlice<UInt8>) throws(EROFSError) in
            let place = "directory \(shown), block \(blockIndex)"
            for d in try StoredDirectoryBlock.entries(block, place: place) where d.name != [0x2E] && d.name != [0x2E, 0x2E] {
                if let last = out.last, !last.name.lexicographicallyPrecedes(d.name) {
                    throw .badImage(place, "\(Shown.quoted(d.name)) follows \(Shown.quoted(last.name)); names must be unique and sorted")
                }
                out.append(d)
            }
            blockIndex += 1
        }
        for chunk in try dataChunks(directory, place: "directory \(shown)") {
            pending += try decoded(chunk)
            var at = 0
            while pending.count - at >= bs {
                try take(pending[at..<at + bs])
                at += bs
            }
            pending.removeFirst(at)
        }
        if !pending.isEmpty { try take(pending[...]) }
        return out
    }

    func entry(_ inode: StoredInode, path: [UInt8]) throws(EROFSError) -> ImageEntry {
        var e = ImageEntry(path: path, type: inode.type, permissions: inode.permissions, uid: inode.uid, gid: inode.gid,
                           size: 0, target: nil, device: nil, mtime: inode.mtime,
                           inodeNumber: UInt32(truncatingIfNeeded: inode.nid), linkCount: inode.linkCount, handle: inode.nid)
        switch inode.type {
        case .file: e.size = inode.size
        case .symlink:
            let place = "symlink \(Shown.escaped(path))"
            guard (1...4096).contains(inode.size) else {
                throw .badImage(place, "a target of \(inode.size) bytes; it must be 1...4096")
            }
            var target: [UInt8] = []
            for chunk in try dataChunks(inode, place: place) { target += try decoded(chunk) }
            e.target = target
            e.size = UInt64(target.count)
        case .char, .block: e.device = inode.device
        case .directory, .fifo, .socket: break
        }
        return e
    }
}
