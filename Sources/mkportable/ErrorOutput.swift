#if canImport(Glibc)
import Glibc
#endif
import PortableService
import SquashFS

/// Prints `PREFIX: error: MESSAGE` on stderr, always as one line.
func reportError(_ error: any Error, prefix: String) {
    let message: String
    switch error {
    case let e as PackCommand.Failure: message = e.message
    case let e as BuilderCommand.UsageError: message = e.message
    case let e as PortableServiceError: message = e.message
    case let e as SquashFSError: message = e.message
    default: message = "\(error)"
    }
    fputs("\(prefix): error: \(oneLine(message))\n", stderr)
}

/// An error message as one line: control characters (a newline in a
/// quoted value, say) are written as escapes, so that the message stays
/// one line in a Nix build log whatever the input was.
func oneLine(_ message: String) -> String {
    var out = ""
    for u in message.unicodeScalars {
        switch u {
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

