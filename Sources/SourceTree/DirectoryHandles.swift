import SystemIO

/// One scanned directory held open, so that a name in it opens with one
/// openat however deep the directory lies. Closed when the cache and the
/// last thread using it let it go: a thread that took it from the cache
/// keeps it open while it opens a name in it, even if the cache evicts it
/// meanwhile (a closed and reused number could name another directory).
final class DirectoryHandle: @unchecked Sendable {
    let descriptor: FileDescriptor
    init(_ descriptor: consuming FileDescriptor) { self.descriptor = descriptor }
    var raw: Int32 { descriptor.raw }
}

/// The directories of a tree deeper than PATH_MAX held open, the most
/// recently used at most `capacity` of them, by directory number (see
/// `SourceDirectories`). The scan lists a deep directory relative to its
/// parent's handle, and the reader opens a deep file relative to its
/// directory's, so each costs one open, not a walk down from the root: a
/// walk per entry made a tree of depth d cost d^2 opens.
///
/// The bound keeps the descriptors within RLIMIT_NOFILE (`ulimit -n`),
/// and an open that fails with EMFILE lets every handle go, halves the
/// bound and tries again (`yield`): a directory not held is reached again
/// by a walk from the nearest one that is (see `SourceDirectories.handle`),
/// which is slower, never wrong. Not thread-safe: `SourceDirectories`
/// holds its lock around every call.
struct DirectoryHandles {
    private(set) var capacity: Int
    private var slots: [UInt32: Int] = [:]
    private var keys: [UInt32] = []
    private var handles: [DirectoryHandle] = []
    /// The slots in order of use, a doubly linked list: `newer[s]` and
    /// `older[s]` are its neighbours (-1 at the ends).
    private var newer: [Int] = []
    private var older: [Int] = []
    private var newest = -1
    private var oldest = -1

    init(capacity: Int) { self.capacity = max(0, capacity) }

    /// How many handles a tree may hold when the process may have `limit`
    /// files open (nil: no limit): a quarter of what is left after 32 for
    /// everything else (the image, its sidecars, each thread's source
    /// files, pipes), no more than 4096, and at least the two a chain of
    /// directories needs to be walked in opens linear in its depth (should
    /// even those two be too many, `yield` lets them go). More keep the
    /// walks short where files are read out of tree order.
    static func capacity(openFileLimit limit: Int?) -> Int {
        guard let limit else { return 4096 }
        return min(4096, max(2, (limit - 32) / 4))
    }

    /// Lets every handle go (each closes once no thread uses it) and
    /// halves the bound, after an open failed with EMFILE; false when
    /// there was nothing to let go, so trying again would not help.
    mutating func yield() -> Bool {
        guard !keys.isEmpty else { return false }
        capacity = keys.count / 2
        slots = [:]
        keys = []
        handles = []
        newer = []
        older = []
        newest = -1
        oldest = -1
        return true
    }

    /// Directory `key`'s handle, now the most recently used, or nil.
    mutating func lookup(_ key: UInt32) -> DirectoryHandle? {
        guard let s = slots[key] else { return nil }
        touch(s)
        return handles[s]
    }

    /// Holds `handle` for directory `key`, letting the least recently
    /// used one go when all `capacity` slots are taken.
    mutating func insert(_ key: UInt32, _ handle: DirectoryHandle) {
        guard capacity > 0 else { return }
        if let s = slots[key] {
            handles[s] = handle
            touch(s)
            return
        }
        let s: Int
        if keys.count < capacity {
            s = keys.count
            keys.append(key)
            handles.append(handle)
            newer.append(-1)
            older.append(-1)
        } else {
            s = oldest
            unlink(s)
            slots[keys[s]] = nil
            keys[s] = key
            handles[s] = handle
        }
        slots[key] = s
        pushNewest(s)
    }

    private mutating func touch(_ s: Int) {
        guard s != newest else { return }
        unlink(s)
        pushNewest(s)
    }

    private mutating func unlink(_ s: Int) {
        if older[s] >= 0 { newer[older[s]] = newer[s] } else { oldest = newer[s] }
        if newer[s] >= 0 { older[newer[s]] = older[s] } else { newest = older[s] }
    }

    private mutating func pushNewest(_ s: Int) {
        older[s] = newest
        newer[s] = -1
        if newest >= 0 { newer[newest] = s } else { oldest = s }
        newest = s
    }
}
