/// Phase marks for whoever wants to see where a write spends its time: the
/// writer calls `mark` as each phase ends (scan, data passes, metadata),
/// and nothing happens unless the caller installed a `sink` before the
/// write. The library never decides when tracing is on or where it goes;
/// it never changes the image.
public enum Trace {
    /// Receives each phase's description. Set once, before any write
    /// starts its threads; the writer reads it from several threads.
    nonisolated(unsafe) public static var sink: ((String) -> Void)?

    /// Whether marks go anywhere (to skip measuring what no one reads).
    public static var enabled: Bool { sink != nil }

    public static func mark(_ phase: @autoclosure () -> String) {
        guard let sink else { return }
        sink(phase())
    }

    /// For a worker pool: a report of its workers' idle time when marks
    /// go anywhere, else nil (the wait is then not measured).
    static func idleReport(_ what: String) -> ((Double) -> Void)? {
        guard enabled else { return nil }
        return { mark("\(what) workers idle \(Int($0 * 1000)) ms") }
    }
}
