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
    public static let portableSuffixes = ServiceRules.unitSuffixes

    /// systemd's UNIT_NAME_MAX is 256 including the terminating NUL.
    public static let maxLength = ServiceRules.unitNameMaxBytes

    /// nil if `name` is acceptable for an image whose prefix is `pname`,
    /// otherwise the reason, phrased to follow "unit NAME: ".
    public static func problem(_ name: String, pname: String) -> String? {
        let bytes = Array(name.utf8)
        if bytes.isEmpty { return "the name is empty" }
        if bytes.count > maxLength {
            return "the name is \(bytes.count) bytes long; systemd allows at most \(maxLength)"
        }
        guard let suffix = portableSuffixes.first(where: { bytes.reversed().starts(with: $0.utf8.reversed()) }), bytes.count > suffix.utf8.count else {
            return "the name must end in \(portableSuffixes.joined(separator: ", ")) (the unit types portablectl attaches; it ignores any other file there, so nixpkgs' image would carry this one unused)"
        }
        let stem = bytes.dropLast(suffix.utf8.count)
        for u in String(decoding: stem, as: UTF8.self).unicodeScalars where !(u.isASCII && isUnitNameByte(UInt8(u.value))) {
            return "the name contains \(describeScalar(u)); a unit name may contain only letters, digits and : - _ . \\ @"
        }
        if stem.first == UInt8(ascii: "@") {
            return "the name starts with '@'; a template or instance needs a prefix before '@'"
        }
        let prefix = Array(pname.utf8)
        guard bytes.starts(with: prefix), bytes.count > prefix.count,
              ServiceRules.unitPrefixSeparators.contains(where: { Array($0.utf8) == [bytes[prefix.count]] })
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
        // Split bytes: a combining mark after '/' makes the two one
        // Character, so splitting the String would not cut there.
        let components = Array(path.utf8).split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
        return components.last.map { String(decoding: $0, as: UTF8.self) } ?? path
    }

    static func isUnitNameByte(_ b: UInt8) -> Bool {
        ServiceRules.unitNameCharacters.utf8.contains(b)
    }
}

/// Checks `pname`: it names the image file `${pname}_${version}.raw`, is
/// the unit prefix portablectl matches, and is written into os-release as
/// PORTABLE_ID and PORTABLE_PREFIXES (a space-separated list).
///
/// portablectl derives the prefix from the image file name (systemd
/// src/portable/portablectl.c, `extract_prefix`): the name up to the first
/// `_`, which must consist of `A-Z a-z 0-9 - .` only (unit-name characters
/// without `:` and `\`, and without `_`, the separator before the version).
/// So a `_` in pname would cut the prefix short (`my_app_1.0.raw` → prefix
/// `my`, and no `my_app.service` matches it), and a `:` makes portablectl
/// refuse the image name. The first character must be a letter or digit (a
/// leading `.` would hide the image file, a leading `-` reads as an option).
public func pnameProblem(_ pname: String) -> String? {
    let bytes = Array(pname.utf8)
    guard let first = bytes.first else {
        return "is empty; it names the image file ${pname}_${version}.raw and is the prefix of every unit name, e.g. \"demo\""
    }
    let limit = ServiceRules.pnameMaxBytes
    if bytes.count > limit { return "is \(bytes.count) bytes long; keep it under \(limit) so unit names stay within systemd's \(UnitName.maxLength)" }
    let isAlnum: (UInt8) -> Bool = { b in
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }
    for u in pname.unicodeScalars where !(u.isASCII && ServiceRules.pnameCharacters.utf8.contains(UInt8(u.value))) {
        switch u {
        case "_":
            return "contains '_'; portablectl takes the image file name up to the first '_' as the unit prefix, so use '-' instead (e.g. \(quoted(pname.replacingUnderscores())))"
        case ":":
            return "contains ':'; portablectl accepts only letters, digits, '-' and '.' in an image's prefix"
        case "/":
            return "contains '/'; it names a single image file ${pname}_${version}.raw; use only letters, digits, '-' and '.'"
        default:
            return "contains \(describeScalar(u)); portablectl accepts only letters, digits, '-' and '.' in an image's prefix"
        }
    }
    guard isAlnum(first) else {
        return "must start with a letter or digit (it is the image's unit prefix and names the image file)"
    }
    return nil
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        String(String.UnicodeScalarView(unicodeScalars.map { $0 == "_" ? "-" : $0 }))
    }
}

/// A character for a message: `'x'`, "a space", "a tab", "the control
/// character U+000A", "'é' (U+00E9)".
func describeScalar(_ u: Unicode.Scalar) -> String {
    let hex = String(u.value, radix: 16, uppercase: true)
    let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    switch u {
    case " ": return "a space"
    case "\t": return "a tab"
    default:
        if u.value < 0x20 || u.value == 0x7F || (u.value >= 0x80 && u.value < 0xA0) { return "the control character \(code)" }
        if u.properties.generalCategory == .format { return "the invisible format character \(code)" }
        if u.properties.isWhitespace { return "the white space character \(code)" }
        if u.isASCII { return "'\(u)'" }
        return "'\(u)' (\(code))"
    }
}

/// The first character of `s` that must not be in a one-line text value
/// (pname, version, description, homepage): a C0 or C1 control character,
/// DEL, a line or paragraph separator, or a format character (general
/// category Cf: zero-width spaces and joiners U+200B–U+200D, the byte
/// order mark U+FEFF, the bidirectional controls U+202A–U+202E and
/// U+2066–U+2069, …), which are invisible or reorder text, so the value
/// shown would not be the value stored. nil if there is none.
func invisibleOrControl(_ s: String) -> Unicode.Scalar? {
    s.unicodeScalars.first { u in
        u.value < 0x20 || u.value == 0x7F || (u.value >= 0x80 && u.value < 0xA0)
            || u == "\u{2028}" || u == "\u{2029}" || u.properties.generalCategory == .format
    }
}
