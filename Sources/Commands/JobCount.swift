#if canImport(Glibc)
import Glibc
#endif

/// How many threads a write uses, from one place: `requested` (a command's
/// option or its environment, already a number) where given and positive,
/// else every CPU online; never more than `maximum`. The count changes
/// speed only, never the image; the cap keeps a stray large value (a
/// builder's NIX_BUILD_CORES=100000) from costing minutes of thread
/// start-up and gigabytes of block buffers.
enum JobCount {
    static let maximum = 1024

    static func resolve(_ requested: Int?) -> Int {
        if let n = requested, n > 0 { return min(n, maximum) }
        return min(maximum, max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
    }
}
