#if canImport(Glibc)
import Glibc
#endif

/// Where a file sits, for `similarityOrder`: its name, and the path-order
/// ranks of its directory and of that directory's parent (-1 for the
/// root's).
struct TailPlace {
    var name: [UInt8]
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
    /// One tail's sort key.
    private struct Key {
        var name: [UInt8]
        var directory: Int32
        var parent: Int32
        var group: Int32 = 0
        var stem: UInt16
        var ext: UInt16
        var machineCode: Bool

        init(_ place: TailPlace, machineCode: Bool) {
            let dot = UInt8(ascii: ".")
            let name = place.name
            var stem = 1
            while stem < name.count && name[stem] != dot { stem += 1 }
            var ext = name.count
            while ext > stem && name[ext - 1] != dot { ext -= 1 }
            ext = ext > stem ? ext - 1 : name.count
            self.name = name
            directory = place.directory
            parent = place.parent
            self.stem = UInt16(stem)
            self.ext = UInt16(ext)
            self.machineCode = machineCode
        }

        var stemBytes: ArraySlice<UInt8> { name[..<Int(stem)] }
        var extBytes: ArraySlice<UInt8> { name[Int(ext)...] }

        /// Order by (stem, directory), against `other`'s stem in
        /// `directory`; 0 when equal.
        func compare(stemOf other: Key, directory: Int32) -> Int {
            let c = TailOrder.compare(stemBytes, other.stemBytes)
            return c != 0 ? c : Int(self.directory) - Int(directory)
        }
    }

    /// Sorts `tails` (file indices in data order) into similarity order.
    static func similarityOrder(_ tails: [Int32], x86: Set<Int32>, places: (Int) -> TailPlace) -> [Int32] {
        var keys: [Key] = []
        keys.reserveCapacity(tails.count)
        for t in tails { keys.append(Key(places(Int(t)), machineCode: x86.contains(t))) }
        // Runs of one (stem, directory) in (stem, directory, data order).
        var order = Array(0..<Int32(tails.count))
        keys.withUnsafeBufferPointer { keys in
            order.sort { p, q in
                let c = keys[Int(p)].compare(stemOf: keys[Int(q)], directory: keys[Int(q)].directory)
                return c != 0 ? c < 0 : p < q
            }
        }
        assignGroups(&keys, order: order)
        keys.withUnsafeBufferPointer { keys in
            order.sort { p, q in
                let a = keys[Int(p)], b = keys[Int(q)]
                if a.machineCode != b.machineCode { return a.machineCode }
                if a.group != b.group { return a.group < b.group }
                if a.directory != b.directory { return a.directory < b.directory }
                let d = compare(a.extBytes, b.extBytes)
                if d != 0 { return d < 0 }
                return p < q  // tails are in data order: the index breaks ties
            }
        }
        return order.map { tails[Int($0)] }
    }

    /// Sets each key's group: the first tail (in data order) of its
    /// (stem, directory) run, unless the run joins the group of its stem's
    /// run in the parent directory. `order` sorts the keys by (stem,
    /// directory, data order); parents rank before their children, so the
    /// parent run's group is set before it is looked up.
    private static func assignGroups(_ keys: inout [Key], order: [Int32]) {
        var runFirst = [Int32](repeating: 0, count: order.count)  // by position in `order`
        for j in order.indices {
            let same = j > 0 && keys[Int(order[j - 1])].compare(stemOf: keys[Int(order[j])],
                                                                directory: keys[Int(order[j])].directory) == 0
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
                    if keys[Int(order[mid])].compare(stemOf: k, directory: k.parent) < 0 { lo = mid + 1 } else { hi = mid }
                }
                if lo < order.count && keys[Int(order[lo])].compare(stemOf: k, directory: k.parent) == 0 {
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

    /// Bytewise order, then length; the sign of the result.
    fileprivate static func compare(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int {
        a.withUnsafeBytes { x in
            b.withUnsafeBytes { y in
                let n = min(x.count, y.count)
                let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
                return c != 0 ? Int(c) : x.count - y.count
            }
        }
    }
}
