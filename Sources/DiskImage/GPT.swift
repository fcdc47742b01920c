/// A GUID partition table with 128 entries of 128 bytes, on 512-byte
/// sectors, and its protective MBR.
///
/// Rule (UEFI 2.10 §5.3): LBA 0 is a protective MBR (`ProtectiveMBR`);
/// LBA 1 the primary header (`GPTHeader`), LBA 2-33 the entry array; the
/// backup entry array fills the 32 sectors before the last one and the
/// backup header is the last sector. The two headers point at each other
/// and at their own arrays, agree on everything else, and the arrays are
/// equal. Partitions lie within the usable LBAs, which lie between the two
/// arrays, and do not overlap.
public struct GPT: Sendable, Equatable {
    public static let sectorSize: UInt64 = 512
    public static let entryCount = 128
    static let arraySectors: UInt64 = 32  // 128 * 128 / 512
    /// MBR, primary header and primary array: the bytes `read` needs at
    /// the start of a disk.
    public static let headSize = Int((2 + arraySectors) * sectorSize)
    /// Backup array and header: the bytes `read` needs at the end.
    public static let tailSize = Int((1 + arraySectors) * sectorSize)

    public var diskGUID: GUID
    /// Total size of the disk in bytes (a multiple of 512).
    public var diskSize: UInt64
    public var firstUsableLBA: UInt64
    public var partitions: [GPTPartition]

    public init(diskGUID: GUID, diskSize: UInt64, firstUsableLBA: UInt64, partitions: [GPTPartition]) {
        self.diskGUID = diskGUID; self.diskSize = diskSize; self.firstUsableLBA = firstUsableLBA
        self.partitions = partitions
    }

    public var lastLBA: UInt64 { diskSize / Self.sectorSize - 1 }
    public var lastUsableLBA: UInt64 { lastLBA - Self.arraySectors - 1 }

    func entryArray() -> [UInt8] {
        var a: [UInt8] = []
        for p in partitions { a += p.encode() }
        a += [UInt8](repeating: 0, count: Self.entryCount * GPTPartition.entrySize - a.count)
        return a
    }

    func header(primary: Bool, arrayCRC: UInt32) -> GPTHeader {
        GPTHeader(myLBA: primary ? 1 : lastLBA, alternateLBA: primary ? lastLBA : 1,
                  firstUsableLBA: firstUsableLBA, lastUsableLBA: lastUsableLBA, diskGUID: diskGUID,
                  entryArrayLBA: primary ? 2 : lastLBA - Self.arraySectors,
                  entryCount: UInt64(Self.entryCount), entrySize: UInt64(GPTPartition.entrySize), entryArrayCRC: arrayCRC)
    }

    /// The bytes at the start of the disk (MBR, header, array: 34 sectors)
    /// and at its end (array, header: 33 sectors).
    public func encode() -> (head: [UInt8], tail: [UInt8]) {
        let array = entryArray()
        let crc = CRC32.of(array)
        return (ProtectiveMBR.encode(diskSize: diskSize) + header(primary: true, arrayCRC: crc).encode() + array,
                array + header(primary: false, arrayCRC: crc).encode())
    }

    public var tailOffset: UInt64 { (lastLBA - Self.arraySectors) * Self.sectorSize }

    /// Whether a disk's first sectors hold a GPT at all: the "EFI PART"
    /// signature at LBA 1. (Whether it is a valid one is `read`'s job.)
    public static func isPresent(head: [UInt8]) -> Bool {
        head.count >= 520 && head[512..<520].elementsEqual("EFI PART".utf8)
    }

    /// Reads and checks the whole table of a disk of `diskSize` bytes from
    /// its first `headSize` bytes and its last `tailSize` bytes.
    public static func read(head: [UInt8], tail: [UInt8], diskSize: UInt64) throws(DiskImageError) -> GPT {
        guard diskSize % sectorSize == 0 else {
            throw DiskImageError(.partitionTable, "the disk is \(diskSize) bytes, not a whole number of 512-byte sectors")
        }
        guard head.count == headSize, tail.count == tailSize, diskSize >= UInt64(headSize + tailSize) else {
            throw DiskImageError(.partitionTable, "the disk is \(diskSize) bytes, too small to hold both GPTs")
        }
        let last = diskSize / sectorSize - 1
        // The disk's size first: a truncated or extended disk is named as
        // such, not by the protective MBR's size field that follows it.
        let primary = try GPTHeader.decode(head[512..<1024], which: "primary")
        guard primary.alternateLBA == last else {
            throw DiskImageError(.partitionTable, "the GPT puts its backup header at LBA \(primary.alternateLBA), but the disk's last sector is \(last)")
        }
        try ProtectiveMBR.check(head[0..<512], diskSize: diskSize)
        let expected = GPT(diskGUID: primary.diskGUID, diskSize: diskSize, firstUsableLBA: primary.firstUsableLBA, partitions: [])
        let array = head[1024...]
        try checkPlace(primary, expected.header(primary: true, arrayCRC: primary.entryArrayCRC), array: array, which: "primary")
        let backup = try GPTHeader.decode(tail[(tail.count - 512)...], which: "backup")
        try checkPlace(backup, expected.header(primary: false, arrayCRC: primary.entryArrayCRC),
                       array: tail[0..<(tail.count - 512)], which: "backup")
        guard backup.firstUsableLBA == primary.firstUsableLBA, backup.lastUsableLBA == primary.lastUsableLBA,
              backup.diskGUID == primary.diskGUID, backup.entryArrayCRC == primary.entryArrayCRC else {
            throw DiskImageError(.partitionTable, "the backup GPT header disagrees with the primary on the disk GUID, the usable LBAs or the entry array's CRC32")
        }
        guard tail[0..<(tail.count - 512)].elementsEqual(array) else {
            throw DiskImageError(.partitionTable, "the backup GPT entry array differs from the primary")
        }
        var parts: [GPTPartition] = []
        for i in 0..<entryCount {
            let s = array.startIndex + i * GPTPartition.entrySize
            if let p = try GPTPartition.decode(array[s..<(s + GPTPartition.entrySize)], index: i) { parts.append(p) }
        }
        let gpt = GPT(diskGUID: primary.diskGUID, diskSize: diskSize, firstUsableLBA: primary.firstUsableLBA, partitions: parts)
        try gpt.checkBounds(lastUsableLBA: primary.lastUsableLBA)
        return gpt
    }

    /// A header's place against the one this disk's size calls for
    /// (`expected`), and its array
    /// against the CRC. The usable LBAs must lie between the arrays.
    static func checkPlace(_ h: GPTHeader, _ expected: GPTHeader, array: ArraySlice<UInt8>, which: String) throws(DiskImageError) {
        func fail(_ what: String) -> DiskImageError { DiskImageError(.partitionTable, "the \(which) GPT header \(what)") }
        guard h.myLBA == expected.myLBA, h.alternateLBA == expected.alternateLBA else {
            throw fail("says it is at LBA \(h.myLBA) with the other at LBA \(h.alternateLBA); it lies at LBA \(expected.myLBA), the other at \(expected.alternateLBA)")
        }
        guard h.entryArrayLBA == expected.entryArrayLBA else {
            throw fail("puts its entry array at LBA \(h.entryArrayLBA), not next to it at LBA \(expected.entryArrayLBA)")
        }
        let primaryArrayEnd = 2 + arraySectors
        guard h.firstUsableLBA >= primaryArrayEnd, h.lastUsableLBA <= expected.lastUsableLBA, h.firstUsableLBA <= h.lastUsableLBA else {
            throw fail("gives usable LBAs \(h.firstUsableLBA)-\(h.lastUsableLBA), not between the entry arrays (\(primaryArrayEnd)-\(expected.lastUsableLBA))")
        }
        guard CRC32.of(array) == h.entryArrayCRC else { throw fail("does not match its entry array's CRC32") }
    }

    /// Every partition inside the usable LBAs (`firstUsableLBA` to
    /// `lastUsableLBA`), none over another.
    func checkBounds(lastUsableLBA: UInt64) throws(DiskImageError) {
        for p in partitions where !(p.firstLBA <= p.lastLBA && p.firstLBA >= firstUsableLBA && p.lastLBA <= lastUsableLBA) {
            throw DiskImageError(.partitionBounds, "partition \(p.displayName) spans LBA \(p.firstLBA)-\(p.lastLBA), outside the disk's usable sectors \(firstUsableLBA)-\(lastUsableLBA)")
        }
        let sorted = partitions.sorted { $0.firstLBA < $1.firstLBA }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.firstLBA <= a.lastLBA {
            throw DiskImageError(.partitionBounds, "partitions \(a.displayName) and \(b.displayName) overlap (LBA \(b.firstLBA)-\(min(a.lastLBA, b.lastLBA)))")
        }
    }
}
