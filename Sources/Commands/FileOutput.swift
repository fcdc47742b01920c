#if canImport(Glibc)
import Glibc
#endif
import SystemIO

/// How a command publishes what it writes: the policy `OutputSet` is
/// opened with. No writer sees it; a writer is given a descriptor and
/// never names a file.
struct Publishing {
    /// An existing regular file at a destination may be replaced (`pack
    /// --force`; the builder's output directory is its own).
    var replace: Bool
    /// Unnamed temporary files where the kernel has them; off when
    /// MKPORTABLE_NAMED_TEMPORARIES is set (to anything), which takes the
    /// named temporary path on purpose (tests; a file system that claims
    /// unnamed files but cannot link one). The variable is named for what it
    /// does, so that the kernel's flag is named in `OutputSet` alone.
    var unnamed: Bool

    init(replace: Bool, environment: [String: String]) {
        self.replace = replace
        unnamed = environment["MKPORTABLE_NAMED_TEMPORARIES"] == nil
    }

    /// A set of files to publish into `directory` under this policy.
    func outputSet(in directory: String) throws(SystemError) -> OutputSet {
        try OutputSet(directory: directory, replace: replace, unnamed: unnamed)
    }
}

/// The destination exists and replacing it was not asked for; the command
/// words it with its own option for replacing.
struct DestinationExists: Error { let path: String }

/// Checks where an image is to be written, before any work: returns its
/// directory and file name, or throws if the path cannot name an image
/// file, or names something that is not a regular file, or (without
/// `replace`) names anything at all (`DestinationExists`).
@discardableResult
func checkImageDestination(_ path: String, replace: Bool) throws -> (directory: String, name: String) {
    let bytes = Array(path.utf8)
    if bytes.isEmpty {
        throw CommandFailure(message: "the image path is empty; give the path of the image file to write")
    }
    if bytes.last == UInt8(ascii: "/") {
        throw CommandFailure(message: "\(path): ends with '/'; give the path of the image file to write, not a directory")
    }
    let slash = bytes.lastIndex(of: UInt8(ascii: "/"))
    let dir = slash.map { $0 == 0 ? "/" : String(decoding: bytes[..<$0], as: UTF8.self) } ?? "."
    let base = slash.map { String(decoding: bytes[($0 + 1)...], as: UTF8.self) } ?? path
    if base == "." || base == ".." {
        throw CommandFailure(message: "\(path): names a directory; give the path of the image file to write")
    }
    if base.utf8.count > 255 {
        throw CommandFailure(message: "\(path): the file name is \(base.utf8.count) bytes long; a file name holds at most 255 bytes, so choose a shorter one")
    }
    var st = stat()
    if lstat(path, &st) == 0 {
        let type = st.st_mode & S_IFMT
        if type == S_IFDIR {
            throw CommandFailure(message: "\(path): is a directory; give the path of the image file to write")
        }
        if type != S_IFREG {
            throw CommandFailure(message: "\(path): is \(SystemError.fileKind(UInt32(st.st_mode))), not a regular file; an image only ever replaces a regular file, so remove it or write the image elsewhere")
        }
        if !replace { throw DestinationExists(path: path) }
    }
    return (dir, base)
}
