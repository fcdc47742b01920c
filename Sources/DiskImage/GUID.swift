/// A GPT GUID. Held as the 16 bytes of its text form, in text order (as
/// systemd's sd_id128 holds it); GPT stores the first three fields
/// little-endian ("mixed endian"), which `diskBytes` gives.
public struct GUID: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16)
        self.bytes = bytes
    }

    /// From `4f68bce3-e8cd-4db1-96e7-fbcaf984b709`.
    public init?(_ text: String) {
        let hexDigits = text.utf8.filter { $0 != UInt8(ascii: "-") }
        guard hexDigits.count == 32, text.utf8.count == 36 else { return nil }
        var out: [UInt8] = []
        var i = hexDigits.startIndex
        func v(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            case 0x41...0x46: return c - 0x41 + 10
            default: return nil
            }
        }
        while i < hexDigits.endIndex {
            guard let h = v(hexDigits[i]), let l = v(hexDigits[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        bytes = out
    }

    /// From the 16 bytes GPT stores.
    public init(diskBytes d: ArraySlice<UInt8>) {
        let a = Array(d)
        bytes = [a[3], a[2], a[1], a[0], a[5], a[4], a[7], a[6]] + a[8..<16]
    }

    public var diskBytes: [UInt8] {
        let b = bytes
        return [b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6]] + b[8..<16]
    }

    public var description: String {
        let digits = Array("0123456789abcdef")
        var s = ""
        for (i, b) in bytes.enumerated() {
            if [4, 6, 8, 10].contains(i) { s.append("-") }
            s.append(digits[Int(b >> 4)])
            s.append(digits[Int(b & 15)])
        }
        return s
    }

    public static let zero = GUID(bytes: [UInt8](repeating: 0, count: 16))
}
