#if canImport(Glibc)
import Glibc
#endif
import SquashFS
import SystemIO

/// MKPORTABLE_TRACE (set to anything) prints one line per phase of a write
/// to stderr: milliseconds since the first mark and the resident set size,
/// to see where time and memory go without a profiler. The writer only
/// marks its phases (`Trace`); this decides whether and how they are shown.
enum PhaseTrace {
    nonisolated(unsafe) private static var origin = -1.0

    /// Turns tracing on or off for the commands run with `environment`.
    static func install(_ environment: [String: String]) {
        guard environment["MKPORTABLE_TRACE"] != nil else {
            Trace.sink = nil
            return
        }
        Trace.sink = { phase in
            let t = Posix.monotonicSeconds()
            if origin < 0 { origin = t }
            fputs("trace: \(Int((t - origin) * 1000)) ms, rss \(residentKB() / 1000) MB: \(phase)\n", stderr)
        }
    }

    /// Second field of /proc/self/statm (resident pages), in kB.
    private static func residentKB() -> Int {
        guard let f = fopen("/proc/self/statm", "r") else { return -1 }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 128)
        guard fgets(&line, Int32(line.count), f) != nil else { return -1 }
        let fields = String(cString: line).split(separator: " ")
        guard fields.count >= 2, let pages = Int(fields[1]) else { return -1 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1000
    }
}
