/// A GPT header, primary (LBA 1) or backup (the last LBA).
///
/// Rule (UEFI 2.10 §5.3.2), little-endian, in a sector of its own:
///
///     0   8  signature "EFI PART"
///     8   4  revision 0x00010000 (1.0)
///    12   4  header size, 92
///    16   4  CRC32 of the header's 92 bytes with this field zero
///    20   4  reserved, zero
///    24   8  this header's LBA
///    32   8  the other header's LBA
///    40   8  first usable LBA
///    48   8  last usable LBA
///    56  16  disk GUID
///    72   8  entry array LBA
///    80   4  number of entries
///    84   4  size of an entry
///    88   4  CRC32 of the entry array
///    92      zero to the end of the sector
///
/// Read back, every field must be as written here: revision 1.0, a
/// 92-byte header, zero reserved bytes and padding, 128 entries of 128
/// bytes. Where the header lies and what it points to, `GPT.read` checks
/// against the disk.
public struct GPTHeader: Sendable, Equatable {
    public static let size = 92
    public static let revision: UInt64 = 0x0001_0000

    public var myLBA: UInt64
    public var alternateLBA: UInt64
    public var firstUsableLBA: UInt64
    public var lastUsableLBA: UInt64
    public var diskGUID: GUID
    public var entryArrayLBA: UInt64
    public var entryCount: UInt64
    public var entrySize: UInt64
    public var entryArrayCRC: UInt32

    /// The header's sector.
    func encode() -> [UInt8] {
        var h = Array("EFI PART".utf8) + le(Self.revision, 4) + le(UInt64(Self.size), 4) + le(0, 4) + le(0, 4)
        h += le(myLBA, 8) + le(alternateLBA, 8) + le(firstUsableLBA, 8) + le(lastUsableLBA, 8)
        h += diskGUID.diskBytes + le(entryArrayLBA, 8) + le(entryCount, 4)
        h += le(entrySize, 4) + le(UInt64(entryArrayCRC), 4)
        let crc = CRC32.of(h)
        h.replaceSubrange(16..<20, with: le(UInt64(crc), 4))
        return h + [UInt8](repeating: 0, count: Int(GPT.sectorSize) - h.count)
    }

    /// Reads the header in `sector` (512 bytes); `which` names it in
    /// errors ("primary", "backup").
    static func decode(_ sector: ArraySlice<UInt8>, which: String) throws(DiskImageError) -> GPTHeader {
        let s = sector.startIndex
        func fail(_ what: String) -> DiskImageError { DiskImageError(.partitionTable, "the \(which) GPT header \(what)") }
        guard sector.count == Int(GPT.sectorSize), sector[s..<(s + 8)].elementsEqual("EFI PART".utf8) else {
            throw fail("is missing (no \"EFI PART\" signature)")
        }
        guard rd(sector, s + 8, 4) == Self.revision else { throw fail("has revision 0x\(String(rd(sector, s + 8, 4), radix: 16)), not 1.0") }
        guard rd(sector, s + 12, 4) == UInt64(Self.size) else { throw fail("is \(rd(sector, s + 12, 4)) bytes, not \(Self.size)") }
        var copy = Array(sector[s..<(s + Self.size)])
        copy.replaceSubrange(16..<20, with: [0, 0, 0, 0])
        guard CRC32.of(copy) == UInt32(rd(sector, s + 16, 4)) else { throw fail("does not match its CRC32") }
        guard rd(sector, s + 20, 4) == 0, sector[(s + Self.size)...].allSatisfy({ $0 == 0 }) else {
            throw fail("has non-zero bytes in its reserved field or after its 92 bytes")
        }
        let h = GPTHeader(myLBA: rd(sector, s + 24, 8), alternateLBA: rd(sector, s + 32, 8),
                          firstUsableLBA: rd(sector, s + 40, 8), lastUsableLBA: rd(sector, s + 48, 8),
                          diskGUID: GUID(diskBytes: sector[(s + 56)..<(s + 72)]), entryArrayLBA: rd(sector, s + 72, 8),
                          entryCount: rd(sector, s + 80, 4), entrySize: rd(sector, s + 84, 4),
                          entryArrayCRC: UInt32(rd(sector, s + 88, 4)))
        guard h.entryCount == UInt64(GPT.entryCount), h.entrySize == UInt64(GPTPartition.entrySize) else {
            throw fail("describes \(h.entryCount) entries of \(h.entrySize) bytes, not \(GPT.entryCount) of \(GPTPartition.entrySize)")
        }
        return h
    }
}
