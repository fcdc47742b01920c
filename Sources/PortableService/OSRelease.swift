/// The image's /etc/os-release.
///
/// Fields, as nixpkgs' portableService writes them: PORTABLE_ID (pname),
/// PORTABLE_PRETTY_NAME (description, if any), HOME_URL (homepage, if any),
/// ID=nixos, PRETTY_NAME=NixOS, BUILD_ID=rolling; and three more of ours:
/// PORTABLE_PREFIXES=pname, which tells systemd which unit-name prefix the
/// image's units use (without it `systemd-dissect` does not list the image
/// as usable as a portable service), and IMAGE_ID=pname with
/// IMAGE_VERSION=version, which name the image rather than the OS it was
/// made from: systemd's portable drop-in logs every message of the units
/// with `PORTABLE_NAME_AND_VERSION=IMAGE_ID_IMAGE_VERSION` (it falls back to
/// ID and VERSION_ID or BUILD_ID, which would say `nixos_rolling` for every
/// image). Keys are written sorted, as nixpkgs' `lib.generators.toKeyValue`
/// does.
///
/// Values are written as os-release(5) asks: a value made only of
/// `A-Z a-z 0-9` is written bare; anything else is enclosed in double
/// quotes, with `"`, `\`, `` ` `` and `$` escaped by a backslash, shell
/// style. Control characters cannot be written (a newline would end the
/// assignment), so `valueProblem` names them and callers refuse the value
/// up front.
public struct OSRelease: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        public var key: String
        public var value: String

        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    /// In output order.
    public private(set) var fields: [Field]

    public init(pname: String, version: String, description: String?, homepage: String?) {
        var f: [Field] = [
            Field("PORTABLE_ID", pname),
            Field("PORTABLE_PREFIXES", pname),
            Field("IMAGE_ID", pname),
            Field("IMAGE_VERSION", version),
            Field("ID", "nixos"),
            Field("PRETTY_NAME", "NixOS"),
            Field("BUILD_ID", "rolling"),
        ]
        if let description { f.append(Field("PORTABLE_PRETTY_NAME", description)) }
        if let homepage { f.append(Field("HOME_URL", homepage)) }
        fields = f.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }
    }

    public subscript(key: String) -> String? {
        fields.first(where: { $0.key == key })?.value
    }

    /// The file's bytes: one `KEY=value` line per field.
    public func render() -> [UInt8] {
        var text = ""
        for f in fields {
            text += f.key + "=" + OSRelease.quote(f.value) + "\n"
        }
        return Array(text.utf8)
    }

    /// nil if os-release can hold `value`, otherwise why not (phrased to
    /// follow the attribute's name).
    public static func valueProblem(_ value: String) -> String? {
        for u in value.unicodeScalars where u.value < 0x20 || u.value == 0x7F {
            let hex = String(u.value, radix: 16, uppercase: true)
            return "contains the control character U+\(String(repeating: "0", count: 4 - hex.count) + hex); os-release values are one line of printable text"
        }
        return nil
    }

    /// Writes one value as os-release(5) asks (see the type's comment).
    public static func quote(_ value: String) -> String {
        let bare = !value.isEmpty && value.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
        }
        if bare { return value }
        var out = "\""
        for ch in value.unicodeScalars {
            switch ch {
            case "\"", "\\", "`", "$":
                out.unicodeScalars.append("\\")
                out.unicodeScalars.append(ch)
            default:
                out.unicodeScalars.append(ch)
            }
        }
        return out + "\""
    }

    /// Reads an os-release file back the way systemd's `parse_env_file`
    /// does for the forms `render` writes (bare words and double-quoted
    /// strings with backslash escapes). For tests and self-checks.
    public static func parse(_ bytes: [UInt8]) -> [Field]? {
        let text = String(decoding: bytes, as: UTF8.self)
        var result: [Field] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let eq = line.firstIndex(of: "=") else { return nil }
            let key = String(line[..<eq])
            var raw = Substring(line[line.index(after: eq)...]).unicodeScalars[...]
            var value = ""
            if raw.first == "\"" {
                raw = raw.dropFirst()
                var closed = false
                while let c = raw.first {
                    raw = raw.dropFirst()
                    if c == "\\" {
                        guard let next = raw.first else { return nil }
                        raw = raw.dropFirst()
                        value.unicodeScalars.append(next)
                    } else if c == "\"" {
                        closed = true
                        break
                    } else {
                        value.unicodeScalars.append(c)
                    }
                }
                if !closed || !raw.isEmpty { return nil }
            } else {
                value = String(String.UnicodeScalarView(raw))
            }
            result.append(Field(key, value))
        }
        return result
    }
}
