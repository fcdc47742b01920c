import SystemIO

/// Every failure of the writer: a `message` that says what is wrong and how
/// to fix it, and a `kind` for what a caller handles or words in its own
/// terms, so that no caller parses the message.
///
/// Errors flow one way. The module knows no caller's option names: a
/// setting it refuses (`.invalidSetting`) carries only the problem
/// (`unknown option -Xfoo for xz; accepted: …`), and the command that took
/// the setting puts its own name for it in front (an option, an
/// attribute: `NAME "xz -Xfoo": unknown option …`). Every other
/// message is a whole line already, naming the path it is about.
public struct SquashFSError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        case other
        /// A setting (a compressor string, a block size) is refused;
        /// `message` is the problem alone, without the setting's name.
        case invalidSetting
        /// A system call on `path` failed with this errno.
        case io(Errno)
        /// A source file changed between the scan and its reading (it
        /// disappeared, was replaced, or changed size).
        case sourceChanged
        /// The system refused a resource (a thread, say), with its errno.
        case resource(Errno)
        /// A buffer could not be had: `message` says which and why; the
        /// caller adds how its user can ask for less (fewer threads).
        case outOfMemory
        /// An image being read breaks a rule of the format; `message` says
        /// where (which table, block or path) and what.
        case badImage
        /// An image being read uses what this reader does not read (the
        /// lzma compressor, a squashfs version other than 4.0).
        case unsupportedImage
    }

    public var message: String
    public var kind: Kind
    /// The file the failure is about, where a caller may word it itself
    /// (the path a scan could not stat).
    public var path: String?
    public init(_ message: String, kind: Kind = .other, path: String? = nil) {
        self.message = message
        self.kind = kind
        self.path = path
    }
    public var description: String { message }

    /// The error for a pool that could not start a single `what` thread.
    static func noThread(_ what: String, _ error: Errno) -> SquashFSError {
        SquashFSError("cannot start a single \(what) thread (\(error)); the limit on threads (ulimit -u, a cgroup's pids.max) or the memory for a thread's stack (ulimit -v) is reached: raise it, or stop other processes of this user", kind: .resource(error))
    }

    /// The error for a buffer that could not be had (see `.outOfMemory`).
    static func outOfMemory(_ what: String) -> SquashFSError {
        SquashFSError("not enough memory for \(what) (the address-space limit, ulimit -v, or the memory of the machine or cgroup is reached)", kind: .outOfMemory)
    }

    /// A refused setting: `problem` without the setting's name (see above).
    static func invalidSetting(_ problem: String) -> SquashFSError {
        SquashFSError(problem, kind: .invalidSetting)
    }

    /// An image that breaks a rule: `place` names where (a table, a block,
    /// a path), `problem` what.
    static func badImage(_ place: String, _ problem: String) -> SquashFSError {
        SquashFSError("\(place): \(problem)", kind: .badImage)
    }
}
