#if canImport(Glibc)
import Glibc
import SystemIO
#endif

/// Scans a path on disk into a `Node` without reading file contents: files
/// become `.path` sources that the writer reads in place later.
///
/// Only names, types, permission bits, sizes and link targets are taken.
/// Owners, times, inode numbers, link counts and xattrs are ignored, so
/// hard links become independent entries and `readdir` order is irrelevant
/// (the writer sorts).
///
/// `followingRoot`: if `path` itself is a symlink, scan what it points to
/// (links below it stay links). `skipping`: entries left out, by their
/// path below `path` ("sub/i.raw": the files being written, should they
/// lie inside the source). Every file records the device and inode seen,
/// and, below a directory, its root, so that the reader opens the same file
/// or refuses (see `SourceReader`). `threads`: how many threads list
/// directories (see `ScanQueue`); the tree and any failure reported are
/// the same with any number.
public func scanSource(path: String, followingRoot: Bool = false, skipping: Set<[UInt8]> = [],
                       threads: Int = 1) throws(SourceTreeError) -> Node {
    var scanner = DiskScanner(skipping: skipping)
    return try scanner.scan(Array(path.utf8), following: followingRoot, threads: threads)
}

struct DiskScanner {
    /// Paths below the root to leave out.
    let skipping: Set<[UInt8]>
    /// Their last components: only an entry of one of these names needs
    /// its path below the root made and looked up in `skipping` (making it
    /// for every entry would cost a tree of depth d time in d^2).
    let skippedNames: Set<[UInt8]>
    /// The directory the scan began at, once it is known to be one.
    private var root: SourceRoot?
    /// The scanned directories and their names (made with `root`).
    private var directories = SourceDirectories(root: nil)

    init(skipping: Set<[UInt8]>) {
        self.skipping = skipping
        skippedNames = Set(skipping.map { Array($0.split(separator: UInt8(ascii: "/")).last ?? []) })
    }

    mutating func scan(_ path: [UInt8], following: Bool = false, threads: Int = 1) throws(SourceTreeError) -> Node {
        var st = stat()
        let rc = Posix.withCString(path) { following ? stat($0, &st) : lstat($0, &st) }
        if rc != 0 {
            let e = errno
            throw SourceTreeError("\(renderName(path)): cannot stat (\(Posix.errorString(e)))",
                                kind: .io(Errno(e)), path: String(decoding: path, as: UTF8.self))
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return try node(path, st, parent: AT_FDCWD, name: path) }
        let root = SourceRoot(path: path, followed: following, identity: FileIdentity(st))
        self.root = root
        directories = SourceDirectories(root: root)
        let top = ScanQueue.Job(source: directories.rootDirectory, mode: UInt16(st.st_mode & 0o7777))
        let scanner = self
        let queue = { ScanQueue(root: top) { (job) throws(SourceTreeError) in try scanner.list(job) } }
        do throws(SourceTreeError) {
            return .directory(try queue().run(threads: threads))
        } catch where threads > 1 {
            // The failure one thread meets first, whichever one a thread
            // of several met (see `ScanQueue`).
            return .directory(try queue().run(threads: 1))
        }
    }

    /// `path` is the entry's whole path (for messages and for reading its
    /// contents later); `name` the entry relative to the directory `parent`
    /// (for readlink: `path` may be longer than PATH_MAX). A directory is
    /// an empty placeholder with its mode, listed by its own job.
    private func node(_ path: @autoclosure () -> [UInt8], _ st: stat, parent: Int32, name: [UInt8]) throws(SourceTreeError) -> Node {
        let mode = UInt16(st.st_mode & 0o7777)
        switch st.st_mode & S_IFMT {
        case S_IFDIR:
            return .directory(Directory(mode: mode))
        case S_IFREG:
            return .file(File(mode: mode, size: UInt64(st.st_size), source: .path(path()), identity: FileIdentity(st)))
        case S_IFLNK:
            return .symlink(target: try readLink(path(), parent: parent, name: name, size: Int(st.st_size)), mode: mode)
        case S_IFIFO:
            return .fifo(mode: mode)
        case S_IFSOCK:
            return .socket(mode: mode)
        case S_IFCHR:
            return .characterDevice(mode: mode, major: devMajor(st.st_rdev), minor: devMinor(st.st_rdev))
        case S_IFBLK:
            return .blockDevice(mode: mode, major: devMajor(st.st_rdev), minor: devMinor(st.st_rdev))
        default:
            throw SourceTreeError("\(renderName(path())): unsupported file type \(String(st.st_mode & S_IFMT, radix: 8))")
        }
    }

    private func readLink(_ path: @autoclosure () -> [UInt8], parent: Int32, name: [UInt8], size: Int) throws(SourceTreeError) -> [UInt8] {
        var cap = max(size, 255) + 1
        while true {
            var buf = [UInt8](repeating: 0, count: cap)
            let n = Posix.withCString(name) { p in
                buf.withUnsafeMutableBufferPointer { b in
                    b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: cap) { readlinkat(parent, p, $0, cap) }
                }
            }
            if n < 0 {
                let e = errno
                throw SourceTreeError("\(renderName(path())): cannot read symlink (\(Posix.errorString(e)))")
            }
            if n < cap { return Array(buf[0..<n]) }
            cap *= 2
        }
    }

    /// The listing of one directory (`ScanQueue`'s job): its entries sorted
    /// bytewise (the order the writers use, sorted here on the scan's
    /// threads), each subdirectory a placeholder, and a job for each.
    func list(_ job: ScanQueue.Job) throws(SourceTreeError) -> ScanQueue.Listing {
        let shared = job.source
        var entries = try directory(shared)
        entries.sort { bytewiseLess($0.entry.name, $1.entry.name) }
        var subdirectories: [ScanQueue.Job] = []
        for (i, e) in entries.enumerated() {
            guard case .directory(let placeholder) = e.entry.node else { continue }
            let source = try directories.add(in: shared.index, name: e.stored)
            subdirectories.append(ScanQueue.Job(source: source, mode: placeholder.mode, entry: Int32(i)))
        }
        return (Directory(mode: job.mode, entries: entries.map(\.entry)), subdirectories)
    }

    /// The entries of the directory at `source`, in readdir's order, each
    /// with where its name is stored in the scan's table.
    private func directory(_ source: SourcePath) throws(SourceTreeError) -> [(entry: Entry, stored: UInt32)] {
        // Beneath the root's descriptor, no link followed on any component
        // (only the root may be a symlink: see `following`), and relative
        // to the parent's descriptor when the path is longer than PATH_MAX
        // (see `SourceDirectories.open`).
        let dir: OpaquePointer
        do throws(SystemError) {
            let root = try self.root?.descriptor() ?? AT_FDCWD
            let fd = try directories.open(directory: source.index, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC, root: root)
            guard let d = fdopendir(fd.raw) else { throw SystemError(.open, errno: .current) }
            _ = fd.release()  // closedir closes it
            dir = d
        } catch {
            throw openFailure(error.errno.code, path: source.bytes)
        }
        defer { closedir(dir) }
        let fd = dirfd(dir)
        let names = try Self.names(in: dir, path: source)
        // Listing needs read permission, looking at the entries search
        // permission; say which is missing rather than "cannot stat".
        if !names.isEmpty && faccessat(fd, ".", X_OK, AT_EACCESS) != 0 && errno == EACCES {
            throw SourceTreeError("\(renderName(source.bytes)): permission denied searching this directory; make it searchable (e.g. chmod a+x) for the user that runs the write, or run as a user who can")
        }
        let stored = try directories.store(names, of: source.index)
        let entries = try entries(names, stored: stored, in: fd, directory: source)
        if entries.contains(where: { if case .directory = $0.entry.node { true } else { false } }) {
            directories.keep(fd, for: source.index)
        }
        return entries
    }

    private func openFailure(_ e: Int32, path: [UInt8]) -> SourceTreeError {
        if e == EACCES {
            return SourceTreeError("\(renderName(path)): permission denied listing this directory; make it readable and searchable (e.g. chmod a+rx) for the user that runs the write, or run as a user who can")
        }
        if e == ELOOP || e == ENOTDIR || e == ESTALE || e == EXDEV {
            return SourceTreeError("\(renderName(path)): was replaced (by a symlink or another file) during the scan; do not modify the source while the image is written", kind: .sourceChanged)
        }
        return SourceTreeError("\(renderName(path)): cannot open directory (\(Posix.errorString(e)))")
    }

    /// The names of an open directory's entries, without "." and "..", in
    /// readdir's order (the writer sorts them later).
    private static func names(in dir: OpaquePointer, path: SourcePath) throws(SourceTreeError) -> [[UInt8]] {
        var names: [[UInt8]] = []
        while true {
            errno = 0
            guard let ent = readdir(dir) else {
                if errno != 0 {
                    let e = errno
                    throw SourceTreeError("\(renderName(path.bytes)): cannot read directory (\(Posix.errorString(e)))")
                }
                return names
            }
            let name: [UInt8] = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                let len = strnlen(raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)
                return Array(raw[0..<len])
            }
            if name == [46] || name == [46, 46] { continue }
            names.append(name)
        }
    }

    /// Each name `lstat`ed relative to the directory's descriptor: regular
    /// files become entries that point at the directory and at their name
    /// in the scan's table (`stored`, one per name), the rest are scanned
    /// as nodes (directories as placeholders).
    private func entries(_ names: [[UInt8]], stored: [UInt32], in fd: Int32, directory shared: SourcePath) throws(SourceTreeError) -> [(entry: Entry, stored: UInt32)] {
        var entries: [(entry: Entry, stored: UInt32)] = []
        entries.reserveCapacity(names.count)
        for (name, at) in zip(names, stored) {
            var st = stat()
            let rc = Posix.withCString(name) { fstatat(fd, $0, &st, AT_SYMLINK_NOFOLLOW) }
            if rc != 0 {
                let e = errno
                throw SourceTreeError("\(renderName(shared.appending(name))): cannot stat (\(Posix.errorString(e)))")
            }
            if skippedNames.contains(name) && skipping.contains(shared.relativeAppending(name)) { continue }
            if (st.st_mode & S_IFMT) == S_IFREG {
                // Regular files point into the scan's table.
                let file = File(mode: UInt16(st.st_mode & 0o7777), size: UInt64(st.st_size),
                                source: .entry(directory: shared, name: at), identity: FileIdentity(st))
                entries.append((Entry(name: name, node: .file(file)), at))
            } else {
                entries.append((Entry(name: name, node: try node(shared.appending(name), st, parent: fd, name: name)), at))
            }
        }
        return entries
    }
}

extension FileIdentity {
    public init(_ st: stat) { self.init(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)) }
}

/// glibc's dev_t encoding (the macros are not imported into Swift).
public func devMajor(_ d: dev_t) -> UInt32 {
    let d = UInt64(d)
    return UInt32(truncatingIfNeeded: ((d >> 8) & 0xFFF) | ((d >> 32) & ~UInt64(0xFFF)))
}

public func devMinor(_ d: dev_t) -> UInt32 {
    let d = UInt64(d)
    return UInt32(truncatingIfNeeded: (d & 0xFF) | ((d >> 12) & ~UInt64(0xFF)))
}
