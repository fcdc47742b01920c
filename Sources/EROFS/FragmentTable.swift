/// The fragments `FragmentPacker` has stored, found by their size and
/// content hash: for each such key the latest fragment stored with it
/// (its offset in the packed inode and the item it came from; a fragment
/// is always the end of its item's file, so where it starts follows from
/// the sizes). `FragmentPacker` keeps two more, keyed by other hashes
/// (size 0 or 1), whose offsets and items it gives other meanings.
///
/// There is one per small file, so it is kept small: an open-addressed
/// table of 32-bit entry numbers (linear probing, at most half full) over
/// arrays reserved once, about 40 bytes a fragment where a `Dictionary`
/// of the same took about 100 (its buckets and its slack).
struct FragmentTable {
    struct Key: Equatable {
        var size: UInt64
        var hash: UInt64
    }

    private var slots: [UInt32] = []  // 0: empty; else entry number + 1
    private(set) var keys: [Key] = []
    private(set) var offsets: [UInt64] = []
    private(set) var items: [Int32] = []
    /// The number of fragments recorded.
    var count: Int { keys.count }

    /// Makes room for `count` more fragments without growing later.
    mutating func reserve(_ count: Int) {
        let total = keys.count + count
        keys.reserveCapacity(total)
        offsets.reserveCapacity(total)
        items.reserveCapacity(total)
        var size = 16
        while size < 2 * total { size *= 2 }
        guard size > slots.count else { return }
        slots = [UInt32](repeating: 0, count: size)
        for e in keys.indices { slots[emptyOrMatching(keys[e])] = UInt32(e + 1) }
    }

    /// The entry number for `key`, if a fragment was stored with it.
    func find(_ key: Key) -> Int? {
        guard !slots.isEmpty else { return nil }
        let s = slots[emptyOrMatching(key)]
        return s == 0 ? nil : Int(s - 1)
    }

    /// Records a fragment for `key` (replacing an earlier one with it).
    mutating func store(_ key: Key, offset: UInt64, item: Int) {
        if 2 * (keys.count + 1) > slots.count { reserve(max(keys.count, 16)) }
        keys.append(key)
        offsets.append(offset)
        items.append(Int32(item))
        slots[emptyOrMatching(key)] = UInt32(keys.count)
    }

    /// The slot that holds `key`, or the empty one where it would go.
    private func emptyOrMatching(_ key: Key) -> Int {
        let mask = slots.count - 1
        var s = Int(truncatingIfNeeded: (key.hash ^ (key.size &* 0x9E37_79B9_7F4A_7C15)) >> 7) & mask
        while slots[s] != 0, keys[Int(slots[s] - 1)] != key { s = (s + 1) & mask }
        return s
    }
}
