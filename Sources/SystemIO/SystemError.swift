#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The module's one error, thrown by every call in it that can fail: what
/// was being done (`kind`), to which `path` where the call was given one,
/// the errno the system left, and for a write how many bytes reached the
/// file first. It carries no advice: the caller, which knows the file and
/// its own options, words it in its own terms, usually from `kind` and
/// `errno` alone. `description` is the bare fact.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    /// What failed: a system call's purpose, or a problem the module found
    /// in what a call returned (those say what `errno` then holds).
    public enum Kind: Sendable, Equatable {
        /// A file or directory cannot be opened (to read it, or to open
        /// names beneath it).
        case open
        /// The directory of the files to write cannot be opened.
        case openDirectory
        /// A file cannot be created (or its temporary file).
        case create
        case read
        /// A write, a copy into a file, or setting a file's size; `written`
        /// bytes of it reached the file.
        case write
        case sync
        case close
        /// A finished file cannot be given its name.
        case name
        /// The system will not start another thread.
        case startThread
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
    /// The path the failed call was given; empty when it had only a
    /// descriptor (the caller knows which file that is).
    public var path: String
    public var errno: Errno
    /// For a `write`: the bytes that reached the file before it failed.
    public var written: Int

    public init(_ kind: Kind, path: String = "", errno: Errno, written: Int = 0) {
        self.kind = kind
        self.path = path
        self.errno = errno
        self.written = written
    }

    public var description: String {
        let at = path.isEmpty ? "" : path + ": "
        switch kind {
        case .notRegular(let mode), .notRegularInput(let mode): return "\(at)is \(Self.fileKind(mode)), not a regular file"
        case .tooLarge(let limit): return "\(at)is larger than \(limit) bytes"
        case .appeared: return "\(at)appeared meanwhile"
        case .write where written > 0: return "\(at)write failed after \(written) bytes (\(errno))"
        default: return "\(at)\(kind) failed (\(errno))"
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
