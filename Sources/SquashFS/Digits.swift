#if canImport(Glibc)
import Glibc
#endif

/// The one rule for numbers that people and environments write (`--jobs`,
/// `--mtime`, `--root-mode`, SOURCE_DATE_EPOCH, NIX_BUILD_CORES, block
/// sizes, compressor levels, counts in Nix's text graphs): ASCII digits of
/// `radix` only, at least one, nothing else. Swift's `Int("+5")` and
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

/// How many threads a write uses, from one place: `requested` (a command's
/// option or its environment, already a number) where given and positive,
/// else every CPU online; never more than `maximum`. The count changes
/// speed only, never the image; the cap keeps a stray large value (a
/// builder's NIX_BUILD_CORES=100000) from costing minutes of thread
/// start-up and gigabytes of block buffers.
public enum JobCount {
    public static let maximum = 1024

    public static func resolve(_ requested: Int?) -> Int {
        if let n = requested, n > 0 { return min(n, maximum) }
        return min(maximum, max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
    }
}
