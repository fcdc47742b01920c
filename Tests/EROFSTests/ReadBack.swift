import Foundation
import XCTest
import EROFS
import SourceTree
import TestSupport

/// Independent readers of an erofs image: each turns it into a directory
/// on disk, which is compared with the tree the image was made from.
enum ReadBack {

    struct Reader {
        var name: String
        /// Permission bits the reader keeps (Debian's fsck.erofs 1.5 drops
        /// set-id bits when it extracts).
        var modeMask: UInt16 = 0o7777
        /// Compressions the reader can decode (nil: all).
        var decodes: ((String) -> Bool)? = nil
        var available: () -> Bool
        /// Makes the image's tree appear at the returned path; `done` undoes it.
        var open: (_ image: String, _ scratch: String) throws -> (path: String, done: () -> Void)
    }

    static func fsck(_ tool: String?, label: String) -> Reader {
        Reader(name: label, available: { tool != nil }) { image, scratch in
            guard let tool else { throw TestFailure("\(label) is not at hand") }
            let out = scratch + "/extract-" + label.replacingOccurrences(of: " ", with: "-")
            if let problem = try ErofsExtraction.extract(tool, image: image, to: out) {
                throw TestFailure("\(label) failed on \(image): \(problem)")
            }
            return (out, { try? FileManager.default.removeItem(atPath: out) })
        }
    }

    /// Debian 12's erofs-utils 1.5 is built without liblzma, and deflate
    /// (1.7), zstd (1.8) and fragments (1.6) came after it: callers say
    /// "fragments" for images with a packed inode.
    static var debianFsck: Reader {
        var r = fsck("/usr/bin/fsck.erofs", label: "fsck.erofs 1.5")
        r.modeMask = 0o777
        r.decodes = { z in !["lzma", "deflate", "zstd", "fragments"].contains { z.hasPrefix($0) } }
        return r
    }

    static let kernel = Reader(name: "kernel", available: { getuid() == 0 }) { image, scratch in
        let mnt = scratch + "/mnt"
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        let r = try Subprocess.run("/bin/mount", ["-t", "erofs", "-o", "ro,loop", image, mnt])
        guard r.status == 0 else { throw TestFailure("mount -t erofs failed on \(image): \(r.text)") }
        return (mnt, { _ = try? Subprocess.run("/bin/umount", [mnt]) })
    }

    static let readers: [Reader] = [
        fsck(ReferenceTools.path("fsck.erofs"), label: "fsck.erofs 1.9.3"),
        debianFsck,
        kernel,
    ]
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// One line per path: what a reader must reproduce (type, permissions,
/// size and content, link target, device number).
enum Manifest {
    static func of(_ dir: Directory, prefix: String = "") -> [String: String] {
        var m: [String: String] = [:]
        for e in dir.entries {
            let path = prefix + "/" + String(decoding: e.name, as: UTF8.self)
            switch e.node {
            case .directory(let d):
                m[path] = "d " + octal(d.mode)
                m.merge(of(d, prefix: path)) { a, _ in a }
            case .file(let f):
                guard case .bytes(let b) = f.source else { fatalError("manifest of in-memory trees only") }
                m[path] = "f " + octal(f.mode) + " \(b.count) " + digest(b)
            case .symlink(let t, _): m[path] = "l " + String(decoding: t, as: UTF8.self)
            case .fifo(let mode): m[path] = "p " + octal(mode)
            case .socket(let mode): m[path] = "s " + octal(mode)
            case .characterDevice(let mode, let ma, let mi): m[path] = "c " + octal(mode) + " \(ma):\(mi)"
            case .blockDevice(let mode, let ma, let mi): m[path] = "b " + octal(mode) + " \(ma):\(mi)"
            }
        }
        return m
    }

    static func octal(_ m: UInt16) -> String { String(m & 0o7777, radix: 8) }

    static func digest(_ b: [UInt8]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for x in b { h = (h ^ UInt64(x)) &* 0x100_0000_01b3 }
        return String(h, radix: 16)
    }

    static func ofDisk(_ root: String, modeMask: UInt16 = 0o7777) throws -> [String: String] {
        var m: [String: String] = [:]
        try walk(root, "", into: &m, skipSockets: false)
        return m
    }

    /// `m` with every permission field masked by `mask`.
    static func masked(_ m: [String: String], _ mask: UInt16) -> [String: String] {
        m.mapValues { line in
            var parts = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            guard parts[0] != "l", parts.count > 1, let mode = UInt16(parts[1], radix: 8) else { return line }
            parts[1] = octal(mode & mask)
            return parts.joined(separator: " ")
        }
    }

    private static func walk(_ root: String, _ rel: String, into m: inout [String: String], skipSockets: Bool) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: root + rel) {
            let path = rel + "/" + name
            var st = stat()
            guard lstat(root + path, &st) == 0 else { throw TestFailure("lstat \(path)") }
            let mode = UInt16(st.st_mode & 0o7777)
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                m[path] = "d " + octal(mode)
                try walk(root, path, into: &m, skipSockets: skipSockets)
            case S_IFREG:
                let b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: root + path)))
                m[path] = "f " + octal(mode) + " \(b.count) " + digest(b)
            case S_IFLNK:
                var buf = [UInt8](repeating: 0, count: 8192)
                let n = readlink(root + path, &buf, buf.count)
                guard n >= 0 else { throw TestFailure("readlink \(path)") }
                m[path] = "l " + String(decoding: buf[0..<n], as: UTF8.self)
            case S_IFIFO: m[path] = "p " + octal(mode)
            case S_IFSOCK: if !skipSockets { m[path] = "s " + octal(mode) }
            case S_IFCHR: m[path] = "c " + octal(mode) + " \(major(st.st_rdev)):\(minor(st.st_rdev))"
            case S_IFBLK: m[path] = "b " + octal(mode) + " \(major(st.st_rdev)):\(minor(st.st_rdev))"
            default: throw TestFailure("\(path): unknown type")
            }
        }
    }

    static func major(_ d: dev_t) -> UInt32 { UInt32((d >> 8) & 0xFFF) | UInt32((d >> 32) & ~0xFFF) }
    static func minor(_ d: dev_t) -> UInt32 { UInt32(d & 0xFF) | UInt32((d >> 12) & ~0xFF) }

    /// The first few differences, worded for a failure message.
    static func differences(_ expected: [String: String], _ found: [String: String]) -> [String] {
        var out: [String] = []
        for k in Set(expected.keys).union(found.keys).sorted() where expected[k] != found[k] {
            out.append("\(k): expected \(expected[k] ?? "nothing"), found \(found[k] ?? "nothing")")
            if out.count == 10 { break }
        }
        return out
    }
}
