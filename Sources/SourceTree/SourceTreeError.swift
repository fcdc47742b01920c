import SystemIO

/// Every failure of building or reading a source tree: the scan, placing a
/// node in a tree, reading a file's bytes. `message` is a whole line that
/// names the path it is about; `kind` is what a caller handles or words in
/// its own terms, so no caller parses the message. The writers that read
/// the tree carry it up inside their own error type.
public struct SourceTreeError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        case other
        /// A system call on `path` failed with this errno.
        case io(Errno)
        /// A source file changed between the scan and its reading (it
        /// disappeared, was replaced, or changed size).
        case sourceChanged
    }

    public var message: String
    public var kind: Kind
    /// The file the failure is about, where a caller may word it itself.
    public var path: String?

    public init(_ message: String, kind: Kind = .other, path: String? = nil) {
        self.message = message
        self.kind = kind
        self.path = path
    }

    public var description: String { message }
}
