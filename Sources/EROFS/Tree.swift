import SourceTree

/// The file tree flattened for writing, in breadth-first order with every
/// directory's entries sorted bytewise: inode 0 is the root, and inode j
/// (j > 0) is the target of entry j - 1, so each directory's children are
/// consecutive inodes. This order is the image's inode order, a function
/// of the tree alone.
struct Tree {
    enum Payload {
        case none
        /// The file's number in `files`.
        case file(Int)
        case target([UInt8])
        case device(UInt32)
    }

    struct Inode {
        var type: FileType
        var permissions: UInt16
        var parent: Int
        /// Directories: their entries are `firstEntry ..< firstEntry + entryCount`.
        var firstEntry = 0
        var entryCount = 0
        var subdirectories = 0
        var payload: Payload

        var mode: UInt16 { type.modeBits | (permissions & 0o7777) }
        var nlink: UInt32 { type == .directory ? UInt32(2 + subdirectories) : 1 }
    }

    struct Entry {
        var name: [UInt8]
        var inode: Int
    }

    /// The longest name a directory entry may hold.
    static let nameLimit = 255

    private(set) var inodes: [Inode] = []
    private(set) var entries: [Entry] = []
    /// The regular files, in inode order, apart from the inodes: one
    /// `File` is 48 bytes, and in the inode it made every inode that
    /// big; the file writer reads them from here without copies.
    private(set) var files: [File] = []

    init(root: consuming Directory) throws(EROFSError) {
        var queue: [Directory] = [consume root]
        inodes.append(Inode(type: .directory, permissions: queue[0].mode, parent: 0, payload: .none))
        var next = 0  // queue index = position among directories
        var dirInodes = [0]
        while next < queue.count {
            var dir = queue[next]
            queue[next] = Directory()
            dir.entries.sort { bytewiseLess($0.name, $1.name) }
            let me = dirInodes[next]
            inodes[me].firstEntry = entries.count
            inodes[me].entryCount = dir.entries.count
            for e in dir.entries {
                try add(e, parent: me, queue: &queue, dirInodes: &dirInodes)
            }
            next += 1
        }
    }

    private mutating func add(_ e: SourceTree.Entry, parent: Int, queue: inout [Directory], dirInodes: inout [Int]) throws(EROFSError) {
        guard e.name.count <= Tree.nameLimit else {
            throw EROFSError("\(path(of: parent))/\(renderName(e.name)): name of \(e.name.count) bytes; erofs allows at most \(Tree.nameLimit)",
                             kind: .unrepresentable)
        }
        let me = inodes.count
        entries.append(Entry(name: e.name, inode: me))
        switch e.node {
        case .directory(let d):
            inodes[parent].subdirectories += 1
            inodes.append(Inode(type: .directory, permissions: d.mode, parent: parent, payload: .none))
            queue.append(d)
            dirInodes.append(me)
        case .file(let f):
            inodes.append(Inode(type: .regular, permissions: f.mode, parent: parent, payload: .file(files.count)))
            files.append(f)
        case .symlink(let target, let mode):
            inodes.append(Inode(type: .symlink, permissions: mode, parent: parent, payload: .target(target)))
        case .fifo(let mode):
            inodes.append(Inode(type: .fifo, permissions: mode, parent: parent, payload: .none))
        case .socket(let mode):
            inodes.append(Inode(type: .socket, permissions: mode, parent: parent, payload: .none))
        case .characterDevice(let mode, let major, let minor), .blockDevice(let mode, let major, let minor):
            guard major <= 0xFFF && minor <= 0xF_FFFF else {
                throw EROFSError("\(path(of: parent))/\(renderName(e.name)): device \(major):\(minor) does not fit erofs's 12-bit major and 20-bit minor",
                                 kind: .unrepresentable)
            }
            let type: FileType
            if case .characterDevice = e.node { type = .characterDevice } else { type = .blockDevice }
            inodes.append(Inode(type: type, permissions: mode, parent: parent,
                                payload: .device(DeviceNumber.encode(major: major, minor: minor))))
        }
    }

    /// Where inode `i`'s content is read from, for messages about reading
    /// it: a file's path on disk when it has one (what the user can find
    /// and fix; the squashfs writer names the same), else its path here.
    func sourcePath(of i: Int) -> String {
        if case .file(let k) = inodes[i].payload, let disk = files[k].source.diskPath { return renderName(disk) }
        return path(of: i)
    }

    /// Inode `i`'s file; `i` must be a regular file's.
    func file(of i: Int) -> File {
        guard case .file(let k) = inodes[i].payload else { preconditionFailure("inode \(i) is not a regular file") }
        return files[k]
    }

    /// The path of inode `i` from the root, for messages.
    func path(of i: Int) -> String {
        var parts: [[UInt8]] = []
        var at = i
        while at != 0 {
            parts.append(entries[at - 1].name)
            at = inodes[at].parent
        }
        return "/" + renderPath(parts.reversed())
    }
}
