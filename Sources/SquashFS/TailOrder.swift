#if canImport(Glibc)
import Glibc
#endif

/// Where a file sits, for `similarityOrder`: its name, and the path-order
/// ranks of its directory and of that directory's parent (-1 for the
/// root's).
struct TailPlace {
    /// A slice of the tree's one buffer of names: no copy.
    var name: ArraySlice<UInt8>
    var directory: Int32
    var parent: Int32
}

/// The order in which tails are packed into fragment blocks.
///
/// Rule: tails of x86 executables first; then data order, except that
/// files with the same name stem (the bytes before the first dot that is
/// not the first byte) in one directory, or in a directory and its parent,
/// move up to the first of them (the group forms at the first file of its
/// topmost directory), ordered among themselves by directory (path order),
/// extension (from the last such dot) and data order.
///
/// So `foo.py`, `foo.pyi` and `__pycache__/foo.cpython-311.pyc` sit
/// together, while everything else stays in data order, which keeps the
/// inode table (each file's fragment index and offset) as compressible as
/// in plain data order. Grouping one stem across the whole tree instead
/// gained less on the benchmark closure and cost the 200,000-file tree 28%
/// more inode table.
enum TailOrder {
    /// One tail's sort key. The name's bytes live in one buffer shared by
    /// all keys (from `start`, `length` bytes), so a key is plain data: the
    /// sorts below compare keys millions of times on a tree of small files,
    /// and a key holding its own array paid reference counting on every
    /// comparison. Lengths are 16 bits (squashfs names are at most 256
    /// bytes, checked when the tree is flattened), so a key is 32 bytes,
    /// not 48: one is alive per tail during the sort, the writer's peak on
    /// a tree of small files.
    private struct Key {
        var start: Int
        var directory: Int32
        var parent: Int32
        var group: Int32 = 0
        /// The stem's length, where the extension starts, the name's length.
        var stemLength: UInt16
        var extOffset: UInt16
        var length: UInt16
        var machineCode: Bool

        /// `place`'s key, its name stored from `start` of the shared buffer.
        init(_ place: TailPlace, at start: Int, machineCode: Bool) {
            let dot = UInt8(ascii: ".")
            let name = place.name, at = place.name.startIndex  // offsets below are from `at`
            var stem = 1
            while stem < name.count && name[at + stem] != dot { stem += 1 }
            var ext = name.count
            while ext > stem && name[at + ext - 1] != dot { ext -= 1 }
            ext = ext > stem ? ext - 1 : name.count
            self.start = start
            stemLength = UInt16(min(stem, name.count))
            extOffset = UInt16(ext)
            length = UInt16(name.count)
            directory = place.directory
            parent = place.parent
            self.machineCode = machineCode
        }

        var stem: Range<Int> { start..<start + Int(stemLength) }
        var ext: Range<Int> { start + Int(extOffset)..<start + Int(length) }

        /// Order by (stem, directory), against `other`'s stem in
        /// `directory`; 0 when equal.
        func compare(stemOf other: Key, directory: Int32, in names: UnsafePointer<UInt8>) -> Int {
            let c = TailOrder.compare(names, stem, other.stem)
            return c != 0 ? c : Int(self.directory) - Int(directory)
        }
    }

    /// Sorts `tails` (file indices in data order) into similarity order.
    static func similarityOrder(_ tails: [Int32], x86: Set<Int32>, places: (Int) -> TailPlace) -> [Int32] {
        if tails.isEmpty { return [] }
        // The names' buffer at its exact size: grown by doubling it could
        // hold twice the bytes at the writer's peak.
        var names: [UInt8] = []
        names.reserveCapacity(tails.reduce(0) { $0 + places(Int($1)).name.count })
        var keys: [Key] = []
        keys.reserveCapacity(tails.count)
        for t in tails {
            let place = places(Int(t))
            keys.append(Key(place, at: names.count, machineCode: x86.contains(t)))
            names.append(contentsOf: place.name)
        }
        let order = names.withUnsafeBufferPointer { names in sorted(&keys, names: names.baseAddress!) }
        return order.map { tails[Int($0)] }
    }

    /// The two sorts of `similarityOrder`, over positions in `keys`.
    private static func sorted(_ keys: inout [Key], names: UnsafePointer<UInt8>) -> [Int32] {
        // Runs of one (stem, directory) in (stem, directory, data order).
        var order = Array(0..<Int32(keys.count))
        keys.withUnsafeBufferPointer { keys in
            order.sort { p, q in
                let c = keys[Int(p)].compare(stemOf: keys[Int(q)], directory: keys[Int(q)].directory, in: names)
                return c != 0 ? c < 0 : p < q
            }
        }
        assignGroups(&keys, order: order, names: names)
        keys.withUnsafeBufferPointer { keys in
            order.sort { p, q in
                let a = keys[Int(p)], b = keys[Int(q)]
                if a.machineCode != b.machineCode { return a.machineCode }
                if a.group != b.group { return a.group < b.group }
                if a.directory != b.directory { return a.directory < b.directory }
                let d = compare(names, a.ext, b.ext)
                if d != 0 { return d < 0 }
                return p < q  // tails are in data order: the index breaks ties
            }
        }
        return order
    }

    /// Sets each key's group: the first tail (in data order) of its
    /// (stem, directory) run, unless the run joins the group of its stem's
    /// run in the parent directory. `order` sorts the keys by (stem,
    /// directory, data order); parents rank before their children, so the
    /// parent run's group is set before it is looked up.
    private static func assignGroups(_ keys: inout [Key], order: [Int32], names: UnsafePointer<UInt8>) {
        var runFirst = [Int32](repeating: 0, count: order.count)  // by position in `order`
        for j in order.indices {
            let same = j > 0 && keys[Int(order[j - 1])].compare(stemOf: keys[Int(order[j])],
                                                                directory: keys[Int(order[j])].directory, in: names) == 0
            runFirst[j] = same ? runFirst[j - 1] : Int32(j)
        }
        for j in order.indices where runFirst[j] == Int32(j) {
            let k = keys[Int(order[j])]
            var group = order[j]
            if k.parent >= 0 {
                // The first position whose (stem, directory) is not below
                // (k's stem, k's parent).
                var lo = 0, hi = order.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if keys[Int(order[mid])].compare(stemOf: k, directory: k.parent, in: names) < 0 { lo = mid + 1 } else { hi = mid }
                }
                if lo < order.count && keys[Int(order[lo])].compare(stemOf: k, directory: k.parent, in: names) == 0 {
                    group = keys[Int(order[lo])].group
                }
            }
            var m = j
            while m < order.count && runFirst[m] == Int32(j) {
                keys[Int(order[m])].group = group
                m += 1
            }
        }
    }

    /// Bytewise order, then length, of two ranges of `names`; the sign of
    /// the result.
    fileprivate static func compare(_ names: UnsafePointer<UInt8>, _ a: Range<Int>, _ b: Range<Int>) -> Int {
        let n = min(a.count, b.count)
        let c = n == 0 ? 0 : memcmp(names + a.lowerBound, names + b.lowerBound, n)
        return c != 0 ? Int(c) : a.count - b.count
    }
}
