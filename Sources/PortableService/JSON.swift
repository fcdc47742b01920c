/// A small, strict RFC 8259 JSON parser, enough to read the attributes file
/// Nix writes for `__structuredAttrs = true` derivations. Not Foundation's
/// JSONSerialization: Foundation could be linked into the static builder
/// (about 7 MB more), but it accepts what this one refuses (a repeated
/// key, for one) and its errors give no line and column; these do, and
/// `Attrs` names the attribute of every value of the wrong kind.
///
/// Strictness, on purpose (the input is machine-written, so anything odd is
/// a bug worth reporting rather than guessing around):
/// - the input must be valid UTF-8; a byte order mark is rejected;
/// - only the four JSON whitespace characters are skipped;
/// - numbers follow the RFC grammar exactly (no `+1`, `01`, `1.`, `.5`, NaN);
/// - strings must not contain raw control characters, escapes must be one
///   of the nine the RFC defines, `\u` surrogates must pair up;
/// - an object must not repeat a key (the RFC leaves that undefined);
/// - nothing but whitespace may follow the top-level value;
/// - nesting is limited to `JSONParser.maxDepth` levels;
/// - a document holds at most `JSONParser.maxValues` values: each costs a
///   fixed `JSONValue` (24 bytes) however short its text (`0,` is two
///   bytes), so without a bound a 60 MB list of zeros asks for 720 MB; with
///   it, the values of any accepted document fit in about 100 MB.
/// Every error carries a 1-based line and column (columns count characters,
/// not bytes).

public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// The number's literal text, exactly as written (already checked
    /// against the grammar). Convert with `JSONNumber`'s accessors.
    case number(JSONNumber)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// A short word for messages: "null", "a boolean", "a number", ...
    public var kindDescription: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an attribute set"
        }
    }
}

public struct JSONNumber: Sendable, Equatable, CustomStringConvertible {
    public var text: String

    public init(text: String) { self.text = text }

    /// The value as an integer, if the literal is an integer in range
    /// (no fraction, no exponent).
    public var intValue: Int? { Int(text) }

    public var description: String { text }
}

/// An object with its members in input order; keys are unique as bytes
/// (Swift's `String ==` would take an NFC key and its NFD twin for the
/// same key; JSON and Nix do not).
public struct JSONObject: Sendable, Equatable {
    public private(set) var keys: [String] = []
    private var values: [[UInt8]: JSONValue] = [:]

    public init() {}

    /// Adds a member; returns false (and changes nothing) if the key exists.
    @discardableResult
    public mutating func add(_ key: String, _ value: JSONValue) -> Bool {
        let k = Array(key.utf8)
        if values[k] != nil { return false }
        keys.append(key)
        values[k] = value
        return true
    }

    public subscript(key: String) -> JSONValue? { values[Array(key.utf8)] }

    public var count: Int { keys.count }
}

public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var message: String

    public var description: String { "\(line):\(column): \(message)" }
}

/// Parses one JSON text.
public func parseJSON(_ bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
    var parser = JSONParser(bytes: bytes)
    return try parser.parseDocument()
}

public func parseJSON(_ text: String) throws(JSONParseError) -> JSONValue {
    try parseJSON(Array(text.utf8))
}

struct JSONParser {
    static let maxDepth = 512
    /// Far above a real attributes file: a closure of 10,000 store paths,
    /// each with its hash, sizes and 50 references, is about 600,000.
    static let maxValues = 1 << 22

    let bytes: [UInt8]
    var pos = 0
    var depth = 0
    var values = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            throw error(at: 0, "byte order mark at the start; JSON text must not begin with one")
        }
        skipWhitespace()
        if pos == bytes.count { throw error(at: pos, "empty input; expected a JSON value") }
        let value = try parseValue()
        skipWhitespace()
        if pos != bytes.count {
            throw error(at: pos, "unexpected \(describe(pos)) after the top-level value; expected end of input")
        }
        return value
    }

    // MARK: values

    mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard pos < bytes.count else { throw error(at: pos, "unexpected end of input; expected a value") }
        values += 1
        if values > JSONParser.maxValues {
            throw error(at: pos, "more than \(JSONParser.maxValues) values (list elements, members, strings and numbers), the most this reader holds in memory; a real attributes file has far fewer")
        }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default:
            throw error(at: pos, "unexpected \(describe(pos)); expected a value (object, list, string, number, true, false or null)")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let start = pos
        let utf8 = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        for b in utf8 {
            guard pos < bytes.count, bytes[pos] == b else {
                throw error(at: start, "invalid literal; expected \(word)")
            }
            pos += 1
        }
        // `truex` is not `true` followed by garbage we can name better.
        if pos < bytes.count, isIdentifierByte(bytes[pos]) {
            throw error(at: start, "invalid literal; expected \(word)")
        }
    }

    mutating func enter(_ at: Int) throws(JSONParseError) {
        depth += 1
        if depth > JSONParser.maxDepth {
            throw error(at: at, "nesting deeper than \(JSONParser.maxDepth) levels")
        }
    }

    mutating func parseObject() throws(JSONParseError) -> JSONValue {
        let open = pos
        try enter(open)
        pos += 1
        var object = JSONObject()
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") {
            pos += 1
            depth -= 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard pos < bytes.count else {
                throw error(at: pos, "unexpected end of input in the object opened at \(location(open)); expected a key")
            }
            guard bytes[pos] == UInt8(ascii: "\"") else {
                throw error(at: pos, "unexpected \(describe(pos)); expected a key in double quotes")
            }
            let keyStart = pos
            let key = try parseString()
            skipWhitespace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else {
                throw error(at: pos, "unexpected \(describe(pos)) after key \(quoted(key)); expected ':'")
            }
            pos += 1
            skipWhitespace()
            let value = try parseValue()
            if !object.add(key, value) {
                throw error(at: keyStart, "duplicate key \(quoted(key)) in one object")
            }
            skipWhitespace()
            guard pos < bytes.count else {
                throw error(at: pos, "unexpected end of input in the object opened at \(location(open)); expected ',' or '}'")
            }
            switch bytes[pos] {
            case UInt8(ascii: ","):
                pos += 1
            case UInt8(ascii: "}"):
                pos += 1
                depth -= 1
                return .object(object)
            default:
                throw error(at: pos, "unexpected \(describe(pos)) after a member; expected ',' or '}'")
            }
        }
    }

    mutating func parseArray() throws(JSONParseError) -> JSONValue {
        let open = pos
        try enter(open)
        pos += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") {
            pos += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            guard pos < bytes.count else {
                throw error(at: pos, "unexpected end of input in the list opened at \(location(open)); expected ',' or ']'")
            }
            switch bytes[pos] {
            case UInt8(ascii: ","):
                pos += 1
            case UInt8(ascii: "]"):
                pos += 1
                depth -= 1
                return .array(items)
            default:
                throw error(at: pos, "unexpected \(describe(pos)) after a list element; expected ',' or ']'")
            }
        }
    }

    mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
        let start = pos
        if bytes[pos] == UInt8(ascii: "-") { pos += 1 }
        guard pos < bytes.count, isDigit(bytes[pos]) else {
            throw error(at: pos, "unexpected \(describe(pos)) in a number; expected a digit")
        }
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
            if pos < bytes.count, isDigit(bytes[pos]) {
                throw error(at: start, "number with a leading zero; JSON numbers must not have one")
            }
        } else {
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            pos += 1
            guard pos < bytes.count, isDigit(bytes[pos]) else {
                throw error(at: pos, "unexpected \(describe(pos)) after a decimal point; expected a digit")
            }
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < bytes.count, isDigit(bytes[pos]) else {
                throw error(at: pos, "unexpected \(describe(pos)) in an exponent; expected a digit")
            }
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        }
        if pos < bytes.count, isIdentifierByte(bytes[pos]) || bytes[pos] == UInt8(ascii: ".") {
            throw error(at: pos, "unexpected \(describe(pos)) after a number")
        }
        return JSONNumber(text: String(decoding: bytes[start..<pos], as: UTF8.self))
    }

    /// Parses a string starting at the opening quote.
    mutating func parseString() throws(JSONParseError) -> String {
        let open = pos
        pos += 1
        var out: [UInt8] = []
        var runStart = pos
        while true {
            guard pos < bytes.count else {
                throw error(at: open, "string never closed; expected '\"' before the end of input")
            }
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                if out.isEmpty {
                    let s = String(decoding: bytes[runStart..<pos], as: UTF8.self)
                    pos += 1
                    return s
                }
                out.append(contentsOf: bytes[runStart..<pos])
                pos += 1
                return String(decoding: out, as: UTF8.self)
            }
            if b == UInt8(ascii: "\\") {
                out.append(contentsOf: bytes[runStart..<pos])
                try parseEscape(into: &out)
                runStart = pos
                continue
            }
            if b < 0x20 {
                throw error(at: pos, "raw control character \(describe(pos)) in a string; write it as an escape (\\n, \\t, \\u00XX)")
            }
            if b < 0x80 {
                pos += 1
            } else {
                try skipUTF8Sequence()
            }
        }
    }

    mutating func parseEscape(into out: inout [UInt8]) throws(JSONParseError) {
        let start = pos
        pos += 1
        guard pos < bytes.count else {
            throw error(at: start, "string never closed; input ends inside an escape")
        }
        let c = bytes[pos]
        pos += 1
        switch c {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4(escapeStart: start)
            if scalar >= 0xD800 && scalar <= 0xDBFF {
                // A high surrogate must be followed by an escaped low one.
                guard pos + 1 < bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                    throw error(at: start, "unpaired surrogate \\u\(hexText(scalar)); a high surrogate must be followed by a \\uDC00-\\uDFFF escape")
                }
                let lowStart = pos
                pos += 2
                let low = try hex4(escapeStart: lowStart)
                guard low >= 0xDC00 && low <= 0xDFFF else {
                    throw error(at: lowStart, "\\u\(hexText(low)) after the high surrogate \\u\(hexText(scalar)) is not a low surrogate (\\uDC00-\\uDFFF)")
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if scalar >= 0xDC00 && scalar <= 0xDFFF {
                throw error(at: start, "unpaired low surrogate \\u\(hexText(scalar))")
            }
            appendUTF8(scalar, to: &out)
        default:
            throw error(at: start, "invalid escape '\\\(printable(c))'; JSON allows \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX")
        }
    }

    mutating func hex4(escapeStart: Int) throws(JSONParseError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard pos < bytes.count, let d = hexValue(bytes[pos]) else {
                throw error(at: escapeStart, "invalid \\u escape; expected four hex digits")
            }
            v = v << 4 | UInt32(d)
            pos += 1
        }
        return v
    }

    /// Checks one multi-byte UTF-8 sequence at `pos` (RFC 3629: no overlong
    /// forms, no surrogates, nothing past U+10FFFF) and steps over it.
    mutating func skipUTF8Sequence() throws(JSONParseError) {
        let b0 = bytes[pos]
        let length: Int
        var lower: UInt8 = 0x80
        var upper: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; lower = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; upper = 0x9F
        case 0xF0: length = 4; lower = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; upper = 0x8F
        default:
            throw error(at: pos, "invalid UTF-8 byte 0x\(hexByte(b0)); the input must be UTF-8")
        }
        for i in 1..<length {
            let p = pos + i
            guard p < bytes.count else {
                throw error(at: pos, "truncated UTF-8 sequence; the input must be UTF-8")
            }
            let b = bytes[p]
            let lo: UInt8 = i == 1 ? lower : 0x80
            let hi: UInt8 = i == 1 ? upper : 0xBF
            guard b >= lo && b <= hi else {
                throw error(at: pos, "invalid UTF-8 sequence starting with byte 0x\(hexByte(b0)); the input must be UTF-8")
            }
        }
        pos += length
    }

    mutating func skipWhitespace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    // MARK: positions and messages

    /// 1-based line and column of a byte offset. Lines end at LF; columns
    /// count characters (UTF-8 lead bytes), so a multi-byte character is
    /// one column.
    func lineColumn(_ offset: Int) -> (line: Int, column: Int) {
        var line = 1
        var column = 1
        var i = 0
        let end = min(offset, bytes.count)
        while i < end {
            let b = bytes[i]
            if b == 0x0A {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
            i += 1
        }
        return (line, column)
    }

    func location(_ offset: Int) -> String {
        let (l, c) = lineColumn(offset)
        return "\(l):\(c)"
    }

    func error(at offset: Int, _ message: String) -> JSONParseError {
        let (l, c) = lineColumn(offset)
        return JSONParseError(line: l, column: c, message: message)
    }

    func describe(_ offset: Int) -> String {
        guard offset < bytes.count else { return "end of input" }
        let b = bytes[offset]
        if b >= 0x21 && b < 0x7F { return "character '\(printable(b))'" }
        switch b {
        case 0x20: return "space"
        case 0x0A: return "line feed"
        case 0x0D: return "carriage return"
        case 0x09: return "tab"
        default: return "byte 0x\(hexByte(b))"
        }
    }
}

private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

private func isIdentifierByte(_ b: UInt8) -> Bool {
    (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F
}

private func hexValue(_ b: UInt8) -> UInt8? {
    switch b {
    case 0x30...0x39: return b - 0x30
    case 0x41...0x46: return b - 0x41 + 10
    case 0x61...0x66: return b - 0x61 + 10
    default: return nil
    }
}

private func hexByte(_ b: UInt8) -> String {
    let s = String(b, radix: 16, uppercase: true)
    return s.count < 2 ? "0" + s : s
}

private func hexText(_ v: UInt32) -> String {
    var s = String(v, radix: 16, uppercase: true)
    while s.count < 4 { s = "0" + s }
    return s
}

private func printable(_ b: UInt8) -> String {
    b >= 0x20 && b < 0x7F ? String(UnicodeScalar(b)) : "\\x" + hexByte(b)
}

private func appendUTF8(_ scalar: UInt32, to out: inout [UInt8]) {
    switch scalar {
    case 0..<0x80:
        out.append(UInt8(scalar))
    case 0x80..<0x800:
        out.append(UInt8(0xC0 | (scalar >> 6)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    case 0x800..<0x10000:
        out.append(UInt8(0xE0 | (scalar >> 12)))
        out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    default:
        out.append(UInt8(0xF0 | (scalar >> 18)))
        out.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (scalar & 0x3F)))
    }
}
