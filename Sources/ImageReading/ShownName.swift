/// A name or path read from an image, as a message shows it: in double
/// quotes, with control characters, `"`, `\` and bytes that are not UTF-8
/// written as `\xNN`, and cut after 80 bytes, so a refusal stays one short
/// line whatever the image holds.
public enum Shown {
    public static func quoted(_ bytes: [UInt8]) -> String {
        "\"" + escaped(bytes) + "\""
    }

    /// The same without the quotes, for paths built from checked names.
    public static func escaped(_ bytes: [UInt8]) -> String {
        var out = ""
        let cut = bytes.count > 80
        var i = 0
        let end = min(bytes.count, 80)
        while i < end {
            let b = bytes[i]
            if b >= 0x20 && b < 0x7F && b != 0x22 && b != 0x5C {
                out.unicodeScalars.append(Unicode.Scalar(b))
                i += 1
            } else if b >= 0xC2, let (scalar, width) = decode(bytes, at: i), i + width <= end {
                out.unicodeScalars.append(scalar)
                i += width
            } else {
                let hex = String(b, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
                i += 1
            }
        }
        return out + (cut ? "…" : "")
    }

    /// One UTF-8 sequence of 2 to 4 bytes at `i`, if valid and printable.
    private static func decode(_ bytes: [UInt8], at i: Int) -> (Unicode.Scalar, Int)? {
        let width = bytes[i] >= 0xF0 ? 4 : bytes[i] >= 0xE0 ? 3 : 2
        guard i + width <= bytes.count else { return nil }
        let slice = Array(bytes[i..<i + width])
        let text = String(decoding: slice, as: UTF8.self)
        guard let scalar = text.unicodeScalars.first, text.unicodeScalars.count == 1, scalar != "\u{FFFD}",
              !(0x80..<0xA0).contains(scalar.value), scalar != "\u{2028}", scalar != "\u{2029}" else { return nil }
        return (scalar, width)
    }
}
