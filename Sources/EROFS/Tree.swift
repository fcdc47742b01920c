import SourceTree

/// The file tree flattened for writing, in breadth-first order with every
/// directory's entries sorted bytewise: inode 0 is the root, and inode j
/// (j > 0) is the target of the j-th entry in that order, so each
/// directory's children are consecutive inodes. This order is the image's
/// inode order, a function of the tree alone.
///
/// It is held once for the whole write, so it is kept compact: every name
/// in one buffer (an array of its own cost each entry a heap object of
/// about 48 bytes), an inode of 28 bytes naming its name, its parent and
/// its payload by 32-bit numbers, and the arrays reserved at their size
/// (counted first) instead of grown by doubling.
struct Tree {
    enum Payload {
        case none
        /// Its children are the inodes `first ..< first + count`.
        case directory(first: UInt32, count: UInt32, subdirectories: UInt32)
        /// The file's number in `files`.
        case file(UInt32)
        /// The link target's number in `targets`.
        case target(UInt32)
        case device(UInt32)
    }

    struct Inode {
        var type: FileType
        var nameLength: UInt8
        var permissions: UInt16
        var parent: UInt32
        /// Its name (the root's is empty) is `names[nameStart ..< nameStart + nameLength]`.
        var nameStart: UInt32
        var payload: Payload

        var mode: UInt16 { type.modeBits | (permissions & 0o7777) }
        var nlink: UInt32 {
            guard case .directory(_, _, let subdirectories) = payload else { return 1 }
            return 2 + subdirectories
        }
        /// A directory's children, else empty.
        var children: Range<Int> {
            guard case .directory(let first, let count, _) = payload else { return 0..<0 }
            return Int(first)..<Int(first + count)
        }
    }

    /// The longest name a directory entry may hold.
    static let nameLimit = 255

    private(set) var inodes: [Inode] = []
    /// Every entry's name, one after another (see `Inode.nameStart`).
    private(set) var names: [UInt8] = []
    /// The regular files, in inode order, apart from the inodes: one
    /// `File` is 48 bytes, and in the inode it made every inode that
    /// big; the file writer reads them from here without copies.
    private(set) var files: [File] = []
    private(set) var targets: [[UInt8]] = []

    init(root: consuming Directory) throws(EROFSError) {
        let count = root.totals
        guard count.nameBytes <= Int(UInt32.max), count.entries <= Int(UInt32.max) else {
            throw EROFSError("the tree has \(count.entries) entries and \(count.nameBytes) bytes of names; erofs's writer here takes at most 2^32 of each: pack it in parts",
                             kind: .unrepresentable)
        }
        inodes.reserveCapacity(count.entries)
        names.reserveCapacity(count.nameBytes)
        files.reserveCapacity(count.files)
        var queue: [Directory] = [consume root]
        inodes.append(Inode(type: .directory, nameLength: 0, permissions: queue[0].mode, parent: 0, nameStart: 0, payload: .none))
        var next = 0  // queue index = position among directories
        var dirInodes: [UInt32] = [0]
        while next < queue.count {
            var dir = queue[next]
            queue[next] = Directory()
            dir.entries.sort { bytewiseLess($0.name, $1.name) }
            let me = dirInodes[next]
            var subdirectories: UInt32 = 0
            for e in dir.entries {
                if case .directory = e.node { subdirectories += 1 }
                try add(e, parent: me, queue: &queue, dirInodes: &dirInodes)
            }
            inodes[Int(me)].payload = .directory(first: UInt32(inodes.count - dir.entries.count), count: UInt32(dir.entries.count),
                                                 subdirectories: subdirectories)
            next += 1
        }
    }

    private mutating func add(_ e: SourceTree.Entry, parent: UInt32, queue: inout [Directory], dirInodes: inout [UInt32]) throws(EROFSError) {
        guard e.name.count <= Tree.nameLimit else {
            throw EROFSError("\(path(of: Int(parent)))/\(renderName(e.name)): name of \(e.name.count) bytes; erofs allows at most \(Tree.nameLimit)",
                             kind: .unrepresentable)
        }
        let me = UInt32(inodes.count)
        var inode = Inode(type: .directory, nameLength: UInt8(e.name.count), permissions: 0, parent: parent,
                          nameStart: UInt32(names.count), payload: .none)
        names.append(contentsOf: e.name)
        switch e.node {
        case .directory(let d):
            inode.permissions = d.mode
            queue.append(d)
            dirInodes.append(me)
        case .file(let f):
            (inode.type, inode.permissions, inode.payload) = (.regular, f.mode, .file(UInt32(files.count)))
            files.append(f)
        case .symlink(let target, let mode):
            (inode.type, inode.permissions, inode.payload) = (.symlink, mode, .target(UInt32(targets.count)))
            targets.append(target)
        case .fifo(let mode):
            (inode.type, inode.permissions) = (.fifo, mode)
        case .socket(let mode):
            (inode.type, inode.permissions) = (.socket, mode)
        case .characterDevice(let mode, let major, let minor), .blockDevice(let mode, let major, let minor):
            guard major <= 0xFFF && minor <= 0xF_FFFF else {
                throw EROFSError("\(path(of: Int(parent)))/\(renderName(e.name)): device \(major):\(minor) does not fit erofs's 12-bit major and 20-bit minor",
                                 kind: .unrepresentable)
            }
            if case .characterDevice = e.node { inode.type = .characterDevice } else { inode.type = .blockDevice }
            (inode.permissions, inode.payload) = (mode, .device(DeviceNumber.encode(major: major, minor: minor)))
        }
        inodes.append(inode)
    }

    /// Inode `i`'s name (the root's is empty).
    func name(of i: Int) -> ArraySlice<UInt8> {
        let start = Int(inodes[i].nameStart)
        return names[start..<start + Int(inodes[i].nameLength)]
    }

    /// Where inode `i`'s content is read from, for messages about reading
    /// it: a file's path on disk when it has one (what the user can find
    /// and fix; the squashfs writer names the same), else its path here.
    func sourcePath(of i: Int) -> String {
        if case .file(let k) = inodes[i].payload, let disk = files[Int(k)].source.diskPath { return renderName(disk) }
        return path(of: i)
    }

    /// `sourcePath(of:)` of file `k`'s inode (found by a search: it is
    /// for messages only).
    func sourcePath(ofFile k: Int) -> String {
        if let disk = files[k].source.diskPath { return renderName(disk) }
        let i = inodes.firstIndex { if case .file(let f) = $0.payload { return Int(f) == k } else { return false } }
        return i.map(path(of:)) ?? "file \(k)"
    }

    /// The path of inode `i` from the root, for messages.
    func path(of i: Int) -> String {
        var parts: [[UInt8]] = []
        var at = i
        while at != 0 {
            parts.append(Array(name(of: at)))
            at = Int(inodes[at].parent)
        }
        return "/" + renderPath(parts.reversed())
    }
}
