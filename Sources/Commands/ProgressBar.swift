#if canImport(Glibc)
import Glibc
#endif
import SquashFS
import SystemIO

/// A one-line progress bar on stderr, redrawn at most ten times a second.
/// The commands use it only when stderr is a terminal. Only the writer
/// thread calls it, one call at a time.
final class ProgressBar: WriteProgress, @unchecked Sendable {
    private var lastDraw: Double = 0

    func update(done: UInt64, total: UInt64) {
        let t = Posix.monotonicSeconds()
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

    func finish() {
        fputs("\n", stderr)
    }

    /// A bar when stderr is a terminal, else none.
    static func forTerminal() -> ProgressBar? {
        isatty(2) != 0 ? ProgressBar() : nil
    }
}
