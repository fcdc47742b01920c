#if canImport(Glibc)
import Glibc
#endif
import SquashFS
import SystemIO

/// MKPORTABLE_TRACE (set to anything) prints one line per phase of a write
/// to stderr: milliseconds since the first mark, the resident set size, and
/// the CPU milliseconds the process and the marking thread have used since
/// they started, to see where time and memory go without a profiler. CPU time
/// holds on a loaded host where wall time does not: the process's CPU up to
/// the mark that submits the first block is work no second core could
/// share. The writer only marks its phases (`Trace`); this decides whether
/// and how they are shown.
enum PhaseTrace {
    nonisolated(unsafe) private static var origin = -1.0

    /// Turns tracing on or off for the commands run with `environment`.
    static func install(_ environment: [String: String]) {
        guard environment["MKPORTABLE_TRACE"] != nil else {
            Trace.sink = nil
            return
        }
        Trace.sink = { phase in
            let t = Posix.monotonicSeconds(), cpu = Posix.cpuSeconds()
            if origin < 0 { origin = t }
            let process = Int(cpu.process * 1000), thread = Int(cpu.thread * 1000)
            fputs("trace: \(Int((t - origin) * 1000)) ms, rss \(residentKB() / 1000) MB, cpu \(process) ms (this thread \(thread) ms): \(phase)\n", stderr)
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
