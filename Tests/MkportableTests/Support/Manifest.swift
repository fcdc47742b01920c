import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The type of a tree entry, as every reader can name it.
public enum EntryKind: String, Sendable, CustomStringConvertible {
    case directory, regular, symlink, fifo, socket, characterDevice = "char-device", blockDevice = "block-device"
    /// Something a reader could not classify (an unknown tar type, ...).
    case unknown

    public var description: String { rawValue }

    public init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFDIR: self = .directory
        case S_IFREG: self = .regular
        case S_IFLNK: self = .symlink
        case S_IFIFO: self = .fifo
        case S_IFSOCK: self = .socket
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        default: self = .unknown
        }
    }

    /// From the first character of an `ls -l` style mode string.
    public init(lsCharacter c: Character) {
        switch c {
        case "d": self = .directory
        case "-": self = .regular
        case "l": self = .symlink
        case "p": self = .fifo
        case "s": self = .socket
        case "c": self = .characterDevice
        case "b": self = .blockDevice
        default: self = .unknown
        }
    }
}

public struct DeviceNumber: Hashable, Sendable, CustomStringConvertible {
    public var major: UInt32
    public var minor: UInt32
    public init(major: UInt32, minor: UInt32) { self.major = major; self.minor = minor }
    public var description: String { "\(major),\(minor)" }
}

/// Everything a reader may report about one entry. Fields a reader does
/// not know are nil; which fields are compared is decided per reader.
public struct ManifestEntry: Equatable, Sendable {
    public var kind: EntryKind
    /// Permission bits including setuid/setgid/sticky (07777).
    public var mode: UInt32?
    public var uid: UInt32?
    public var gid: UInt32?
    public var mtime: Int64?
    /// Regular files: byte count. Symlinks: target length. Else nil.
    public var size: UInt64?
    /// Regular files: lowercase hex SHA-256 of the contents.
    public var digest: String?
    /// Symlinks: the raw target bytes.
    public var target: [UInt8]?
    /// Character and block devices.
    public var device: DeviceNumber?
    public var linkCount: UInt64?

    public init(kind: EntryKind, mode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil, mtime: Int64? = nil,
                size: UInt64? = nil, digest: String? = nil, target: [UInt8]? = nil, device: DeviceNumber? = nil,
                linkCount: UInt64? = nil) {
        self.kind = kind; self.mode = mode; self.uid = uid; self.gid = gid; self.mtime = mtime
        self.size = size; self.digest = digest; self.target = target; self.device = device; self.linkCount = linkCount
    }
}

/// Which properties a comparison looks at.
public struct ManifestFields: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let kind = ManifestFields(rawValue: 1 << 0)
    public static let mode = ManifestFields(rawValue: 1 << 1)
    public static let owner = ManifestFields(rawValue: 1 << 2)
    public static let mtime = ManifestFields(rawValue: 1 << 3)
    public static let size = ManifestFields(rawValue: 1 << 4)
    public static let content = ManifestFields(rawValue: 1 << 5)
    public static let target = ManifestFields(rawValue: 1 << 6)
    public static let device = ManifestFields(rawValue: 1 << 7)
    public static let linkCount = ManifestFields(rawValue: 1 << 8)

    /// Presence only: the path exists in the reader's view.
    public static let presence: ManifestFields = []
    public static let all: ManifestFields = [.kind, .mode, .owner, .mtime, .size, .content, .target, .device, .linkCount]
    /// All except link counts, which only the kernel reports.
    public static let standard: ManifestFields = [.kind, .mode, .owner, .mtime, .size, .content, .target, .device]

    public var description: String {
        let names: [(ManifestFields, String)] = [(.kind, "kind"), (.mode, "mode"), (.owner, "owner"), (.mtime, "mtime"), (.size, "size"),
                                                 (.content, "content"), (.target, "target"), (.device, "device"), (.linkCount, "nlink")]
        let present = names.filter { contains($0.0) }.map(\.1)
        return present.isEmpty ? "presence" : present.joined(separator: ",")
    }
}

/// How an image is supposed to present a source tree: what `pack` promises.
public struct ImageAttributes: Sendable {
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    /// Every inode's mtime.
    public var mtime: Int64 = 0
    public var rootMode: UInt32 = 0o755
    /// mkportable turns hard links into separate inodes (link count 1);
    /// mksquashfs keeps them as one inode.
    public var hardLinksAsSeparateInodes = true

    public init(uid: UInt32 = 0, gid: UInt32 = 0, mtime: Int64 = 0, rootMode: UInt32 = 0o755, hardLinksAsSeparateInodes: Bool = true) {
        self.uid = uid; self.gid = gid; self.mtime = mtime; self.rootMode = rootMode
        self.hardLinksAsSeparateInodes = hardLinksAsSeparateInodes
    }
}

/// A canonical description of a tree: relative path → entry. The root is
/// the empty path. Built from a directory on disk (`scan`), or by an image
/// reader (see `ImageReader`).
public struct Manifest: Sendable {
    public var entries: [RawPath: ManifestEntry] = [:]
    /// Inode numbers as seen by a directory scan (not compared; used for
    /// invariants such as "every entry is its own inode").
    public var inodes: [RawPath: UInt64] = [:]

    public init(entries: [RawPath: ManifestEntry] = [:]) { self.entries = entries }

    public subscript(path: RawPath) -> ManifestEntry? {
        get { entries[path] }
        set { entries[path] = newValue }
    }

    public var paths: [RawPath] { entries.keys.sorted() }
    public var count: Int { entries.count }

    // MARK: Directory → manifest

    /// Walks a directory with lstat: every property exactly as on disk,
    /// contents hashed, link targets read. The root entry describes `root`
    /// itself.
    public static func scan(directory root: RawPath) throws -> Manifest {
        var m = Manifest()
        try scanEntry(root: root, relative: .root, into: &m)
        return m
    }

    private static func scanEntry(root: RawPath, relative: RawPath, into m: inout Manifest) throws {
        let full = root.appending(relative)
        let st = try Posix.lstat(full)
        var e = ManifestEntry(kind: EntryKind(mode: st.st_mode))
        e.mode = UInt32(st.st_mode & 0o7777)
        e.uid = st.st_uid
        e.gid = st.st_gid
        e.mtime = Int64(st.st_mtim.tv_sec)
        e.linkCount = UInt64(st.st_nlink)
        switch e.kind {
        case .regular:
            let (digest, size) = try SHA256Digest.file(full)
            e.digest = digest
            e.size = size
            if size != UInt64(st.st_size) {
                throw PosixError(operation: "read (size changed while hashing: \(st.st_size) → \(size))", path: full, code: EIO)
            }
        case .symlink:
            let t = try Posix.readLink(full)
            e.target = t
            e.size = UInt64(t.count)
        case .characterDevice, .blockDevice:
            e.device = DeviceNumber(major: Posix.major(st.st_rdev), minor: Posix.minor(st.st_rdev))
        default:
            break
        }
        m.entries[relative] = e
        m.inodes[relative] = UInt64(st.st_ino)
        if e.kind == .directory {
            for name in try Posix.listDirectory(full) {
                try scanEntry(root: root, relative: relative.appending(name), into: &m)
            }
        }
    }

    /// The manifest an image of this source tree must show: owners, mtimes
    /// and the root mode replaced as `attributes` say; link counts as
    /// squashfs defines them (directories: 2 + subdirectories).
    public func normalized(as attributes: ImageAttributes) -> Manifest {
        var out = Manifest()
        var subdirs: [RawPath: UInt64] = [:]
        for (p, e) in entries where e.kind == .directory && !p.isRoot { subdirs[p.parent, default: 0] += 1 }
        // Hard-link groups inside the tree (for packers that keep them).
        var groupSize: [UInt64: UInt64] = [:]
        for (p, e) in entries where e.kind != .directory { if let ino = inodes[p] { groupSize[ino, default: 0] += 1 } }
        for (p, var e) in entries {
            e.uid = attributes.uid
            e.gid = attributes.gid
            e.mtime = attributes.mtime
            if p.isRoot { e.mode = attributes.rootMode }
            if e.kind == .directory {
                e.linkCount = 2 + subdirs[p, default: 0]
            } else if attributes.hardLinksAsSeparateInodes {
                e.linkCount = 1
            } else {
                e.linkCount = inodes[p].flatMap { groupSize[$0] } ?? 1
            }
            out.entries[p] = e
        }
        return out
    }

    /// Shorthand: scan a source directory and normalize it.
    public static func expected(fromSource root: RawPath, as attributes: ImageAttributes) throws -> Manifest {
        try scan(directory: root).normalized(as: attributes)
    }

    // MARK: Comparison

    /// Differences between an expected and an actual manifest, one line
    /// each. `coverage` says, per expected entry, which fields the actual
    /// side vouches for (nil: the actual side cannot show this entry at all,
    /// so its absence is not an error). Actual entries with no expected
    /// counterpart are errors unless `ignoreExtra` accepts them.
    public static func differences(
        expected: Manifest, actual: Manifest,
        coverage: (RawPath, ManifestEntry) -> ManifestFields? = { _, _ in .all },
        ignoreExtra: (RawPath) -> Bool = { _ in false }
    ) -> [String] {
        var out: [String] = []
        for path in expected.paths {
            let want = expected.entries[path]!
            guard let fields = coverage(path, want) else { continue }
            guard let got = actual.entries[path] else {
                out.append("\(path): missing (expected \(want.kind))")
                continue
            }
            out += compare(path: path, want: want, got: got, fields: fields)
        }
        for path in actual.paths where expected.entries[path] == nil && !ignoreExtra(path) {
            out.append("\(path): unexpected entry (\(actual.entries[path]!.kind))")
        }
        return out
    }

    static func compare(path: RawPath, want: ManifestEntry, got: ManifestEntry, fields: ManifestFields) -> [String] {
        var out: [String] = []
        func diff<T: Equatable>(_ name: String, _ a: T?, _ b: T?, _ render: (T) -> String) {
            guard let a else { return }  // nothing expected
            guard let b else { out.append("\(path): \(name) not reported (expected \(render(a)))"); return }
            if a != b { out.append("\(path): \(name) expected \(render(a)), got \(render(b))") }
        }
        if fields.contains(.kind) && want.kind != got.kind {
            out.append("\(path): type expected \(want.kind), got \(got.kind)")
            return out
        }
        if fields.contains(.mode) { diff("mode", want.mode, got.mode) { String(format: "%04o", $0) } }
        if fields.contains(.owner) {
            diff("uid", want.uid, got.uid) { "\($0)" }
            diff("gid", want.gid, got.gid) { "\($0)" }
        }
        if fields.contains(.mtime) { diff("mtime", want.mtime, got.mtime) { "\($0)" } }
        if fields.contains(.size) { diff("size", want.size, got.size) { "\($0)" } }
        if fields.contains(.content) { diff("content sha256", want.digest, got.digest) { $0 } }
        if fields.contains(.target) { diff("link target", want.target, got.target) { "\"\(RawPath.render($0))\" (\($0.count) bytes)" } }
        if fields.contains(.device) { diff("device", want.device, got.device) { $0.description } }
        if fields.contains(.linkCount) { diff("link count", want.linkCount, got.linkCount) { "\($0)" } }
        return out
    }

    // MARK: Rendering

    /// One line per entry, sorted by path, with the selected fields: a
    /// stable text form to diff, store or print.
    public func canonicalText(fields: ManifestFields = .standard) -> String {
        var lines: [String] = []
        for p in paths {
            let e = entries[p]!
            var parts = [p.description, e.kind.rawValue]
            if fields.contains(.mode), let m = e.mode { parts.append(String(format: "mode=%04o", m)) }
            if fields.contains(.owner) { parts.append("owner=\(e.uid.map(String.init) ?? "?"):\(e.gid.map(String.init) ?? "?")") }
            if fields.contains(.mtime), let t = e.mtime { parts.append("mtime=\(t)") }
            if fields.contains(.size), let s = e.size { parts.append("size=\(s)") }
            if fields.contains(.content), let d = e.digest { parts.append("sha256=\(d)") }
            if fields.contains(.target), let t = e.target { parts.append("target=\(RawPath.render(t, abbreviate: false))") }
            if fields.contains(.device), let d = e.device { parts.append("dev=\(d)") }
            if fields.contains(.linkCount), let n = e.linkCount { parts.append("nlink=\(n)") }
            lines.append(parts.joined(separator: " "))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
