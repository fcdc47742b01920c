/// A cursor over bytes already read from an image, taking little-endian
/// fields. Every take is checked against the bytes there are; running
/// short throws `.badImage` naming `place`.
struct LittleEndianReader {
    let bytes: [UInt8]
    private(set) var at: Int
    let place: String

    init(_ bytes: [UInt8], at: Int = 0, place: String) {
        self.bytes = bytes
        self.at = at
        self.place = place
    }

    var remaining: Int { bytes.count - at }

    mutating func take(_ count: Int) throws(SquashFSError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= remaining else {
            throw .badImage(place, "needs \(count) more bytes at byte \(at), but only \(remaining) remain")
        }
        defer { at += count }
        return bytes[at..<at + count]
    }

    mutating func u16() throws(SquashFSError) -> UInt16 { UInt16(try number(2)) }
    mutating func u32() throws(SquashFSError) -> UInt32 { UInt32(try number(4)) }
    mutating func u64() throws(SquashFSError) -> UInt64 { try number(8) }

    private mutating func number(_ width: Int) throws(SquashFSError) -> UInt64 {
        let field = try take(width)
        var value: UInt64 = 0
        for byte in field.reversed() { value = value << 8 | UInt64(byte) }
        return value
    }
}
