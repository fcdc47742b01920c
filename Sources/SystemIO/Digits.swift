#if canImport(Glibc)
import Glibc
#endif

/// The one rule for numbers that people and environments write (command
/// line options, environment variables, block sizes, compressor levels,
/// counts in text files): ASCII digits of `radix` only, at least one,
/// nothing else. Swift's `Int("+5")` and
/// `Int(" 5")`-like leniency is not wanted: a sign or a space is a mistake
/// to report, not to guess at.
///
/// nil when `text` is not such a number, or exceeds `maximum`; with
/// `saturating`, a number above `maximum` is `maximum` instead, so that nil
/// means only "not digits" and the caller can tell the two apart.
public func parseDigits(_ text: some StringProtocol, radix: UInt64 = 10, maximum: UInt64 = .max,
                        saturating: Bool = false) -> UInt64? {
    precondition(radix >= 2 && radix <= 10, "digits only")
    var value: UInt64 = 0
    var over = false
    var any = false
    for b in text.utf8 {
        guard b >= 0x30, UInt64(b - 0x30) < radix else { return nil }
        any = true
        if over { continue }
        let (m, o1) = value.multipliedReportingOverflow(by: radix)
        let (v, o2) = m.addingReportingOverflow(UInt64(b - 0x30))
        if o1 || o2 || v > maximum { over = true } else { value = v }
    }
    guard any else { return nil }
    if over { return saturating ? maximum : nil }
    return value
}
