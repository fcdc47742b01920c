#if canImport(Glibc)
import Glibc
#endif
import EROFS
import PortableService
import SquashFS

/// Prints `PREFIX: error: MESSAGE` on stderr, always as one line.
func reportError(_ error: any Error, prefix: String) {
    let message: String
    switch error {
    case let e as PackCommand.Failure: message = e.message
    case let e as UsageError: message = e.message
    case let e as Settings.Invalid: message = e.message
    case let e as PortableServiceError: message = e.message
    case let e as SquashFSError: message = worded(e)
    case let e as CheckFailure: message = e.message
    case let e as SourceTreeError: message = e.message
    case let e as EROFSError: message = e.message
    case let e as OpenedImage.Failure: message = e.message
    default: message = "\(error)"
    }
    fputs("\(prefix): error: \(escapeForMessage(message))\n", stderr)
}

/// The writer's message, with how to ask for less where it ran out of memory.
private func worded(_ e: SquashFSError) -> String {
    guard e.kind == .outOfMemory else { return e.message }
    return e.message + "; use fewer threads (--jobs, NIX_BUILD_CORES) or a smaller block size, or raise the limit"
}
