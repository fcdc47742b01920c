/// RFC 4648 base64, standard alphabet, with padding: what `sign` writes
/// in a signature partition, and what it reads back.
///
/// Rule (RFC 4648 §4): each 3 bytes become 4 characters of 6 bits each
/// from A-Z a-z 0-9 + /; a final 1 or 2 bytes become 2 or 3 characters
/// and `==` or `=`. Read back, only the canonical form is accepted: a
/// length that is a multiple of 4, padding only at the end, and zero in
/// the unused low bits of the last character (so one byte string has one
/// spelling).
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            var v: UInt32 = 0
            for k in 0..<3 { v = v << 8 | (k < n ? UInt32(bytes[i + k]) : 0) }
            for k in 0..<4 { out.append(k <= n ? alphabet[Int(v >> (18 - 6 * UInt32(k)) & 63)] : UInt8(ascii: "=")) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// nil unless `text` is the canonical encoding of some bytes.
    static func decode(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        var value = [Int](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { value[Int(c)] = i }
        var out: [UInt8] = []
        var at = text.startIndex
        while at < text.endIndex {
            let group = text[at..<(at + 4)]
            let pad = group.reversed().prefix { $0 == UInt8(ascii: "=") }.count
            guard pad <= 2, pad == 0 || at + 4 == text.endIndex else { return nil }
            var v = 0
            for c in group.prefix(4 - pad) {
                guard value[Int(c)] >= 0 else { return nil }
                v = v << 6 | value[Int(c)]
            }
            v <<= 6 * pad
            let bytes = [UInt8(truncatingIfNeeded: v >> 16), UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
            guard bytes[(3 - pad)...].allSatisfy({ $0 == 0 }) else { return nil }
            out += bytes[..<(3 - pad)]
            at += 4
        }
        return out
    }
}
