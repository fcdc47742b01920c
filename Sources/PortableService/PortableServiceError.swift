/// Every failure of the portable-service builder, as one line that says
/// what is wrong, where (which attribute, file or path), and how to fix it.
///
/// `message` is the whole line; the command prints it after
/// `mkportable: error: `. The static helpers build messages with a uniform
/// shape so that bad inputs read alike wherever they are caught:
///
///     attribute units[1]: "/nix/store/…-foo.service" is a directory; a unit must be one regular file
///
/// Keep messages free of newlines: Nix shows the last lines of a failed
/// build's log, and one line per error keeps the cause visible there.
public struct PortableServiceError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }

    /// A problem with one derivation attribute. `path` is the attribute as
    /// written in Nix (`units[1]`, `symlinks[0].object`), `problem` says what
    /// is wrong and `fix` how to fix it (may be empty).
    public static func attribute(_ path: String, _ problem: String, fix: String = "") -> PortableServiceError {
        PortableServiceError("attribute \(path): \(problem)" + (fix.isEmpty ? "" : "; \(fix)"))
    }

    /// A problem with a file the builder reads (the attributes file, a
    /// reference graph).
    public static func file(_ path: String, _ problem: String, fix: String = "") -> PortableServiceError {
        PortableServiceError("\(path): \(problem)" + (fix.isEmpty ? "" : "; \(fix)"))
    }
}

/// Quotes a value for a message: JSON-like double quotes, with `"`, `\`
/// and control characters escaped, so that a message stays on one line.
public func quoted(_ s: String) -> String {
    "\"" + escapeForMessage(s, quoting: true) + "\""
}

/// Writes what would break a one-line message as escapes: C0 and C1
/// control characters, DEL, and the Unicode line and paragraph
/// separators; with `quoting`, also `"` and `\`. Every error line of
/// mkportable goes through this, so it stays one line in a Nix build log
/// whatever the input was.
public func escapeForMessage(_ s: String, quoting: Bool = false) -> String {
    var out = ""
    for u in s.unicodeScalars {
        switch u {
        case "\"" where quoting: out += "\\\""
        case "\\" where quoting: out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if u.value < 0x20 || u.value == 0x7F || (u.value >= 0x80 && u.value < 0xA0) || u == "\u{2028}" || u == "\u{2029}" {
                let hex = String(u.value, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
            } else {
                out.unicodeScalars.append(u)
            }
        }
    }
    return out
}
