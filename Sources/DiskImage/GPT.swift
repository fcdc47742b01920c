/// One GPT partition entry.
///
/// Rule (UEFI 2.10 §5.3.3), 128 bytes, little-endian: type GUID (16),
/// unique GUID (16), first LBA (8), last LBA, inclusive (8), attribute
/// flags (8), name: 36 UTF-16LE code units, NUL-padded (72).
public struct GPTPartition: Sendable, Equatable {
    public static let entrySize = 128
    /// Bit 60: mount read-only (Discoverable Partitions Specification).
    public static let readOnly: UInt64 = 1 << 60

    public var type: GUID
    public var uuid: GUID
    public var firstLBA: UInt64
    public var lastLBA: UInt64
    public var attributes: UInt64
    public var name: String

    public init(type: GUID, uuid: GUID, firstLBA: UInt64, lastLBA: UInt64, attributes: UInt64, name: String) {
        self.type = type; self.uuid = uuid; self.firstLBA = firstLBA; self.lastLBA = lastLBA
        self.attributes = attributes; self.name = name
    }

    public var offset: UInt64 { firstLBA * GPT.sectorSize }
    public var size: UInt64 { (lastLBA - firstLBA + 1) * GPT.sectorSize }

    func encode() -> [UInt8] {
        var b = type.diskBytes + uuid.diskBytes
        b += le(firstLBA, 8) + le(lastLBA, 8) + le(attributes, 8)
        var n: [UInt8] = []
        for u in name.utf16.prefix(36) { n += le(UInt64(u), 2) }
        n += [UInt8](repeating: 0, count: 72 - n.count)
        return b + n
    }

    static func decode(_ e: ArraySlice<UInt8>) -> GPTPartition? {
        let s = e.startIndex
        let type = GUID(diskBytes: e[s..<(s + 16)])
        if type == .zero { return nil }
        var units: [UInt16] = []
        for i in 0..<36 {
            let u = UInt16(e[s + 56 + 2 * i]) | UInt16(e[s + 57 + 2 * i]) << 8
            if u == 0 { break }
            units.append(u)
        }
        return GPTPartition(type: type, uuid: GUID(diskBytes: e[(s + 16)..<(s + 32)]),
                            firstLBA: rd(e, s + 32, 8), lastLBA: rd(e, s + 40, 8), attributes: rd(e, s + 48, 8),
                            name: String(decoding: units, as: UTF16.self))
    }
}

func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
func rd(_ b: ArraySlice<UInt8>, _ o: Int, _ n: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in (0..<n).reversed() { v = v << 8 | UInt64(b[o + i]) }
    return v
}

/// A GUID partition table with 128 entries of 128 bytes, on 512-byte
/// sectors, and its protective MBR.
///
/// Rule (UEFI 2.10 §5.2.3, §5.3): LBA 0 is a protective MBR (one partition
/// of type 0xEE from LBA 1 over the whole disk, or 0xFFFFFFFF sectors,
/// signature 55 AA); LBA 1 the primary header, LBA 2-33 the entry array;
/// the backup entry array fills the 32 sectors before the last one and the
/// backup header is the last sector. Header, 92 bytes, little-endian:
/// "EFI PART", revision 1.0, header size 92, CRC32 of the header (with
/// this field zero), 0, this header's LBA, the other header's LBA, first
/// and last usable LBA, disk GUID, entry array LBA, entry count, entry
/// size, CRC32 of the entry array.
public struct GPT: Sendable, Equatable {
    public static let sectorSize: UInt64 = 512
    public static let entryCount = 128
    static let arraySectors: UInt64 = 32  // 128 * 128 / 512

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

    func header(primary: Bool, arrayCRC: UInt32) -> [UInt8] {
        let me: UInt64 = primary ? 1 : lastLBA
        let other: UInt64 = primary ? lastLBA : 1
        let arrayLBA: UInt64 = primary ? 2 : lastLBA - Self.arraySectors
        var h = Array("EFI PART".utf8) + le(0x0001_0000, 4) + le(92, 4) + le(0, 4) + le(0, 4)
        h += le(me, 8) + le(other, 8) + le(firstUsableLBA, 8) + le(lastUsableLBA, 8)
        h += diskGUID.diskBytes + le(arrayLBA, 8) + le(UInt64(Self.entryCount), 4)
        h += le(UInt64(GPTPartition.entrySize), 4) + le(UInt64(arrayCRC), 4)
        let crc = CRC32.of(h)
        h.replaceSubrange(16..<20, with: le(UInt64(crc), 4))
        return h + [UInt8](repeating: 0, count: Int(Self.sectorSize) - h.count)
    }

    func protectiveMBR() -> [UInt8] {
        var m = [UInt8](repeating: 0, count: Int(Self.sectorSize))
        let sectors = min(diskSize / Self.sectorSize - 1, 0xFFFF_FFFF)
        let record: [UInt8] = [0x00, 0x00, 0x02, 0x00, 0xEE, 0xFF, 0xFF, 0xFF] + le(1, 4) + le(sectors, 4)
        m.replaceSubrange(446..<462, with: record)
        m[510] = 0x55
        m[511] = 0xAA
        return m
    }

    /// The bytes at the start of the disk (MBR, header, array: 34 sectors)
    /// and at its end (array, header: 33 sectors).
    public func encode() -> (head: [UInt8], tail: [UInt8]) {
        let array = entryArray()
        let crc = CRC32.of(array)
        return (protectiveMBR() + header(primary: true, arrayCRC: crc) + array,
                array + header(primary: false, arrayCRC: crc))
    }

    public var tailOffset: UInt64 { (lastLBA - Self.arraySectors) * Self.sectorSize }

    /// Reads the primary GPT from the first 34 sectors of a disk of
    /// `diskSize` bytes; nil if there is none, the reason if it is damaged.
    public static func decode(head: [UInt8], diskSize: UInt64) -> Result<GPT, GPTError>? {
        guard head.count >= 34 * 512, head[512..<520].elementsEqual(Array("EFI PART".utf8)) else { return nil }
        let h = head[512..<1024]
        let size = Int(rd(h, 512 + 12, 4))
        guard size >= 92 && size <= 512 else { return .failure(GPTError("GPT header size \(size) is invalid")) }
        var copy = Array(h[512..<(512 + size)])
        let stored = UInt32(rd(h, 512 + 16, 4))
        copy.replaceSubrange(16..<20, with: [0, 0, 0, 0])
        guard CRC32.of(copy) == stored else { return .failure(GPTError("the GPT header's CRC32 does not match")) }
        let count = Int(rd(h, 512 + 80, 4)), esize = Int(rd(h, 512 + 84, 4))
        guard rd(h, 512 + 72, 8) == 2, count == entryCount, esize == GPTPartition.entrySize else {
            return .failure(GPTError("GPT entry array is not 128 entries of 128 bytes at LBA 2"))
        }
        let array = head[1024..<(1024 + count * esize)]
        guard CRC32.of(array) == UInt32(rd(h, 512 + 88, 4)) else { return .failure(GPTError("the GPT entry array's CRC32 does not match")) }
        var parts: [GPTPartition] = []
        for i in 0..<count {
            let s = 1024 + i * esize
            if let p = GPTPartition.decode(head[s..<(s + esize)]) { parts.append(p) }
        }
        return .success(GPT(diskGUID: GUID(diskBytes: h[(512 + 56)..<(512 + 72)]), diskSize: diskSize,
                            firstUsableLBA: rd(h, 512 + 40, 8), partitions: parts))
    }
}

extension GPT {
    /// Whether the last 33 sectors of a disk hold a backup GPT (entry array,
    /// then header) with valid CRC32s and the primary's entries.
    public static func backupMatches(tail: [UInt8], primaryHead head: [UInt8]) -> Bool {
        guard tail.count == 33 * 512, head.count >= 34 * 512 else { return false }
        let h = tail[(32 * 512)...]
        let s = h.startIndex
        guard h[s..<(s + 8)].elementsEqual(Array("EFI PART".utf8)) else { return false }
        let size = Int(rd(h, s + 12, 4))
        guard size >= 92 && size <= 512 else { return false }
        var copy = Array(h[s..<(s + size)])
        copy.replaceSubrange(16..<20, with: [0, 0, 0, 0])
        guard CRC32.of(copy) == UInt32(rd(h, s + 16, 4)) else { return false }
        let array = tail[0..<(32 * 512)]
        guard CRC32.of(array) == UInt32(rd(h, s + 88, 4)) else { return false }
        return array.elementsEqual(head[1024..<(1024 + 32 * 512)])
    }
}

public struct GPTError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ m: String) { message = m }
    public var description: String { message }
}
