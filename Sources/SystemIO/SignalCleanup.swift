#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// Temporary names removed when the process is stopped by a catchable
/// signal whose default is to end it (SIGHUP, SIGINT, SIGQUIT, SIGPIPE,
/// SIGALRM, SIGTERM, SIGUSR1, SIGUSR2, SIGXCPU, SIGVTALRM, SIGPROF), after
/// which the process dies of the same signal: an interrupted write leaves
/// nothing behind. Handlers are installed only for signals whose action is
/// the default, so a caller's own handling (or SIG_IGN under nohup) is kept.
///
/// Each name is kept relative to a directory descriptor (`unlinkat` is
/// async-signal-safe, and a renamed directory does not lose it), in one of
/// `capacity` slots of fixed buffers that are never freed; `active` says
/// which slots are valid, so the handler may run at any moment, even while
/// `register` or `unregister` runs on another thread. Files go first, then
/// directories (which must be empty by then).
public enum SignalCleanup {
    static let capacity = 32
    static let nameCapacity = 256
    nonisolated(unsafe) static let names = UnsafeMutablePointer<CChar>.allocate(capacity: capacity * nameCapacity)
    nonisolated(unsafe) static let directories = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
    nonisolated(unsafe) static let flags = UnsafeMutablePointer<Int32>.allocate(capacity: capacity)
    static let active = Atomic<UInt32>(0)
    nonisolated(unsafe) static var installed = false
    static let lock = Monitor()

    static let signals: [Int32] = [SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGALRM, SIGTERM, SIGUSR1, SIGUSR2, SIGXCPU, SIGVTALRM, SIGPROF]

    /// Registers `name` in `directory` (AT_REMOVEDIR in `removingDirectory`)
    /// for removal on a signal; returns its slot, or nil when every slot is
    /// taken or the name is too long (then a signal leaves it).
    public static func register(_ name: String, in directory: Int32, removingDirectory: Bool = false) -> Int? {
        let bytes = Array(name.utf8)
        guard bytes.count < nameCapacity else { return nil }
        return lock.locked { () -> Int? in
            let used = active.load(ordering: .sequentiallyConsistent)
            guard let slot = (0..<capacity).first(where: { used & (1 << UInt32($0)) == 0 }) else { return nil }
            let base = names + slot * nameCapacity
            for (i, b) in bytes.enumerated() { base[i] = CChar(bitPattern: b) }
            base[bytes.count] = 0
            directories[slot] = directory
            flags[slot] = removingDirectory ? AT_REMOVEDIR : 0
            active.store(used | (1 << UInt32(slot)), ordering: .sequentiallyConsistent)
            installHandlers()
            return slot
        }
    }

    public static func unregister(_ slot: Int?) {
        guard let slot else { return }
        lock.locked {
            let used = active.load(ordering: .sequentiallyConsistent)
            active.store(used & ~(1 << UInt32(slot)), ordering: .sequentiallyConsistent)
        }
    }

    /// Runs `body` with those signals blocked in the calling thread, so that
    /// a name it creates and registers cannot be left between the two.
    public static func withSignalsBlocked<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        var set = sigset_t()
        var old = sigset_t()
        sigemptyset(&set)
        for s in signals { sigaddset(&set, s) }
        pthread_sigmask(SIG_BLOCK, &set, &old)
        defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
        return try body()
    }

    /// Called with `lock` held.
    private static func installHandlers() {
        if installed { return }
        installed = true
        for sig in signals {
            Posix.handleIfDefault(sig, with: signalCleanupHandler, flags: Int32(truncatingIfNeeded: SA_RESETHAND))
        }
    }
}

/// The handler: unlinkat every registered file, then every directory (only
/// async-signal-safe calls), then die of the signal (the action was reset
/// to the default on entry).
private func signalCleanupHandler(_ sig: Int32) {
    removeRegistered(flags: 0)
    removeRegistered(flags: AT_REMOVEDIR)
    raise(sig)
}

private func removeRegistered(flags: Int32) {
    let used = SignalCleanup.active.load(ordering: .sequentiallyConsistent)
    var slot = 0
    while slot < SignalCleanup.capacity {
        if used & (1 << UInt32(slot)) != 0 && SignalCleanup.flags[slot] == flags {
            unlinkat(SignalCleanup.directories[slot], SignalCleanup.names + slot * SignalCleanup.nameCapacity, flags)
        }
        slot += 1
    }
}
