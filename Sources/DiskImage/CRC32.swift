import CZlib

/// CRC-32 (IEEE 802.3, the one GPT uses for its header and entry array),
/// from zlib.
enum CRC32 {
    static func of(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { b in
            UInt32(truncatingIfNeeded: crc32(0, b.baseAddress?.assumingMemoryBound(to: UInt8.self), UInt32(b.count)))
        }
    }
    static func of(_ bytes: [UInt8]) -> UInt32 { of(bytes[...]) }
}
