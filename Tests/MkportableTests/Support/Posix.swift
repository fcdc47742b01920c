import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed system call, with the path it was about.
public struct PosixError: Error, CustomStringConvertible {
    public var operation: String
    public var path: RawPath
    public var code: Int32
    public var description: String {
        "\(operation)(\(path)): \(String(cString: strerror(code)))"
    }
}

/// Thin wrappers over POSIX calls that take raw-byte paths, so test trees
/// can hold names that are not UTF-8.
public enum Posix {
    static func withCPath<R>(_ path: RawPath, _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        var bytes = path.bytes
        if bytes.isEmpty { bytes = [UInt8(ascii: ".")] }
        bytes.append(0)
        return try bytes.withUnsafeBufferPointer { buf in
            try buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) { try body($0) }
        }
    }

    @discardableResult
    static func check(_ result: Int32, _ op: String, _ path: RawPath) throws -> Int32 {
        if result < 0 { throw PosixError(operation: op, path: path, code: errno) }
        return result
    }

    public static func lstat(_ path: RawPath) throws -> stat {
        var st = stat()
        try withCPath(path) { try check(Glibc.lstat($0, &st), "lstat", path) }
        return st
    }

    /// nil when the path does not exist (ENOENT); throws on other errors.
    public static func lstatIfExists(_ path: RawPath) throws -> stat? {
        var st = stat()
        let r = withCPath(path) { Glibc.lstat($0, &st) }
        if r == 0 { return st }
        if errno == ENOENT { return nil }
        throw PosixError(operation: "lstat", path: path, code: errno)
    }

    /// Names in a directory, without "." and "..", sorted bytewise.
    public static func listDirectory(_ path: RawPath) throws -> [RawPath] {
        guard let dir = withCPath(path, { opendir($0) }) else {
            throw PosixError(operation: "opendir", path: path, code: errno)
        }
        defer { closedir(dir) }
        var names: [RawPath] = []
        while true {
            errno = 0
            guard let ent = readdir(dir) else {
                if errno != 0 { throw PosixError(operation: "readdir", path: path, code: errno) }
                break
            }
            let name: [UInt8] = withUnsafePointer(to: &ent.pointee.d_name) { p in
                p.withMemoryRebound(to: UInt8.self, capacity: 256) { c in
                    Array(UnsafeBufferPointer(start: c, count: strlen(UnsafeRawPointer(c).assumingMemoryBound(to: CChar.self))))
                }
            }
            if name == [0x2e] || name == [0x2e, 0x2e] { continue }
            names.append(RawPath(name))
        }
        return names.sorted()
    }

    public static func readLink(_ path: RawPath) throws -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: 8192)
        let n = withCPath(path) { p in
            buf.withUnsafeMutableBufferPointer { b in
                readlink(p, UnsafeMutableRawPointer(b.baseAddress!).assumingMemoryBound(to: CChar.self), b.count)
            }
        }
        if n < 0 { throw PosixError(operation: "readlink", path: path, code: errno) }
        return Array(buf[0..<n])
    }

    /// Calls `body` with successive chunks of the file's bytes.
    public static func readChunks(_ path: RawPath, chunkSize: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) -> Void) throws {
        let fd = try withCPath(path) { try check(open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), "open", path) }
        defer { close(fd) }
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buf.deallocate() }
        while true {
            let n = read(fd, buf.baseAddress!, chunkSize)
            if n < 0 {
                if errno == EINTR { continue }
                throw PosixError(operation: "read", path: path, code: errno)
            }
            if n == 0 { break }
            body(UnsafeRawBufferPointer(rebasing: buf[0..<n]))
        }
    }

    /// The first `count` bytes (fewer if the file is shorter).
    public static func readPrefix(_ path: RawPath, count: Int) throws -> [UInt8] {
        let fd = try withCPath(path) { try check(open($0, O_RDONLY | O_CLOEXEC), "open", path) }
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, count - got) }
            if n < 0 {
                if errno == EINTR { continue }
                throw PosixError(operation: "read", path: path, code: errno)
            }
            if n == 0 { break }
            got += n
        }
        return Array(out[0..<got])
    }

    public static func readFile(_ path: RawPath) throws -> [UInt8] {
        var out: [UInt8] = []
        try readChunks(path) { out.append(contentsOf: $0) }
        return out
    }

    public static func writeFile(_ path: RawPath, _ bytes: [UInt8], mode: mode_t = 0o644) throws {
        let fd = try withCPath(path) { try check(open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode), "open", path) }
        defer { close(fd) }
        try bytes.withUnsafeBytes { b in
            var off = 0
            while off < b.count {
                let n = write(fd, b.baseAddress! + off, b.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw PosixError(operation: "write", path: path, code: errno)
                }
                off += n
            }
        }
    }

    /// Writes `bytes` at `offset` without truncating (for sparse files).
    public static func writeAt(_ path: RawPath, offset: UInt64, _ bytes: [UInt8]) throws {
        let fd = try withCPath(path) { try check(open($0, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644), "open", path) }
        defer { close(fd) }
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, off_t(offset)) }
        if n != bytes.count { throw PosixError(operation: "pwrite", path: path, code: errno) }
    }

    public static func truncate(_ path: RawPath, size: UInt64) throws {
        try withCPath(path) { try check(Glibc.truncate($0, off_t(size)), "truncate", path) }
    }

    public static func mkdir(_ path: RawPath, mode: mode_t = 0o755) throws {
        try withCPath(path) { try check(Glibc.mkdir($0, mode), "mkdir", path) }
    }

    /// mkdir -p
    public static func makeDirectories(_ path: RawPath) throws {
        var current = RawPath(path.bytes.first == UInt8(ascii: "/") ? [UInt8(ascii: "/")] : [])
        for c in path.components {
            current = current.appending(c)
            if try lstatIfExists(current) == nil { try mkdir(current) }
        }
    }

    public static func symlink(target: [UInt8], at path: RawPath) throws {
        try withCPath(RawPath(target)) { t in
            try withCPath(path) { p in try check(Glibc.symlink(t, p), "symlink", path) }
        }
    }

    public static func hardLink(existing: RawPath, new path: RawPath) throws {
        try withCPath(existing) { e in
            try withCPath(path) { p in try check(Glibc.link(e, p), "link", path) }
        }
    }

    public static func mkfifo(_ path: RawPath, mode: mode_t = 0o644) throws {
        try withCPath(path) { try check(Glibc.mkfifo($0, mode), "mkfifo", path) }
    }

    public static func makeDevNumber(major: UInt32, minor: UInt32) -> dev_t {
        let ma = UInt64(major), mi = UInt64(minor)
        return dev_t(((ma & 0xffff_f000) << 32) | ((ma & 0xfff) << 8) | ((mi & 0xffff_ff00) << 12) | (mi & 0xff))
    }

    public static func major(_ dev: dev_t) -> UInt32 {
        let d = UInt64(dev)
        return UInt32(((d >> 32) & 0xffff_f000) | ((d >> 8) & 0xfff))
    }

    public static func minor(_ dev: dev_t) -> UInt32 {
        let d = UInt64(dev)
        return UInt32(((d >> 12) & 0xffff_ff00) | (d & 0xff))
    }

    /// mknod for character (S_IFCHR) or block (S_IFBLK) devices; needs root.
    public static func mknod(_ path: RawPath, type: mode_t, mode: mode_t, major: UInt32, minor: UInt32) throws {
        let dev = makeDevNumber(major: major, minor: minor)
        try withCPath(path) { try check(Glibc.mknod($0, type | mode, dev), "mknod", path) }
    }

    /// Creates a unix socket inode by binding (and then closing) a socket.
    /// The path must fit in sun_path (108 bytes); callers pass short paths.
    public static func makeSocket(_ path: RawPath) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        if fd < 0 { throw PosixError(operation: "socket", path: path, code: errno) }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard path.bytes.count < capacity else {
            throw PosixError(operation: "bind (path longer than sun_path)", path: path, code: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.bytes.enumerated() { raw[i] = b }
            raw[path.bytes.count] = 0
        }
        let r = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if r < 0 { throw PosixError(operation: "bind", path: path, code: errno) }
    }

    public static func chmod(_ path: RawPath, _ mode: mode_t) throws {
        try withCPath(path) { try check(Glibc.chmod($0, mode), "chmod", path) }
    }

    public static func lchown(_ path: RawPath, uid: uid_t, gid: gid_t) throws {
        try withCPath(path) { try check(Glibc.lchown($0, uid, gid), "lchown", path) }
    }

    /// Sets atime and mtime, not following symlinks.
    public static func setTimes(_ path: RawPath, seconds: Int, nanoseconds: Int = 0) throws {
        var ts = [timespec(tv_sec: seconds, tv_nsec: nanoseconds), timespec(tv_sec: seconds, tv_nsec: nanoseconds)]
        try withCPath(path) { p in
            try check(utimensat(AT_FDCWD, p, &ts, AT_SYMLINK_NOFOLLOW), "utimensat", path)
        }
    }

    private typealias LSetXattr = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeRawPointer?, Int, Int32) -> Int32
    private static let lsetxattrFn: LSetXattr? = {
        guard let h = dlopen(nil, RTLD_NOW), let f = dlsym(h, "lsetxattr") else { return nil }
        return unsafeBitCast(f, to: LSetXattr.self)
    }()

    /// lsetxattr (looked up at run time: Glibc's Swift module omits it).
    public static func setXattr(_ path: RawPath, name: String, value: [UInt8]) throws {
        guard let fn = lsetxattrFn else { throw PosixError(operation: "lsetxattr (not available)", path: path, code: ENOSYS) }
        try withCPath(path) { p in
            try check(value.withUnsafeBytes { fn(p, name, $0.baseAddress, $0.count, 0) }, "lsetxattr \(name)", path)
        }
    }

    public static func unlink(_ path: RawPath) throws {
        try withCPath(path) { try check(Glibc.unlink($0), "unlink", path) }
    }

    /// rm -rf, as root (chmods directories it cannot enter).
    public static func removeTree(_ path: RawPath) {
        guard let st = try? lstat(path) else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            _ = try? chmod(path, 0o700)
            for name in (try? listDirectory(path)) ?? [] { removeTree(path.appending(name)) }
            _ = withCPath(path) { rmdir($0) }
        } else {
            _ = withCPath(path) { Glibc.unlink($0) }
        }
    }

    public static var isRoot: Bool { geteuid() == 0 }
}

/// A temporary directory that removes itself (call `remove()`, or rely on
/// the test case's teardown).
public final class TemporaryDirectory {
    public let path: RawPath
    public var url: URL { URL(fileURLWithPath: path.string) }

    public init(prefix: String = "mkportable-tests") throws {
        let base = ProcessInfo.processInfo.environment["MKPORTABLE_TEST_TMPDIR"] ?? NSTemporaryDirectory()
        var template = Array((base.hasSuffix("/") ? base : base + "/").utf8) + Array("\(prefix)-XXXXXX".utf8) + [0]
        let ok = template.withUnsafeMutableBufferPointer { b in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { mkdtemp($0) != nil }
        }
        guard ok else { throw PosixError(operation: "mkdtemp", path: RawPath(template), code: errno) }
        path = RawPath(Array(template.dropLast()))
    }

    public func sub(_ name: RawPath) -> RawPath { path.appending(name) }

    public func remove() { Posix.removeTree(path) }
}
