#if canImport(Glibc)
import Glibc
#endif
import CPosix
import SystemIO

/// One scanned directory, as `FileSource.entry` values name it: an index
/// into its scan's table.
public struct SourcePath: Sendable {
    public let table: SourceDirectories
    public let index: UInt32

    public var root: SourceRoot? { table.root }
    /// The directory's path as the scan reached it, for messages.
    public var bytes: [UInt8] { table.path(index, nil) }

    /// The path of `name` below the root.
    public func relativeAppending(_ name: [UInt8]) -> [UInt8] { table.relativePath(index, .bytes(name)) }

    /// The full path of `name` inside this directory, for messages.
    public func appending(_ name: [UInt8]) -> [UInt8] { table.path(index, .bytes(name)) }

    /// The full path of the name stored at `at` (a `FileSource.entry`'s).
    public func path(ofName at: UInt32) -> [UInt8] { table.path(index, .stored(at)) }
}

/// The directories of one scan and their entries' names, for the
/// `FileSource.entry` values of its files. A directory is its parent's
/// number and its name's place among the names (every name in one buffer,
/// each after its length, two bytes), and, while shorter than PATH_MAX, its
/// path below the root in another buffer; so the files of a tree share a
/// few large buffers rather than a few heap objects per directory (small
/// objects kept for the whole run, scattered among the scan's short-lived
/// ones, would keep every page of the scanned tree's freed memory
/// resident: docs/performance.md, "Memory per entry"), and a tree of depth
/// d costs memory in d, not d^2 (a whole path kept per directory did).
///
/// The scan's threads add to it while others read, so every access holds
/// its lock, and paths are built inside it: a slice kept outside would make
/// the next addition copy a whole buffer.
public final class SourceDirectories: @unchecked Sendable {
    public let root: SourceRoot?
    private let lock = Monitor()
    // Guarded by `lock`. Directory 0 is the root. The lock already keeps
    // accesses apart, so the arrays skip Swift's dynamic exclusivity check:
    // a path is built for every file opened, and the checks (two runtime
    // calls per access) were two thirds of building it (docs/performance.md).
    @exclusivity(unchecked) private var parents: [UInt32] = [0]
    @exclusivity(unchecked) private var nameStarts: [UInt32] = [0]
    @exclusivity(unchecked) private var relativeLengths: [Int] = [0]
    /// Where directory i's path below the root starts in `paths`, or -1
    /// when that path is `Posix.longPath` bytes or longer: it is then made
    /// from the names of the directories above it.
    @exclusivity(unchecked) private var pathStarts: [Int] = [0]
    @exclusivity(unchecked) private var paths: [UInt8] = []
    @exclusivity(unchecked) private var names: [UInt8] = []
    /// Deep directories held open (see `DirectoryHandles`).
    @exclusivity(unchecked) private var handles = DirectoryHandles(capacity: DirectoryHandles.capacity(openFileLimit: Posix.openFileLimit()))
    /// Directories opened by walking down from another (see `handle`).
    @exclusivity(unchecked) private var walkOpens = 0

    public init(root: SourceRoot?) { self.root = root }

    /// How many directories were opened by a walk down from another (see
    /// `handle`), for tests: the held handles keep it below the number of
    /// deep directories, where a walk from the root for each entry made it
    /// grow with entries times depth.
    public var walkOpenCount: Int { lock.locked { walkOpens } }

    /// The root directory's entry in the table.
    var rootDirectory: SourcePath { SourcePath(table: self, index: 0) }

    /// A name given, or one stored in the table.
    enum Name {
        case bytes([UInt8])
        case stored(UInt32)
    }

    /// Adds the directory whose name is stored at `at` in directory
    /// `parent`.
    func add(in parent: UInt32, name at: UInt32) throws(SourceTreeError) -> SourcePath {
        lock.lock()
        defer { lock.unlock() }
        guard parents.count < Int(UInt32.max) else {
            throw SourceTreeError("\(renderName(path(locked: parent, .stored(at)))): the tree has more than 2^32 directories; pack it in parts")
        }
        let p = Int(parent)
        let length = (relativeLengths[p] == 0 ? 0 : relativeLengths[p] + 1) + nameLength(at)
        if length < Posix.longPath {
            var kept = Array(paths[pathStarts[p]..<pathStarts[p] + relativeLengths[p]])
            if !kept.isEmpty { kept.append(UInt8(ascii: "/")) }
            append(.stored(at), to: &kept)
            pathStarts.append(paths.count)
            paths.append(contentsOf: kept)
        } else {
            pathStarts.append(-1)
        }
        parents.append(parent)
        nameStarts.append(at)
        relativeLengths.append(length)
        return SourcePath(table: self, index: UInt32(parents.count - 1))
    }

    /// Stores the names of directory `directory`: where each is stored.
    func store(_ entries: [[UInt8]], of directory: UInt32) throws(SourceTreeError) -> [UInt32] {
        lock.lock()
        defer { lock.unlock() }
        guard names.count + entries.reduce(0, { $0 + 2 + $1.count }) <= Int(UInt32.max) else {
            throw SourceTreeError("\(renderName(path(locked: directory, nil))): the tree's names add up to more than 4 GiB; pack it in parts")
        }
        var starts: [UInt32] = []
        starts.reserveCapacity(entries.count)
        for name in entries {
            starts.append(UInt32(names.count))
            names.append(UInt8(truncatingIfNeeded: name.count))
            names.append(UInt8(truncatingIfNeeded: name.count >> 8))
            names.append(contentsOf: name)
        }
        return starts
    }

    /// Directory `i`'s path as the scan reached it, then a slash and `name`
    /// if given.
    func path(_ i: UInt32, _ name: Name?) -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        return path(locked: i, name)
    }

    private func path(locked i: UInt32, _ name: Name?) -> [UInt8] {
        var p = root?.path ?? []
        p.reserveCapacity(p.count + relativeLengths[Int(i)] + 258)
        if i != 0 || name != nil, p.last != UInt8(ascii: "/") { p.append(UInt8(ascii: "/")) }
        appendBelowRoot(i, name, to: &p)
        return p
    }

    /// Directory `i`'s path below the root, then a slash (unless that path
    /// is empty) and `name` if given.
    func relativePath(_ i: UInt32, _ name: Name?) -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        return relativePath(locked: i, name)
    }

    private func relativePath(locked i: UInt32, _ name: Name?) -> [UInt8] {
        var p: [UInt8] = []
        p.reserveCapacity(relativeLengths[Int(i)] + 258)
        appendBelowRoot(i, name, to: &p)
        return p
    }

    /// Appends directory `i`'s path below the root, then a slash (unless
    /// that path is empty) and `name` if given: the part `path` and
    /// `relativePath` share. With the lock held.
    private func appendBelowRoot(_ i: UInt32, _ name: Name?, to p: inout [UInt8]) {
        let start = p.count
        appendRelative(Int(i), to: &p)
        if let name {
            if p.count > start { p.append(UInt8(ascii: "/")) }
            append(name, to: &p)
        }
    }

    /// Appends directory `i`'s path below the root: the kept path of the
    /// nearest directory at or above it that has one, then the names of
    /// those below that. With the lock held.
    private func appendRelative(_ i: Int, to p: inout [UInt8]) {
        var below: [Int] = []
        var at = i
        while pathStarts[at] < 0 {
            below.append(at)
            at = Int(parents[at])
        }
        p.append(contentsOf: paths[pathStarts[at]..<pathStarts[at] + relativeLengths[at]])
        var first = relativeLengths[at] == 0
        for d in below.reversed() {
            if !first { p.append(UInt8(ascii: "/")) }
            first = false
            append(.stored(nameStarts[d]), to: &p)
        }
    }

    /// With the lock held.
    private func nameLength(_ at: UInt32) -> Int {
        Int(names[Int(at)]) + Int(names[Int(at) + 1]) << 8
    }

    /// With the lock held.
    private func append(_ name: Name, to p: inout [UInt8]) {
        switch name {
        case .bytes(let b):
            p.append(contentsOf: b)
        case .stored(let at):
            let start = Int(at) + 2
            p.append(contentsOf: names[start..<start + nameLength(at)])
        }
    }
}

extension SourceDirectories {
    /// Opens `name` in directory `i` with `flags`, beneath the root's
    /// descriptor `root`, following no symlink on any component: by its
    /// path below the root in one openat2 while that is shorter than
    /// PATH_MAX, else relative to the directory's handle (`handle`).
    /// Either way nothing outside the root is reached, even if the tree
    /// changes meanwhile: a directory swapped for a link fails (ELOOP or
    /// ENOTDIR), and one swapped for another directory is refused by the
    /// caller's check of what it opened, as for a shallow path. Out of
    /// descriptors (EMFILE), the held handles are let go and the open is
    /// tried once more (see `DirectoryHandles.yield`).
    func open(_ name: Name, in i: UInt32, flags: Int32, root: Int32) throws(SystemError) -> FileDescriptor {
        do {
            return try openOnce(name, in: i, flags: flags, root: root)
        } catch where error.errno.code == EMFILE && lock.locked({ handles.yield() }) {
            return try openOnce(name, in: i, flags: flags, root: root)
        }
    }

    private func openOnce(_ name: Name, in i: UInt32, flags: Int32, root: Int32) throws(SystemError) -> FileDescriptor {
        lock.lock()
        let short = relativeLengths[Int(i)] + 1 + length(of: name) < Posix.longPath
        var piece: [UInt8] = []
        if short { piece = relativePath(locked: i, name) } else { append(name, to: &piece) }
        lock.unlock()
        if short { return try FileDescriptor.openBeneath(piece, flags, in: root) }
        let dir = try handle(of: i, root: root)
        return try withExtendedLifetime(dir) { () throws(SystemError) in
            try FileDescriptor.open(piece, flags | O_NOFOLLOW, relativeTo: dir?.raw ?? root)
        }
    }

    /// Keeps the open directory `fd` (directory `i`, just listed by the
    /// scan) as its handle when its subdirectories will be opened through
    /// it, so that they cost one open each.
    func keep(_ fd: Int32, for i: UInt32) {
        lock.lock()
        let deep = i != 0 && relativeLengths[Int(i)] + 1 + 255 >= Posix.longPath && handles.capacity > 0
        lock.unlock()
        guard deep, let copy = try? Posix.retryingEINTR(.open, { fcntl(fd, F_DUPFD_CLOEXEC, 0) }) else { return }
        let handle = DirectoryHandle(FileDescriptor(raw: copy))
        lock.locked { handles.insert(i, handle) }
    }

    /// Directory `i` opened for opening names in it (nil: the root, whose
    /// descriptor is `root`): the held handle, else one opened by walking
    /// down, one O_PATH | O_NOFOLLOW openat a level, from the nearest
    /// directory above that is held, or that is shallow enough to open
    /// beneath the root in one call. Each directory opened is held (up to
    /// the cache's bound), so a tree walked in order opens each once.
    func handle(of i: UInt32, root: Int32) throws(SystemError) -> DirectoryHandle? {
        if i == 0 { return nil }
        lock.lock()
        if let held = handles.lookup(i) {
            lock.unlock()
            return held
        }
        // The directories to open, deepest first: each one's name, or for
        // the first of them, when it is shallow, its path below the root.
        var steps: [(index: UInt32, piece: [UInt8])] = []
        var base: DirectoryHandle? = nil
        var fromRoot = false
        var at = i
        while at != 0 {
            if at != i, let held = handles.lookup(at) {
                base = held
                break
            }
            if pathStarts[Int(at)] >= 0 {
                steps.append((at, relativePath(locked: at, nil)))
                fromRoot = true
                break
            }
            var name: [UInt8] = []
            append(.stored(nameStarts[Int(at)]), to: &name)
            steps.append((at, name))
            at = parents[Int(at)]
        }
        walkOpens += steps.count
        lock.unlock()
        let flags = cposix_O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        for (k, step) in steps.enumerated().reversed() {
            let fd = k == steps.count - 1 && fromRoot
                ? try FileDescriptor.openBeneath(step.piece, flags, in: root)
                : try FileDescriptor.open(step.piece, flags, relativeTo: base?.raw ?? root)
            let next = DirectoryHandle(fd)
            lock.locked { handles.insert(step.index, next) }
            base = next
        }
        return base
    }

    /// With the lock held.
    private func length(of name: Name) -> Int {
        switch name {
        case .bytes(let b): return b.count
        case .stored(let at): return nameLength(at)
        }
    }
}

extension SourceDirectories {
    /// Opens directory `i` itself with `flags` (see `open(_:in:flags:root:)`);
    /// the root as "." of its descriptor `root`.
    func open(directory i: UInt32, flags: Int32, root: Int32) throws(SystemError) -> FileDescriptor {
        if i == 0 { return try FileDescriptor.open(".", flags, relativeTo: root) }
        lock.lock()
        let parent = parents[Int(i)], at = nameStarts[Int(i)]
        lock.unlock()
        return try open(.stored(at), in: parent, flags: flags, root: root)
    }
}
