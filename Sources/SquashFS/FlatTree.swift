/// The tree flattened into arrays, with the orders the writer needs:
/// children sorted bytewise, file ids in depth-first pre-order (the data
/// order), and a post-order that numbers inodes 1...n with the root last
/// (`numberInodes`).
struct FlatTree {
    enum Kind {
        /// Children are contiguous in `nodes` (they are flattened together).
        case directory(children: Range<Int32>)
        case file(Int)
        case symlink([UInt8])
        case fifo
        case socket
        case characterDevice(UInt32, UInt32)
        case blockDevice(UInt32, UInt32)
    }

    /// A node's name is `nameLength` bytes of `names` from `nameStart`:
    /// one buffer for the whole tree, where an array of its own would cost
    /// each entry a heap object of about 64 bytes for the whole run.
    /// 24 bytes, held for every entry at the data phase's peak: the kind
    /// (9 bytes, 8-aligned) first, then the 4-byte fields, which a leading
    /// 8-byte `nameStart` would have padded to 32.
    struct FlatNode {
        var kind: Kind
        var nameStart: UInt32
        var nameLength: UInt16
        var mode: UInt16
        var parent: Int32

        init(nameStart: Int, nameLength: UInt16, mode: UInt16, parent: Int32, kind: Kind) {
            self.kind = kind
            self.nameStart = UInt32(nameStart)
            self.nameLength = nameLength
            self.mode = mode
            self.parent = parent
        }
    }

    private(set) var nodes: [FlatNode] = []
    /// Every node's name, one after another (see `FlatNode`).
    private(set) var names: [UInt8] = []
    private(set) var files: [File] = []
    private(set) var fileNode: [Int32] = []
    /// Depth-first pre-order rank of each directory node (0 for others):
    /// sorting by it sorts directories by path. Dropped with the files.
    private(set) var directoryRank: [Int32] = []
    private(set) var postOrder: [Int32] = []
    private(set) var inodeNumber: [UInt32] = []

    static let maxName = 256

    init(root: consuming Directory) throws(SquashFSError) {
        let (total, fileCount, nameBytes) = root.totals
        guard nameBytes <= Int(UInt32.max) else {
            throw SquashFSError("the tree's names add up to \(nameBytes) bytes, more than 4 GiB; pack it in parts")
        }
        nodes.reserveCapacity(total)
        bfsFiles.reserveCapacity(fileCount)
        names.reserveCapacity(nameBytes)
        nodes.append(FlatNode(nameStart: 0, nameLength: 0, mode: root.mode, parent: -1, kind: .directory(children: 0..<0)))
        var pending: [Directory] = [consume root]
        var dirNode = [0]  // node index of pending[k]
        var k = 0
        while k < pending.count {
            var dir = pending[k]
            let me = dirNode[k]
            pending[k] = Directory()  // release the subtree once flattened
            k += 1
            // Sorted in place (`dir` holds the only reference), not copied.
            dir.entries.sort { bytewiseLess($0.name, $1.name) }
            let firstChild = Int32(nodes.count)
            for (j, e) in dir.entries.enumerated() {
                try checkName(e.name, in: me)
                if j > 0 && dir.entries[j - 1].name == e.name {
                    throw SquashFSError("\(path(of: me, then: e.name)): appears twice in one directory; names must be unique")
                }
                let index = nodes.count
                let (kind, mode) = try flatKind(of: e, in: me)
                if case .directory(let d) = e.node {
                    pending.append(d)
                    dirNode.append(index)
                }
                // At most `maxName` bytes: `checkName` above.
                nodes.append(FlatNode(nameStart: names.count, nameLength: UInt16(e.name.count), mode: mode & 0o7777,
                                      parent: Int32(me), kind: kind))
                names.append(contentsOf: e.name)
                if case .file(let f) = e.node {
                    nodes[index].kind = .file(bfsFiles.count)
                    bfsFiles.append(f)
                }
            }
            nodes[me].kind = .directory(children: firstChild..<Int32(nodes.count))
        }
        orderFiles()
        bfsFiles = []
    }

    /// Entry `e` of directory node `dir` as a flat node's kind and mode
    /// (a directory's children and a file's index are set later), or why
    /// squashfs cannot store it.
    private func flatKind(of e: Entry, in dir: Int) throws(SquashFSError) -> (Kind, UInt16) {
        switch e.node {
        case .directory(let d):
            return (.directory(children: 0..<0), d.mode)
        case .file(let f):
            if case .bytes(let b) = f.source, UInt64(b.count) != f.size {
                throw SquashFSError("\(path(of: dir, then: e.name)): inline content has \(b.count) bytes but the size says \(f.size)")
            }
            return (.file(-1), f.mode)
        case .symlink(let target, let m):
            if target.isEmpty || target.contains(0) {
                throw SquashFSError("\(path(of: dir, then: e.name)): symlink target must be non-empty and contain no NUL byte")
            }
            return (.symlink(target), m)
        case .fifo(let m):
            return (.fifo, m)
        case .socket(let m):
            return (.socket, m)
        case .characterDevice(let m, let major, let minor), .blockDevice(let m, let major, let minor):
            if major >= 1 << 12 || minor >= 1 << 20 {
                throw SquashFSError("\(path(of: dir, then: e.name)): device number \(major):\(minor) out of range (major < 4096, minor < 1048576)")
            }
            if case .characterDevice = e.node { return (.characterDevice(major, minor), m) }
            return (.blockDevice(major, minor), m)
        }
    }

    /// Files in flattening order, until `orderFiles` puts them in data order.
    private var bfsFiles: [File] = []

    private func checkName(_ name: [UInt8], in dir: Int) throws(SquashFSError) {
        if name.isEmpty {
            throw SquashFSError("\(path(of: dir, then: [])): an entry has an empty name")
        }
        if name.count > FlatTree.maxName {
            throw SquashFSError("\(path(of: dir, then: name)): name is \(name.count) bytes; squashfs allows at most \(FlatTree.maxName)")
        }
        if name.contains(UInt8(ascii: "/")) || name.contains(0) || name == [46] || name == [46, 46] {
            throw SquashFSError("\(path(of: dir, then: name)): invalid name (no '/', NUL, '.' or '..')")
        }
    }

    /// Depth-first pre-order over sorted children: the data order. The
    /// files are put in that order in place: a second array of them beside
    /// the first would be the flattening's peak on a tree of small files.
    private mutating func orderFiles() {
        fileNode.reserveCapacity(bfsFiles.count)
        directoryRank = [Int32](repeating: 0, count: nodes.count)
        // Data position of the file at each flattening position.
        var position = [Int32](repeating: 0, count: bfsFiles.count)
        var rank: Int32 = 0
        var stack = [0]
        while let n = stack.popLast() {
            switch nodes[n].kind {
            case .directory(let children):
                directoryRank[n] = rank
                rank += 1
                stack.append(contentsOf: children.reversed().map(Int.init))
            case .file(let bfs):
                position[bfs] = Int32(fileNode.count)
                nodes[n].kind = .file(fileNode.count)
                fileNode.append(Int32(n))
            default:
                break
            }
        }
        // Each swap puts one file at its data position for good.
        for i in position.indices {
            while position[i] != Int32(i) {
                let j = Int(position[i])
                bfsFiles.swapAt(i, j)
                position.swapAt(i, j)
            }
        }
        files = bfsFiles
    }

    /// Post-order over sorted children; inode number = position + 1.
    /// Only the metadata needs them, so the writer numbers once the data
    /// is written: not on the one thread before the first block, nor held
    /// beside the compressors at the data phase's peak.
    mutating func numberInodes() {
        inodeNumber = [UInt32](repeating: 0, count: nodes.count)
        postOrder.reserveCapacity(nodes.count)
        var stack: [(node: Int, expanded: Bool)] = [(0, false)]
        while let (n, expanded) = stack.popLast() {
            if case .directory(let children) = nodes[n].kind, !expanded {
                stack.append((n, true))
                for c in children.reversed() { stack.append((Int(c), false)) }
                continue
            }
            postOrder.append(Int32(n))
            inodeNumber[n] = UInt32(postOrder.count)
        }
    }

    /// The name of node `n`.
    func name(of n: Int) -> ArraySlice<UInt8> {
        let node = nodes[n]
        let start = Int(node.nameStart)
        return names[start..<start + Int(node.nameLength)]
    }

    func path(of node: Int, then name: [UInt8]) -> String {
        var parts: [[UInt8]] = name.isEmpty ? [] : [name]
        var n = node
        while n > 0 {
            parts.append(Array(self.name(of: n)))
            n = Int(nodes[n].parent)
        }
        return "/" + renderPath(parts.reversed())
    }

    /// Drops the file sources (paths, inline bytes) once the data is written.
    mutating func releaseFiles() {
        files = []
        directoryRank = []
    }

    /// The name of file `f` and the ranks of its directory and of that
    /// directory's parent (-1 for the root): what the data writer orders
    /// tails by.
    func place(ofFile f: Int) -> TailPlace {
        let n = Int(fileNode[f])
        let directory = Int(nodes[n].parent)
        let parent = nodes[directory].parent
        return TailPlace(name: name(of: n), directory: directoryRank[directory],
                         parent: parent >= 0 ? directoryRank[Int(parent)] : -1)
    }

    func displayPath(ofFile f: Int) -> String {
        if let p = files[f].source.diskPath { return renderName(p) }
        return path(of: Int(fileNode[f]), then: [])
    }
}

/// The data side reads the files, their paths and places from the tree.
extension FlatTree: DataInput {}
