/// Unit names, checked with the rules `portablectl attach` applies when it
/// copies units out of an image (systemd src/portable/portable.c,
/// `unit_match` and `prefix_match`, plus `unit_name_is_valid` from
/// src/basic/unit-name.c):
///
/// - the name ends in one of the suffixes portablectl extracts:
///   `.service`, `.socket`, `.target`, `.timer`, `.path` (anything else in
///   the image is ignored, so putting it there is a mistake);
/// - it is a valid unit name: at most 255 bytes, only `A-Z a-z 0-9 : - _ . \`
///   and `@` before the suffix, not starting with `@`;
/// - it starts with the image's prefix (here: `pname`, which the image also
///   declares as `PORTABLE_PREFIXES`) followed by `-`, `.` or `@`. So for
///   pname `foo`: `foo.service`, `foo-web.socket`, `foo@.service` match;
///   `foobar.service` and `bar-foo.service` do not.
public enum UnitName {
    /// The unit types portablectl copies out of an image, in its order.
    public static let portableSuffixes = [".service", ".socket", ".target", ".timer", ".path"]

    /// systemd's UNIT_NAME_MAX is 256 including the terminating NUL.
    public static let maxLength = 255

    /// nil if `name` is acceptable for an image whose prefix is `pname`,
    /// otherwise the reason, phrased to follow "unit NAME: ".
    public static func problem(_ name: String, pname: String) -> String? {
        let bytes = Array(name.utf8)
        if bytes.isEmpty { return "the name is empty" }
        if bytes.count > maxLength {
            return "the name is \(bytes.count) bytes long; systemd allows at most \(maxLength)"
        }
        guard let suffix = portableSuffixes.first(where: { name.hasSuffix($0) }), bytes.count > suffix.utf8.count else {
            return "the name must end in \(portableSuffixes.joined(separator: ", ")) (the unit types portablectl attaches)"
        }
        let stem = bytes.dropLast(suffix.utf8.count)
        for b in stem where !isUnitNameByte(b) {
            return "the name contains \(describeByte(b)); a unit name may contain only letters, digits and : - _ . \\ @"
        }
        if stem.first == UInt8(ascii: "@") {
            return "the name starts with '@'; a template or instance needs a prefix before '@'"
        }
        let prefix = Array(pname.utf8)
        guard bytes.starts(with: prefix), bytes.count > prefix.count,
              [UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "@")].contains(bytes[prefix.count])
        else {
            return "portablectl attaches only units whose name is the image prefix \(quoted(pname)) followed by '-', '.' or '@', e.g. \(quoted(pname + suffix)) or \(quoted(pname + "-" + "worker" + suffix)); rename the unit's derivation"
        }
        return nil
    }

    /// The unit name of a unit file given by path: the store path's name
    /// without its hash when the path is a store path itself (that is the
    /// unit derivation's `name`), else the last path component.
    public static func fromPath(_ path: String, storeDir: String) -> String {
        if let name = StorePath.name(ofRoot: path, storeDir: storeDir) {
            return StorePath.nameWithoutHash(name)
        }
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        return components.last.map(String.init) ?? path
    }

    static func isUnitNameByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: ":"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "@"):
            return true
        default:
            return false
        }
    }
}

/// Checks `pname`: it names the image file, is the unit prefix portablectl
/// matches, and is written into os-release as PORTABLE_ID and
/// PORTABLE_PREFIXES (a space-separated list). So: a letter or digit first,
/// then letters, digits and `: - _ .` (unit-name characters without `@`,
/// which would make every unit an instance, and `\`).
public func pnameProblem(_ pname: String) -> String? {
    let bytes = Array(pname.utf8)
    guard let first = bytes.first else { return "is empty" }
    if bytes.count > 200 { return "is \(bytes.count) bytes long; keep it under 200 so unit names stay within systemd's 255" }
    let isAlnum: (UInt8) -> Bool = { b in
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }
    guard isAlnum(first) else { return "must start with a letter or digit (it is the image's unit prefix)" }
    for b in bytes where !(isAlnum(b) || b == UInt8(ascii: ":") || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".")) {
        return "contains \(describeByte(b)); use only letters, digits and : - _ . (it is the image's unit prefix)"
    }
    return nil
}

func describeByte(_ b: UInt8) -> String {
    if b >= 0x21 && b < 0x7F { return "'\(String(UnicodeScalar(b)))'" }
    if b == 0x20 { return "a space" }
    let hex = String(b, radix: 16, uppercase: true)
    return "byte 0x" + (hex.count < 2 ? "0" + hex : hex)
}
