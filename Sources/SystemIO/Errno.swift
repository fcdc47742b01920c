#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An errno value: what a failed system call left, as `SystemError`
/// carries it (and other modules' error kinds). Not itself thrown. Its
/// `description` (strerror) is the one place the program words an errno;
/// where the fix is the user's limit, not the input, it says which.
public struct Errno: Equatable, Sendable, CustomStringConvertible {
    public let code: Int32
    public init(_ code: Int32) { self.code = code }
    /// The calling thread's errno now.
    public static var current: Errno { Errno(errno) }
    public var description: String {
        let text = String(cString: strerror(code))
        switch code {
        case EMFILE: return text + "; raise the open-file limit, ulimit -n"
        case ENFILE: return text + "; the system's open-file table is full, sysctl fs.file-max"
        default: return text
        }
    }
}
