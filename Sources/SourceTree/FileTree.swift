#if canImport(Glibc)
import Glibc
#endif
import CPosix
import SystemIO

/// The input of the image writer: a tree of entries, independent of where
/// it came from. Names are raw bytes (POSIX names need not be UTF-8) and are
/// sorted bytewise by the writer, so construction order never matters.
///
/// Only the properties that may reach the image are modelled: names, entry
/// types, permission bits, sizes, contents and link targets. Owners, times,
/// inode numbers, link counts and xattrs of the source are deliberately
/// absent, so they cannot leak into an image.
public struct Directory: Sendable {
    /// Permission bits (07777).
    public var mode: UInt16
    public var entries: [Entry]

    public init(mode: UInt16 = 0o755, entries: [Entry] = []) {
        self.mode = mode
        self.entries = entries
    }
}

extension Directory {
    /// What a writer reserves before it flattens the tree: the entries
    /// (the root counted too), the regular files, and the bytes of all
    /// names; walked with a stack, so a deep tree cannot overflow it.
    public var totals: (entries: Int, files: Int, nameBytes: Int) {
        var entries = 1, files = 0, nameBytes = 0
        var stack = [self]
        while let d = stack.popLast() {
            entries += d.entries.count
            for e in d.entries {
                nameBytes += e.name.count
                switch e.node {
                case .directory(let sub): stack.append(sub)
                case .file: files += 1
                default: break
                }
            }
        }
        return (entries, files, nameBytes)
    }
}

public struct Entry: Sendable {
    public var name: [UInt8]
    public var node: Node

    public init(name: [UInt8], node: Node) {
        self.name = name
        self.node = node
    }

    public init(_ name: String, _ node: Node) {
        self.init(name: Array(name.utf8), node: node)
    }
}

// Not `indirect`: the recursion goes through `Directory.entries`, an array,
// so no per-entry box is needed (it would cost an allocation per entry).
public enum Node: Sendable {
    case directory(Directory)
    case file(File)
    case symlink(target: [UInt8], mode: UInt16)
    case fifo(mode: UInt16)
    case socket(mode: UInt16)
    case characterDevice(mode: UInt16, major: UInt32, minor: UInt32)
    case blockDevice(mode: UInt16, major: UInt32, minor: UInt32)
}

/// A regular file. `size` is what the scan saw; the writer reads exactly that
/// many bytes and fails if the source turns out to be shorter or longer.
///
/// A tree of small files holds one `File` per entry until its data is
/// written, so the stored fields are ordered widest first and the identity
/// is kept without an `Optional`'s padding: 48 bytes a file, not 56
/// (docs/performance.md, "Memory per entry").
public struct File: Sendable {
    public var size: UInt64
    public var source: FileSource
    /// The identity's fields; `scanned` says whether there is one.
    private var device: UInt64
    private var inode: UInt64
    public var mode: UInt16
    private var scanned: Bool

    public init(mode: UInt16, size: UInt64, source: FileSource, identity: FileIdentity? = nil) {
        self.size = size
        self.source = source
        device = identity?.device ?? 0
        inode = identity?.inode ?? 0
        self.mode = mode
        scanned = identity != nil
    }

    /// The device and inode the scan saw, for a source on disk: the reader
    /// refuses a file that is not the one scanned.
    public var identity: FileIdentity? {
        get { scanned ? FileIdentity(device: device, inode: inode) : nil }
        set {
            device = newValue?.device ?? 0
            inode = newValue?.inode ?? 0
            scanned = newValue != nil
        }
    }

    /// A file whose bytes are given in memory.
    public init(mode: UInt16 = 0o644, bytes: [UInt8]) {
        self.init(mode: mode, size: UInt64(bytes.count), source: .bytes(bytes))
    }
}

public enum FileSource: Sendable {
    /// Read from this path (raw bytes, no NUL) when the image is written,
    /// in place, with POSIX calls.
    case path([UInt8])
    /// The file whose name is stored at `name` in the scan's table (see
    /// `SourceDirectories`), in the directory `directory`. Directory scans
    /// use this so that no file holds a heap object of its own: a name array
    /// is about 64 bytes a file, and per-directory objects kept for the data
    /// phase would pin the pages of the scan's freed memory.
    case entry(directory: SourcePath, name: UInt32)
    /// Inline content, for small generated files.
    case bytes([UInt8])
}

/// A file's device and inode number: which file a path named when it was
/// scanned.
public struct FileIdentity: Sendable, Hashable {
    public var device: UInt64
    public var inode: UInt64
    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }
}

/// The directory a scan began at: its path as given, whether a symlink
/// there was followed on purpose, and the directory found. Files below it
/// are reopened beneath it, with no link followed on any component.
public final class SourceRoot: @unchecked Sendable {
    public let path: [UInt8]
    public let followed: Bool
    public let identity: FileIdentity
    public init(path: [UInt8], followed: Bool, identity: FileIdentity) {
        self.path = path
        self.followed = followed
        self.identity = identity
    }

    private let lock = Monitor()
    /// The root opened again (checked by `open`), or nil before first use.
    /// Guarded by `lock`, which keeps accesses apart: no dynamic
    /// exclusivity check on the read made for every file opened.
    @exclusivity(unchecked) private var opened: FileDescriptor?

    /// The root directory's descriptor, opened on first use (by the scan)
    /// and kept while the tree lives: every directory and file below the
    /// root is then opened beneath one descriptor that was checked once,
    /// not the root reopened and checked for each (three system calls more
    /// per file), and a later swap of the root's path cannot reach a file
    /// opened beneath it. A failed open is not kept: the next file tries
    /// again.
    public func descriptor() throws(SystemError) -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        if opened == nil { opened = try reopen() }
        return opened?.raw ?? -1  // never -1: opened just above
    }

    /// The root opened again by its path (O_PATH, piecewise when longer
    /// than PATH_MAX) and compared with the directory the scan stat'ed:
    /// ESTALE if another stands there now.
    private func reopen() throws(SystemError) -> FileDescriptor {
        let noFollow = followed ? 0 : O_NOFOLLOW
        let dir = try Posix.openDeep(path, cposix_O_PATH | O_DIRECTORY | O_CLOEXEC | noFollow)
        guard let st = try? dir.status(), FileIdentity(st) == identity else {
            throw SystemError(.open, path: String(decoding: path, as: UTF8.self), errno: Errno(ESTALE))
        }
        return dir
    }
}

extension FileSource {
    /// The path to read, for sources on disk.
    public var diskPath: [UInt8]? {
        switch self {
        case .path(let p): return p
        case .entry(let d, let n): return d.path(ofName: n)
        case .bytes: return nil
        }
    }
}

extension Node {
    /// A short word for messages: "directory", "regular file", ...
    public var kindDescription: String {
        switch self {
        case .directory: return "directory"
        case .file: return "regular file"
        case .symlink: return "symlink"
        case .fifo: return "fifo"
        case .socket: return "socket"
        case .characterDevice: return "character device"
        case .blockDevice: return "block device"
        }
    }
}

/// Bytewise lexicographic order, the order the kernel's directory lookup
/// (strcmp over index names) relies on.
@inlinable
public func bytewiseLess(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    let n = min(a.count, b.count)
    var i = 0
    while i < n {
        if a[i] != b[i] { return a[i] < b[i] }
        i += 1
    }
    return a.count < b.count
}

extension Directory {
    /// Adds or replaces nothing: inserts `node` at `path` (components),
    /// creating missing parent directories with `parentMode`.
    /// Throws if any component already exists in a way that conflicts.
    public mutating func insert(
        _ node: Node, at path: [[UInt8]], parentMode: UInt16 = 0o755
    ) throws(SourceTreeError) {
        precondition(!path.isEmpty)
        try insert(node, at: path[...], whole: path, parentMode: parentMode)
    }

    /// `path` is what is left of `whole` below this directory (its indices
    /// are `whole`'s); messages name whole paths, made once where the
    /// conflict is found.
    private mutating func insert(
        _ node: Node, at path: ArraySlice<[UInt8]>, whole: [[UInt8]], parentMode: UInt16
    ) throws(SourceTreeError) {
        let name = path[path.startIndex]
        let index = entries.firstIndex { $0.name == name }
        if path.count == 1 {
            if index != nil {
                throw SourceTreeError("\(renderPath(whole)): already exists in the tree; each path may be given once")
            }
            entries.append(Entry(name: name, node: node))
            return
        }
        let rest = path.dropFirst()
        if let index {
            guard case .directory(var sub) = entries[index].node else {
                let here = Array(whole[...path.startIndex])
                throw SourceTreeError("\(renderPath(here)): is a \(entries[index].node.kindDescription), but \(renderPath(whole)) needs it to be a directory")
            }
            entries[index].node = .directory(Directory())  // drop the reference to avoid a copy
            do {
                try sub.insert(node, at: rest, whole: whole, parentMode: parentMode)
            } catch {
                entries[index].node = .directory(sub)
                throw error
            }
            entries[index].node = .directory(sub)
        } else {
            var sub = Directory(mode: parentMode)
            try sub.insert(node, at: rest, whole: whole, parentMode: parentMode)
            entries.append(Entry(name: name, node: .directory(sub)))
        }
    }

    /// Looks up a path of components; nil if absent.
    public func lookup(_ path: [[UInt8]]) -> Node? {
        guard let first = path.first else { return .directory(self) }
        guard let e = entries.first(where: { $0.name == first }) else { return nil }
        if path.count == 1 { return e.node }
        guard case .directory(let d) = e.node else { return nil }
        return d.lookup(Array(path.dropFirst()))
    }
}

/// Renders path components for a message, escaping bytes that are not
/// printable UTF-8.
public func renderPath(_ components: [[UInt8]]) -> String {
    let total = components.reduce(0) { $0 + $1.count + 1 }
    if total > shownPathLimit { return renderName(Array(components.joined(separator: [UInt8(ascii: "/")]))) }
    return components.map(renderName).joined(separator: "/")
}

/// Longest name or path shown whole in a message; longer ones (a tree
/// deeper than PATH_MAX) show their start and end, so a message stays a
/// readable line.
let shownPathLimit = 600

public func renderName(_ name: [UInt8]) -> String {
    if name.count > shownPathLimit {
        var head = 200, tail = name.count - 300
        while head > 0 && name[head] & 0xC0 == 0x80 { head -= 1 }
        while tail < name.count && name[tail] & 0xC0 == 0x80 { tail += 1 }
        return renderName(Array(name[..<head])) + "…(\(tail - head) bytes left out)…" + renderName(Array(name[tail...]))
    }
    var out = ""
    if let s = String(validating: name, as: UTF8.self) {
        for u in s.unicodeScalars {
            if u.value < 0x20 || u.value == 0x7f {
                out += "\\x" + String(u.value, radix: 16, uppercase: false).leftPadded(2)
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }
    for b in name {
        if b >= 0x20 && b < 0x7f { out.unicodeScalars.append(Unicode.Scalar(b)) }
        else { out += "\\x" + String(b, radix: 16).leftPadded(2) }
    }
    return out
}

extension String {
    public func leftPadded(_ n: Int) -> String {
        count >= n ? self : String(repeating: "0", count: n - count) + self
    }
}
