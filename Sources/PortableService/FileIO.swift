#if canImport(Glibc)
import Glibc
#endif
import SystemIO

/// Small POSIX helpers (no Foundation in this module).
enum FileIO {
    enum ReadResult {
        case bytes([UInt8])
        case missing
        case failed(String)
    }

    /// The most `readFile` reads: twice the largest attributes file seen
    /// for a real closure (946 MB for 300,000 store paths).
    public static let maximumFileSize = 2 << 30

    /// Reads a whole regular file, of at most `maximumFileSize` bytes.
    /// `missing` for ENOENT (and ENOTDIR), `failed` with the reason for
    /// anything else: a device, FIFO or directory (whose reads never end,
    /// block, or fail), and a file over the limit (checked while reading
    /// too, since /proc files claim size 0).
    static func readFile(_ path: String) -> ReadResult {
        do {
            return .bytes(try FileDescriptor.readRegularFile(path, limit: maximumFileSize))
        } catch {
            switch error.kind {
            case .open where error.errno.code == ENOENT || error.errno.code == ENOTDIR:
                return .missing
            case .notRegularInput(let mode):
                if mode_t(mode) & S_IFMT == S_IFDIR { return .failed("is a directory, not a file") }
                return .failed("is \(SystemError.fileKind(mode)), not a regular file")
            case .tooLarge:
                return .failed("is larger than \(maximumFileSize >> 30) GiB, more than any attributes file or reference graph of a real closure")
            default:
                return .failed("\(error.errno)")
            }
        }
    }
}
