import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Deterministic test data.
public enum TestData {
    /// The seeded generator the tests share (SplitMix64).
    public typealias RNG = SeededRandom

    /// Incompressible bytes.
    public static func random(_ count: Int, seed: UInt64) -> [UInt8] {
        var rng = RNG(seed: seed)
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { raw in
            let words = count / 8
            let p = raw.baseAddress!
            for i in 0..<words { p.storeBytes(of: rng.next(), toByteOffset: i * 8, as: UInt64.self) }
            var last = rng.next()
            for i in (words * 8)..<count { raw[i] = UInt8(truncatingIfNeeded: last); last >>= 8 }
        }
        return out
    }

    static let words: [[UInt8]] = [
        "squashfs", "inode", "block", "fragment", "directory", "the", "of", "and", "portable", "service",
        "deterministic", "image", "compressor", "zstd", "xz", "lz4", "gzip", "metadata", "table", "export",
        "a", "to", "in", "is", "reproducible", "bytes", "symlink", "device", "fifo", "socket", "\n", "\n\n", "=", "{", "}", "0x7f",
    ].map { Array($0.utf8) }

    /// Compressible, text-like bytes.
    public static func text(_ count: Int, seed: UInt64) -> [UInt8] {
        var rng = RNG(seed: seed)
        var out: [UInt8] = []
        out.reserveCapacity(count + 32)
        while out.count < count {
            out += words[rng.next(below: words.count)]
            out.append(UInt8(ascii: " "))
        }
        return Array(out[0..<count])
    }

    /// Executable-like bytes (for BCJ filters): a slice of a real ELF binary
    /// when one is readable, else random bytes.
    public static func machineCode(_ count: Int, seed: UInt64) -> [UInt8] {
        for candidate in ["/usr/bin/busybox", "/bin/busybox", "/usr/bin/bash", "/bin/bash", "/usr/bin/mksquashfs"] {
            if let bytes = try? Posix.readFile(RawPath(candidate)), bytes.count >= 4096 {
                var out: [UInt8] = []
                let start = Int(seed % UInt64(max(1, bytes.count / 2)))
                while out.count < count { out += bytes[start...].prefix(count - out.count) }
                return out
            }
        }
        return random(count, seed: seed)
    }
}

/// Creates test trees on disk with exact modes (independent of umask).
/// Paths are relative to `root` and may contain any bytes but NUL.
public final class TreeBuilder {
    public let root: RawPath

    public init(root: RawPath) throws {
        self.root = root
        if try Posix.lstatIfExists(root) == nil { try Posix.makeDirectories(root) }
        try Posix.chmod(root, 0o755)
    }

    public func full(_ p: RawPath) -> RawPath { root.appending(p) }

    /// Creates missing parent directories of `p` with mode 0755.
    func ensureParent(_ p: RawPath) throws {
        var current = RawPath.root
        for c in p.components.dropLast() {
            current = current.appending(c)
            if try Posix.lstatIfExists(full(current)) == nil {
                try Posix.mkdir(full(current), mode: 0o700)
                try Posix.chmod(full(current), 0o755)
            }
        }
    }

    @discardableResult
    public func dir(_ p: RawPath, mode: mode_t = 0o755) throws -> RawPath {
        try ensureParent(p)
        if try Posix.lstatIfExists(full(p)) == nil { try Posix.mkdir(full(p), mode: 0o700) }
        try Posix.chmod(full(p), mode)
        return p
    }

    @discardableResult
    public func file(_ p: RawPath, _ bytes: [UInt8], mode: mode_t = 0o644) throws -> RawPath {
        try ensureParent(p)
        try Posix.writeFile(full(p), bytes, mode: 0o600)
        try Posix.chmod(full(p), mode)
        return p
    }

    @discardableResult
    public func file(_ p: RawPath, _ text: String, mode: mode_t = 0o644) throws -> RawPath {
        try file(p, Array(text.utf8), mode: mode)
    }

    /// A file of `size` bytes that is a hole except for `chunks`.
    @discardableResult
    public func sparseFile(_ p: RawPath, size: UInt64, chunks: [(offset: UInt64, bytes: [UInt8])], mode: mode_t = 0o644) throws -> RawPath {
        try ensureParent(p)
        try Posix.writeFile(full(p), [], mode: 0o600)
        for c in chunks { try Posix.writeAt(full(p), offset: c.offset, c.bytes) }
        try Posix.truncate(full(p), size: size)
        try Posix.chmod(full(p), mode)
        return p
    }

    @discardableResult
    public func symlink(_ p: RawPath, to target: [UInt8]) throws -> RawPath {
        try ensureParent(p)
        try Posix.symlink(target: target, at: full(p))
        return p
    }

    @discardableResult
    public func symlink(_ p: RawPath, to target: String) throws -> RawPath {
        try symlink(p, to: Array(target.utf8))
    }

    @discardableResult
    public func hardLink(_ p: RawPath, to existing: RawPath) throws -> RawPath {
        try ensureParent(p)
        try Posix.hardLink(existing: full(existing), new: full(p))
        return p
    }

    @discardableResult
    public func fifo(_ p: RawPath, mode: mode_t = 0o644) throws -> RawPath {
        try ensureParent(p)
        try Posix.mkfifo(full(p), mode: 0o600)
        try Posix.chmod(full(p), mode)
        return p
    }

    /// A unix socket inode. Bound at a short temporary path (sun_path holds
    /// 108 bytes) and renamed into place.
    @discardableResult
    public func socket(_ p: RawPath, mode: mode_t = 0o755) throws -> RawPath {
        try ensureParent(p)
        let tmp = try TemporaryDirectory(prefix: "sock")
        defer { tmp.remove() }
        let s = tmp.sub("s")
        try Posix.makeSocket(s)
        let r = Posix.withCPath(s) { from in Posix.withCPath(full(p)) { to in rename(from, to) } }
        if r != 0 { throw PosixError(operation: "rename socket", path: full(p), code: errno) }
        try Posix.chmod(full(p), mode)
        return p
    }

    @discardableResult
    public func charDevice(_ p: RawPath, major: UInt32, minor: UInt32, mode: mode_t = 0o644) throws -> RawPath {
        try ensureParent(p)
        try Posix.mknod(full(p), type: S_IFCHR, mode: 0o600, major: major, minor: minor)
        try Posix.chmod(full(p), mode)
        return p
    }

    @discardableResult
    public func blockDevice(_ p: RawPath, major: UInt32, minor: UInt32, mode: mode_t = 0o644) throws -> RawPath {
        try ensureParent(p)
        try Posix.mknod(full(p), type: S_IFBLK, mode: 0o600, major: major, minor: minor)
        try Posix.chmod(full(p), mode)
        return p
    }

    public func chmod(_ p: RawPath, _ mode: mode_t) throws { try Posix.chmod(full(p), mode) }

    /// lchown; note that chown clears setuid/setgid bits, so callers chmod
    /// afterwards when they need them.
    public func chown(_ p: RawPath, uid: uid_t, gid: gid_t) throws { try Posix.lchown(full(p), uid: uid, gid: gid) }

    public func setMtime(_ p: RawPath, _ seconds: Int, nanoseconds: Int = 0) throws {
        try Posix.setTimes(full(p), seconds: seconds, nanoseconds: nanoseconds)
    }

    public func setXattr(_ p: RawPath, name: String, value: [UInt8]) throws {
        try Posix.setXattr(full(p), name: name, value: value)
    }

    /// Every path in the tree (relative, bytewise sorted; root excluded).
    public func allPaths() throws -> [RawPath] {
        try Manifest.scanPaths(root)
    }
}

extension Manifest {
    /// Relative paths below `root` (no hashing), sorted bytewise.
    public static func scanPaths(_ root: RawPath) throws -> [RawPath] {
        var out: [RawPath] = []
        func walk(_ rel: RawPath) throws {
            for name in try Posix.listDirectory(root.appending(rel)) {
                let p = rel.appending(name)
                out.append(p)
                let st = try Posix.lstat(root.appending(p))
                if (st.st_mode & S_IFMT) == S_IFDIR { try walk(p) }
            }
        }
        try walk(.root)
        return out.sorted()
    }
}
