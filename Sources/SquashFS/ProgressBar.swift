#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress bar on stderr, redrawn at most ten times a second.
/// Callers enable it only when stderr is a terminal.
struct ProgressBar {
    private var lastDraw: Double = 0

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    mutating func update(done: UInt64, total: UInt64) {
        let t = Self.now()
        if t - lastDraw < 0.1 && done < total { return }
        lastDraw = t
        draw(done: done, total: total)
    }

    private func draw(done: UInt64, total: UInt64) {
        let width = 40
        let fraction = total == 0 ? 1.0 : Double(done) / Double(total)
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        let line = "\r[\(bar)] \(Int(fraction * 100))% \(done >> 20)/\(total >> 20) MiB"
        fputs(line, stderr)
    }

    mutating func finish() {
        fputs("\n", stderr)
    }
}
