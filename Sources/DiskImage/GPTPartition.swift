/// One GPT partition entry.
///
/// Rule (UEFI 2.10 §5.3.3), 128 bytes, little-endian: type GUID (16),
/// unique GUID (16), first LBA (8), last LBA, inclusive (8), attribute
/// flags (8), name: 36 UTF-16LE code units, NUL-padded (72). An entry
/// whose type is zero is unused, and is then zero throughout (as written
/// here; read back, anything else in it is refused).
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

    /// Where the partition starts, in bytes. Only for an entry `GPT.read`
    /// returned (or one made here): its LBAs are checked to lie on the disk.
    public var offset: UInt64 { firstLBA * GPT.sectorSize }
    /// The partition's size in bytes (same condition).
    public var size: UInt64 { (lastLBA - firstLBA + 1) * GPT.sectorSize }
    /// `offset..<offset + size`.
    public var byteRange: Range<UInt64> { offset..<(offset + size) }

    /// The name if it has one, else the type, for messages.
    public var displayName: String { name.isEmpty ? "of type \(type)" : name }

    func encode() -> [UInt8] {
        var b = type.diskBytes + uuid.diskBytes
        b += le(firstLBA, 8) + le(lastLBA, 8) + le(attributes, 8)
        var n: [UInt8] = []
        for u in name.utf16.prefix(36) { n += le(UInt64(u), 2) }
        n += [UInt8](repeating: 0, count: 72 - n.count)
        return b + n
    }

    /// nil for an unused entry; throws for one whose type is zero but
    /// holds anything else, or whose name is not NUL-padded.
    static func decode(_ e: ArraySlice<UInt8>, index: Int) throws(DiskImageError) -> GPTPartition? {
        let s = e.startIndex
        let type = GUID(diskBytes: e[s..<(s + 16)])
        if type == .zero {
            guard e.allSatisfy({ $0 == 0 }) else {
                throw DiskImageError(.partitionTable, "GPT entry \(index + 1) is unused (type zero) but not zero throughout")
            }
            return nil
        }
        var units: [UInt16] = []
        for i in 0..<36 { units.append(UInt16(e[s + 56 + 2 * i]) | UInt16(e[s + 57 + 2 * i]) << 8) }
        let length = units.firstIndex(of: 0) ?? 36
        guard units[length...].allSatisfy({ $0 == 0 }) else {
            throw DiskImageError(.partitionTable, "GPT entry \(index + 1) has bytes after the NUL that ends its name")
        }
        return GPTPartition(type: type, uuid: GUID(diskBytes: e[(s + 16)..<(s + 32)]),
                            firstLBA: rd(e, s + 32, 8), lastLBA: rd(e, s + 40, 8), attributes: rd(e, s + 48, 8),
                            name: String(decoding: units[..<length], as: UTF16.self))
    }
}

func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
func rd(_ b: ArraySlice<UInt8>, _ o: Int, _ n: Int) -> UInt64 {
    var v: UInt64 = 0
    for i in (0..<n).reversed() { v = v << 8 | UInt64(b[o + i]) }
    return v
}
