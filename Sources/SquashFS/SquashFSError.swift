/// Every failure of the writer: one line that says what is wrong, where,
/// and how to fix it, and a `kind` for the failures a caller handles or
/// words in its own terms (a command names its own options), so nobody
/// has to parse the message.
public struct SquashFSError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        case other
        /// The system refused a resource (a thread, say), with its errno.
        case resource(Errno)
        /// The destination exists and replacing it was not asked for.
        case destinationExists
        /// The destination did not exist when writing began but did when
        /// the finished image was to be published; nothing was replaced.
        case destinationAppeared
        /// The destination exists and is not a regular file (a device, a
        /// FIFO, a symlink, a directory), which is never replaced.
        case destinationNotRegular
    }

    public var message: String
    public var kind: Kind
    /// The file the failure is about, where a caller may word it itself
    /// (the destination that appeared, say).
    public var path: String?
    public init(_ message: String, kind: Kind = .other, path: String? = nil) {
        self.message = message
        self.kind = kind
        self.path = path
    }
    public var description: String { message }
}
