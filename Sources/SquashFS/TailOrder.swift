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
    /// a tree of small files. `start` is 32 bits: the names of a tree are
    /// at most 4 GiB (`FlatTree`).
    fileprivate struct Key {
        var start: UInt32
        var directory: Int32
        /// The stem's first 8 bytes, big-endian, zeros after a shorter
        /// stem: compared as a number, it orders stems as `compare` does
        /// wherever it differs (names hold no zero byte, so a stem that is
        /// a prefix of another is the smaller), and most comparisons of the
        /// grouping's sort and searches end there, without `memcmp`.
        var prefix: UInt64
        var parent: Int32
        var group: Int32 = 0
        /// The stem's length, where the extension starts, the name's length.
        var stemLength: UInt16
        var extOffset: UInt16
        var length: UInt16

        /// `place`'s key, its name stored from `start` of the shared buffer.
        init(_ place: TailPlace, at start: Int) {
            let dot = UInt8(ascii: ".")
            let name = place.name, at = place.name.startIndex  // offsets below are from `at`
            var stem = 1
            while stem < name.count && name[at + stem] != dot { stem += 1 }
            var ext = name.count
            while ext > stem && name[at + ext - 1] != dot { ext -= 1 }
            ext = ext > stem ? ext - 1 : name.count
            self.start = UInt32(start)
            stemLength = UInt16(min(stem, name.count))
            var prefix: UInt64 = 0
            for i in 0..<8 {
                prefix = prefix << 8 | (i < Int(stemLength) ? UInt64(name[at + i]) : 0)
            }
            self.prefix = prefix
            extOffset = UInt16(ext)
            length = UInt16(name.count)
            directory = place.directory
            parent = place.parent
        }

        var stem: Range<Int> { Int(start)..<Int(start) + Int(stemLength) }
        var ext: Range<Int> { Int(start) + Int(extOffset)..<Int(start) + Int(length) }

        /// Order by (stem, directory), against `other`'s stem in
        /// `directory`; 0 when equal.
        func compare(stemOf other: Key, directory: Int32, in names: UnsafePointer<UInt8>) -> Int {
            if prefix != other.prefix { return prefix < other.prefix ? -1 : 1 }
            let c = stemLength <= 8 && other.stemLength <= 8 ? 0 : TailOrder.compare(names, stem, other.stem)
            return c != 0 ? c : Int(self.directory) - Int(directory)
        }
    }

    /// Sorts `tails` (file indices in data order) into similarity order.
    static func similarityOrder(_ tails: [Int32], x86: Set<Int32>, places: (Int) -> TailPlace) -> [Int32] {
        order(grouped(tails, places: places), x86: x86)
    }

    /// What the order takes from names and places alone: the tails in
    /// similarity order as if none were machine code. Only the machine-code
    /// flags are left, which need the files' bytes, so this can run while
    /// pass 1 reads them (`DataWriter`); `order` then moves the x86 tails
    /// to the front, keeping the order within each part, which is the
    /// order a sort by (machine code first, then this order) gives.
    struct Grouped {
        /// The tails grouped, in data order.
        let tails: [Int32]
        /// Positions in `tails`, by (group, directory, extension, data order).
        fileprivate var similar: [Int32]
    }

    /// Keys, runs and groups of `tails` (file indices in data order).
    static func grouped(_ tails: [Int32], places: (Int) -> TailPlace) -> Grouped {
        if tails.isEmpty { return Grouped(tails: [], similar: []) }
        // The names' buffer at its exact size: grown by doubling it could
        // hold twice the bytes at the writer's peak.
        var names: [UInt8] = []
        names.reserveCapacity(tails.reduce(0) { $0 + places(Int($1)).name.count })
        var keys: [Key] = []
        keys.reserveCapacity(tails.count)
        for t in tails {
            let place = places(Int(t))
            keys.append(Key(place, at: names.count))
            names.append(contentsOf: place.name)
        }
        // Runs of one (stem, directory) in (stem, directory, data order).
        var byStem = Array(0..<Int32(keys.count))
        names.withUnsafeBufferPointer { names in
            let names = names.baseAddress!  // every name has a byte at least
            keys.withUnsafeBufferPointer { keys in
                byStem.sort { p, q in
                    let c = keys[Int(p)].compare(stemOf: keys[Int(q)], directory: keys[Int(q)].directory, in: names)
                    return c != 0 ? c < 0 : p < q
                }
            }
            assignGroups(&keys, order: byStem, names: names)
            keys.withUnsafeBufferPointer { keys in
                byStem.sort { p, q in
                    let a = keys[Int(p)], b = keys[Int(q)]
                    if a.group != b.group { return a.group < b.group }
                    if a.directory != b.directory { return a.directory < b.directory }
                    let d = compare(names, a.ext, b.ext)
                    if d != 0 { return d < 0 }
                    return p < q  // tails are in data order: the index breaks ties
                }
            }
        }
        return Grouped(tails: tails, similar: byStem)
    }

    /// `grouped`'s tails in similarity order, those in `x86` first.
    static func order(_ grouped: consuming Grouped, x86: Set<Int32>) -> [Int32] {
        let tails = grouped.tails
        var order: [Int32] = []
        order.reserveCapacity(tails.count)
        if !x86.isEmpty {
            for p in grouped.similar where x86.contains(tails[Int(p)]) { order.append(tails[Int(p)]) }
        }
        for p in grouped.similar where !x86.contains(tails[Int(p)]) { order.append(tails[Int(p)]) }
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
