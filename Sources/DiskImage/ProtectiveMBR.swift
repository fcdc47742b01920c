import Hex

/// LBA 0 of a GPT disk: the protective MBR.
///
/// Rule (UEFI 2.10 §5.2.3), 512 bytes: boot code (440), disk signature
/// (4) and 2 reserved bytes, all zero here; then four 16-byte partition
/// records, of which the first is the protective one: not bootable (0),
/// starting CHS 00 02 00, type 0xEE, ending CHS FF FF FF, starting LBA 1,
/// size in sectors the disk's less one, or 0xFFFFFFFF if that does not
/// fit; the other three records zero; 55 AA at bytes 510-511.
///
/// Read back, the sector must be exactly that, byte for byte: any other
/// record (a DOS partition, a second 0xEE entry, a hybrid MBR) would let
/// blkid, and so systemd's dissection, read the disk as a DOS disk or
/// find a partition no GPT entry, CRC or hash covers, and no boot code is
/// needed on a disk that is never booted.
enum ProtectiveMBR {
    static let size = 512

    static func encode(diskSize: UInt64) -> [UInt8] {
        var m = [UInt8](repeating: 0, count: size)
        let sectors = min(diskSize / GPT.sectorSize - 1, 0xFFFF_FFFF)
        let record: [UInt8] = [0x00, 0x00, 0x02, 0x00, 0xEE, 0xFF, 0xFF, 0xFF] + le(1, 4) + le(sectors, 4)
        m.replaceSubrange(446..<462, with: record)
        m[510] = 0x55
        m[511] = 0xAA
        return m
    }

    /// Checks that `sector` is the protective MBR of a disk of `diskSize`
    /// bytes; the error names the first difference.
    static func check(_ sector: ArraySlice<UInt8>, diskSize: UInt64) throws(DiskImageError) {
        let expected = encode(diskSize: diskSize)
        guard sector.count == size else { throw DiskImageError(.protectiveMBR, "LBA 0 is \(sector.count) bytes, not a sector") }
        guard let at = zip(sector, expected).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset else { return }
        let s = sector.startIndex
        if at >= 510 {
            throw DiskImageError(.protectiveMBR, "LBA 0 does not end in the MBR signature 55 AA")
        }
        if at < 446 {
            throw DiskImageError(.protectiveMBR, "LBA 0 has boot code or a disk signature at byte \(at) (a protective MBR has none)")
        }
        let record = (at - 446) / 16
        let type = sector[s + 446 + 16 * record + 4]
        if record == 0 && type != 0xEE {
            throw DiskImageError(.protectiveMBR, "LBA 0 is not a protective MBR: its first partition record has type 0x\(hex([type])), not 0xEE (GPT)")
        }
        if record > 0 {
            throw DiskImageError(.protectiveMBR, "LBA 0 holds MBR partition record \(record + 1) (type 0x\(hex([type]))) beside the protective one")
        }
        throw DiskImageError(.protectiveMBR, "LBA 0's protective record differs at byte \(at - 446) from one that covers this disk from LBA 1")
    }
}
