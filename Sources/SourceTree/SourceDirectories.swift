#if canImport(Glibc)
import Glibc
#endif
import SystemIO

/// One scanned directory, as `FileSource.entry` values name it: an index
/// into its scan's table.
public struct SourcePath: Sendable {
    public let table: SourceDirectories
    public let index: UInt32

    public var root: SourceRoot? { table.root }
    /// The directory's path as the scan reached it.
    public var bytes: [UInt8] { table.appending(index, nil) }
    /// The path below `root` (empty for the root itself).
    public var relative: [UInt8] { table.relativeAppending(index, nil) }

    /// The path of `name` below the root.
    public func relativeAppending(_ name: [UInt8]) -> [UInt8] { table.relativeAppending(index, .bytes(name)) }

    /// The full path of `name` inside this directory.
    public func appending(_ name: [UInt8]) -> [UInt8] { table.appending(index, .bytes(name)) }

    /// The path below the root of the name stored at `at` (a
    /// `FileSource.entry`'s).
    public func relativePath(ofName at: UInt32) -> [UInt8] { table.relativeAppending(index, .stored(at)) }

    /// The full path of the name stored at `at`.
    public func path(ofName at: UInt32) -> [UInt8] { table.appending(index, .stored(at)) }
}

/// The directories of one scan and their entries' names, for the
/// `FileSource.entry` values of its files: every path in one buffer, every
/// name in another (each after its length, two bytes), so the files of a
/// tree share a few large buffers rather than a few heap objects per
/// directory. Small objects kept for the whole run, scattered among the
/// scan's short-lived ones, would keep every page of the scanned tree's
/// freed memory resident (docs/performance.md, "Memory per entry").
///
/// The scan's threads add to it while others read, so every access holds
/// its lock, and paths are built inside it: a slice kept outside would make
/// the next addition copy a whole buffer.
public final class SourceDirectories: @unchecked Sendable {
    public let root: SourceRoot?
    private let lock = Monitor()
    // Guarded by `lock`.
    private var paths: [UInt8] = []
    /// Directory i's path is paths[pathStarts[i] ..< pathStarts[i + 1]];
    /// its path below the root is the last relativeLengths[i] bytes of it.
    private var pathStarts: [Int] = [0]
    private var relativeLengths: [Int32] = []
    private var names: [UInt8] = []

    public init(root: SourceRoot?) { self.root = root }

    /// A name given, or one stored in the table.
    enum Name {
        case bytes([UInt8])
        case stored(UInt32)
    }

    /// Adds the directory at `path`, whose path below the root is
    /// `relative` (a suffix of `path`).
    func add(path: [UInt8], relative: [UInt8]) throws(SourceTreeError) -> SourcePath {
        lock.lock()
        defer { lock.unlock() }
        guard relativeLengths.count < Int(UInt32.max), relative.count <= path.count, path.count <= Int(Int32.max) else {
            throw SourceTreeError("\(renderName(path)): the tree has more than 2^32 directories; pack it in parts")
        }
        paths.append(contentsOf: path)
        pathStarts.append(paths.count)
        relativeLengths.append(Int32(relative.count))
        return SourcePath(table: self, index: UInt32(relativeLengths.count - 1))
    }

    /// Stores the names of the directory at `path`: where each is stored.
    func store(_ entries: [[UInt8]], of path: [UInt8]) throws(SourceTreeError) -> [UInt32] {
        lock.lock()
        defer { lock.unlock() }
        guard names.count + entries.reduce(0, { $0 + 2 + $1.count }) <= Int(UInt32.max) else {
            throw SourceTreeError("\(renderName(path)): the tree's names add up to more than 4 GiB; pack it in parts")
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

    /// Directory `i`'s path, then a slash and `name` if given.
    func appending(_ i: UInt32, _ name: Name?) -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        let start = pathStarts[Int(i)], end = pathStarts[Int(i) + 1]
        var p: [UInt8] = []
        p.reserveCapacity(end - start + 1 + 256)
        p.append(contentsOf: paths[start..<end])
        if let name {
            if p.last != UInt8(ascii: "/") { p.append(UInt8(ascii: "/")) }
            append(name, to: &p)
        }
        return p
    }

    /// Directory `i`'s path below the root, then a slash (unless that path
    /// is empty) and `name` if given.
    func relativeAppending(_ i: UInt32, _ name: Name?) -> [UInt8] {
        lock.lock()
        defer { lock.unlock() }
        let end = pathStarts[Int(i) + 1]
        var p = Array(paths[(end - Int(relativeLengths[Int(i)]))..<end])
        if let name {
            if !p.isEmpty { p.append(UInt8(ascii: "/")) }
            append(name, to: &p)
        }
        return p
    }

    /// With the lock held.
    private func append(_ name: Name, to p: inout [UInt8]) {
        switch name {
        case .bytes(let b):
            p.append(contentsOf: b)
        case .stored(let at):
            let start = Int(at) + 2
            p.append(contentsOf: names[start..<start + Int(names[Int(at)]) + Int(names[Int(at) + 1]) << 8])
        }
    }
}

