import ImageReading

/// The walk from the root inode through every listing to every entry.
///
/// Rules checked: the root is a directory; each listed inode has the
/// listed number and basic type; each directory inode is reached once
/// (a second time is a loop or a directory hard link, which squashfs
/// cannot have), so the walk ends; uid and gid indexes lie below the id
/// count; the paths stay within `PathBudget`, the distinct files' bytes
/// within `FileBytesBudget`.
extension SquashFSImage {
    func readInode(_ reference: UInt64) throws(SquashFSError) -> StoredInode {
        try StoredInode.read(reference, in: inodeTable, superblock: superblock,
                             directoryTableSize: directoryTable.end - directoryTable.start)
    }

    public func entries() throws -> [ImageEntry] {
        let root = try readInode(superblock.rootInode)
        guard case .directory(let rootListing) = root.body else {
            throw SquashFSError.badImage("root inode", "is of type \(root.type), not a directory")
        }
        var out = [try entry(root, path: [0x2F], reference: superblock.rootInode)]
        var seen: Set<UInt64> = [superblock.rootInode]
        var paths = PathBudget(imageLength: range.length)
        var files = FileBytesBudget(imageLength: range.length)
        var pending: [(path: [UInt8], listing: StoredInode.Directory)] = [([], rootListing)]
        while let (path, listing) = pending.popLast() {
            let shown = path.isEmpty ? "/" : Shown.escaped(path)
            for child in try StoredDirectoryListing.read(listing, path: shown, in: directoryTable, superblock: superblock) {
                guard paths.take(path.count + 1 + child.name.count) else {
                    throw SquashFSError("directory \(shown): \(paths.explanation)", kind: .unsupportedImage)
                }
                let childPath = path + [0x2F] + child.name
                let inode = try readInode(child.inodeReference)
                guard inode.number == child.inodeNumber, inode.basicType == child.type else {
                    throw SquashFSError.badImage("directory table, entry \(Shown.escaped(childPath))",
                                                 "names inode \(child.inodeNumber) of type \(child.type); the inode there is \(inode.number) of type \(inode.basicType)")
                }
                if case .directory(let sub) = inode.body {
                    guard seen.insert(child.inodeReference).inserted else {
                        throw SquashFSError.badImage("directory table, entry \(Shown.escaped(childPath))",
                                                     "names a directory already listed elsewhere (a loop in the tree)")
                    }
                    pending.append((childPath, sub))
                }
                if case .file(let f) = inode.body, !files.take(id: child.inodeReference, size: f.size) {
                    throw SquashFSError("the image's files: \(files.explanation)", kind: .unsupportedImage)
                }
                out.append(try entry(inode, path: childPath, reference: child.inodeReference))
            }
        }
        out[1...].sort { $0.path.lexicographicallyPrecedes($1.path) }
        return out
    }

    private func id(_ index: UInt16, _ path: [UInt8]) throws(SquashFSError) -> UInt32 {
        guard Int(index) < ids.count else {
            throw .badImage("inode of \(Shown.escaped(path))", "id index \(index) is past the id table's \(ids.count) entries")
        }
        return ids[Int(index)]
    }

    private func entry(_ inode: StoredInode, path: [UInt8], reference: UInt64) throws(SquashFSError) -> ImageEntry {
        var e = ImageEntry(path: path, type: .fifo, permissions: inode.permissions, uid: try id(inode.uidIndex, path),
                           gid: try id(inode.gidIndex, path), size: 0, target: nil, device: nil, mtime: Int64(inode.mtime),
                           inodeNumber: inode.number, linkCount: inode.linkCount, handle: reference)
        switch inode.body {
        case .directory: e.type = .directory
        case .file(let f): e.type = .file; e.size = f.size
        case .symlink(let target): e.type = .symlink; e.target = target; e.size = UInt64(target.count)
        case .device(let block, let rdev):
            e.type = block ? .block : .char
            // The kernel's old 32-bit encoding (new_encode_dev).
            e.device = (major: (rdev >> 8) & 0xFFF, minor: (rdev & 0xFF) | ((rdev >> 12) & 0xF_FF00))
        case .ipc(let socket): e.type = socket ? .socket : .fifo
        }
        return e
    }
}
