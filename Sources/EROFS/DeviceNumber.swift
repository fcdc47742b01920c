/// A device inode's number, in i_u: Linux's "new" 32-bit encoding, minor
/// bits 0-7 in bits 0-7, major in bits 8-19, minor bits 8-19 in bits 20-31.
enum DeviceNumber {
    static func encode(major: UInt32, minor: UInt32) -> UInt32 {
        (minor & 0xFF) | ((major & 0xFFF) << 8) | ((minor & ~UInt32(0xFF)) << 12)
    }
}
