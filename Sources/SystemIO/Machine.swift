#if canImport(Glibc)
import Glibc
#endif

/// This machine's hardware name, as `uname -m` prints it (`x86_64`,
/// `aarch64`); empty if uname fails.
public func machineName() -> String {
    var u = utsname()
    guard uname(&u) == 0 else { return "" }
    return withUnsafeBytes(of: u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
}
