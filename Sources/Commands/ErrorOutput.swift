#if canImport(Glibc)
import Glibc
#endif
import EROFS
import PortableService
import SquashFS
import SystemIO

/// Every failure of a command but a usage error (`UsageError`, exit status
/// 2), worded whole by the command or the shared stage that met it: one
/// line, what, where and how to fix it (`pack`'s `Failure`, `sign` and
/// `verify`'s `CheckFailure`, a bad setting's `Settings.Invalid` and an
/// image that cannot be opened are all this type, under the name their
/// code reads best with). Lower modules' errors are worded into it, never
/// made again in their types.
struct CommandFailure: Error { let message: String }

/// Prints `PREFIX: error: MESSAGE` on stderr, always as one line.
func reportError(_ error: any Error, prefix: String) {
    let message: String
    switch error {
    case let e as CommandFailure: message = e.message
    case let e as UsageError: message = e.message
    case let e as PortableServiceError: message = e.message
    case let e as SquashFSError: message = worded(e)
    case let e as SourceTreeError: message = e.message
    case let e as EROFSError: message = e.kind == .outOfMemory ? e.message + "; use fewer threads (--jobs, NIX_BUILD_CORES), or raise the limit" : e.message
    case let e as SystemError: message = worded(e)
    default: message = "\(error)"
    }
    fputs("\(prefix): error: \(escapeForMessage(message))\n", stderr)
}

/// The OS layer's error as one line: what failed, where, and how to fix it.
/// (Calls given only a descriptor leave `path` empty; their callers word
/// those errors themselves, so the line then starts with the problem.)
func worded(_ e: SystemError) -> String {
    let p = e.path.isEmpty ? "" : e.path + ": "
    switch e.kind {
    case .openDirectory: return "\(p)cannot open the directory (\(e.errno)); make sure it exists and is writable"
    case .create: return "\(p)cannot create the file (\(e.errno)); make sure its directory exists and is writable"
    case .open, .read: return "\(p)cannot read (\(e.errno))"
    case .write, .sync, .close: return "\(p)write failed (\(ImageOutput.writeProblem(e.errno)))"
    case .name: return "\(p)cannot move the finished file into place (\(e.errno))"
    case .startThread: return "\(p)cannot start a thread (\(e.errno)); the limit on threads (ulimit -u, a cgroup's pids.max) is reached: raise it, or use fewer threads (--jobs, NIX_BUILD_CORES)"
    case .appeared: return "\(p)appeared while the image was written; it was left as it is and the new file discarded"
    case .notRegular(let mode): return "\(p)is \(SystemError.fileKind(mode)), not a regular file; it was left as it is"
    case .notRegularInput(let mode): return "\(p)is \(SystemError.fileKind(mode)), not a regular file; give the path of a regular file"
    case .tooLarge(let limit): return "\(p)is larger than \(limit) bytes; give the right file"
    }
}

/// The writer's message, with how to ask for less where it ran out of memory.
private func worded(_ e: SquashFSError) -> String {
    guard e.kind == .outOfMemory else { return e.message }
    return e.message + "; use fewer threads (--jobs, NIX_BUILD_CORES) or a smaller block size, or raise the limit"
}
