#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An errno value as a typed error: what a failed system call left. Its
/// `description` (strerror) is the one place the program words an errno.
public struct Errno: Error, Equatable, Sendable, CustomStringConvertible {
    public let code: Int32
    public init(_ code: Int32) { self.code = code }
    /// The calling thread's errno now.
    public static var current: Errno { Errno(errno) }
    public var description: String { String(cString: strerror(code)) }
}
