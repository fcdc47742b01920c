#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The module's error: what was being done (`kind`), to which `path`, and
/// the errno the system left. It carries no advice: the caller words it in
/// its own terms (its options, its files). `description` is the bare fact.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The directory of the files to write cannot be opened.
        case openDirectory
        /// A file cannot be created (or its temporary file).
        case create
        /// A file to read cannot be opened.
        case open
        case read
        case write
        case sync
        /// A finished file cannot be given its name.
        case name
        /// The destination exists and replacing it was not allowed; it
        /// appeared after the run checked for it.
        case appeared
        /// The destination is not a regular file (a directory, device, FIFO,
        /// socket or symlink), which is never replaced. `errno` is 0.
        case notRegular(mode: UInt32)
        /// A file to read is not a regular file. `errno` is 0.
        case notRegularInput(mode: UInt32)
        /// A file to read is larger than the limit given. `errno` is EFBIG.
        case tooLarge(limit: Int)
    }

    public var kind: Kind
    public var path: String
    public var errno: Errno

    public init(_ kind: Kind, path: String, errno: Errno) {
        self.kind = kind
        self.path = path
        self.errno = errno
    }

    public var description: String {
        switch kind {
        case .notRegular(let mode), .notRegularInput(let mode): return "\(path): is \(Self.fileKind(mode)), not a regular file"
        case .tooLarge(let limit): return "\(path): is larger than \(limit) bytes"
        case .appeared: return "\(path): appeared meanwhile"
        default: return "\(path): \(kind) failed (\(errno))"
        }
    }

    /// "a FIFO", "a directory", … for messages.
    public static func fileKind(_ mode: UInt32) -> String {
        switch mode_t(mode) & S_IFMT {
        case S_IFREG: return "a regular file"
        case S_IFDIR: return "a directory"
        case S_IFLNK: return "a symlink"
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        default: return "a file of unknown type"
        }
    }
}
