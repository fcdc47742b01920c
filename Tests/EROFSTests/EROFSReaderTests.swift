import Foundation
import XCTest
import EROFS
import ImageReading
import SourceTree
import TestSupport

/// The erofs reader against images of mkfs.erofs 1.9.3 (every compressor
/// and the layouts its options make), Debian's mkfs.erofs 1.5 and this
/// project's writer: what it reads must be the source tree and what
/// fsck.erofs --extract of erofs-utils 1.9.3 finds in the same image.
final class EROFSReaderTests: ScratchTestCase {
    /// mkfs.erofs options, each a layout the reader must handle, and what
    /// the reader must find in that image (`Self.layouts`).
    static let mkfsOptions: [(String, [String], Set<String>)] = [
        ("plain", [], ["raw"]),
        ("lz4hc", ["-zlz4hc,level=12"], ["compressed"]),
        ("lzma", ["-zlzma"], ["compressed"]),
        ("ztailpacking", ["-zlz4", "-Eztailpacking"], ["compressed", "inline"]),
        ("fragments", ["-zlz4hc", "-Eall-fragments,fragments,dedupe"], ["fragment"]),
        ("big-pclusters", ["-zlzma", "-C65536", "-Efragments,ztailpacking"], ["compressed", "big", "fragment"]),
        ("big-pclusters-dedupe", ["-zlz4hc", "-C16384", "-Eztailpacking,dedupe"], ["compressed", "big", "inline", "shared"]),
        ("zstd-big", ["-zzstd", "-C131072", "-Eall-fragments,dedupe,ztailpacking"], ["fragment"]),
        ("deflate-big", ["-zdeflate", "-C32768"], ["compressed", "big"]),
        ("chunks", ["--chunksize=8192"], ["raw", "sparse"]),
    ]

    /// What kinds of stored data the reader found in an image: raw
    /// blocks, compressed clusters (over a block: big), compressed inline
    /// tails, fragments, holes, clusters shared by two files (dedupe).
    static func layouts(_ path: String) throws -> Set<String> {
        let image = try EROFSImage(range: try ImageFile(path: path).whole)
        var found: Set<String> = []
        var owners: [UInt64: String] = [:]
        for e in try image.entries() where e.type == .file {
            for c in try image.chunks(of: e) {
                switch c.source {
                case .sparse: found.insert("sparse")
                case .fragment: found.insert("fragment")
                case .block:
                    found.insert(c.compressed ? "compressed" : "raw")
                    if c.compressed, c.storedSize > 4096 { found.insert("big") }
                    if c.compressed, c.storedAt % 4096 != 0 { found.insert("inline") }
                    if let other = owners[c.storedAt], other != e.pathString { found.insert("shared") }
                    owners[c.storedAt] = e.pathString
                }
            }
        }
        return found
    }

    /// The writer tests' edge tree with its three multi-megabyte files
    /// replaced by smaller ones of the same kinds (zeros, mixed, text),
    /// still several big pclusters long: the suite stays fast.
    static func tree() -> Directory {
        var root = EROFSWriterTests.edgeTree()
        guard case .directory(var files) = root.entries[0].node else { fatalError("the edge tree starts with files/") }
        files.entries.removeAll { ["zeros", "mixed", "big-text"].contains(String(decoding: $0.name, as: UTF8.self)) }
        let text = EROFSWriterTests.bytes(300_000, seed: 11, compressible: true)
        files.entries.append(Entry("zeros", .file(File(mode: 0o644, bytes: [UInt8](repeating: 0, count: 400_000)))))
        files.entries.append(Entry("mixed", .file(File(mode: 0o755, bytes: EROFSWriterTests.bytes(90_000, seed: 9, compressible: false) + [UInt8](repeating: 0, count: 200_000) + text))))
        files.entries.append(Entry("big-text", .file(File(mode: 0o644, bytes: text + text))))
        root.entries[0] = Entry("files", .directory(files))
        return root
    }

    /// The tree on disk (as fsck.erofs extracts our own image of it), with
    /// a sparse file added.
    func sourceTree() throws -> String {
        guard let fsck = ReferenceTools.path("fsck.erofs") else { throw XCTSkip("fsck.erofs 1.9.3 is not at hand") }
        let ours = scratch + "/ours.erofs"
        try write(Self.tree(), "none", to: ours)
        let source = scratch + "/source"
        let r = try Subprocess.run(fsck, ["--extract=" + source, ours])
        guard r.status == 0 else { throw TestFailure("fsck.erofs --extract: \(r.text)") }
        let sparse = open(source + "/sparse", O_WRONLY | O_CREAT, 0o644)
        XCTAssertEqual(ftruncate(sparse, 1 << 20), 0)
        XCTAssertEqual(pwrite(sparse, "middle", 6, 300_000), 6)
        close(sparse)
        // xattrs for mkfs.erofs to store inline and shared (one name and
        // value on several files); the reader skips them.
        guard let setfattr = ReferenceTools.installed("setfattr") else { return source }
        for (i, name) in ["files/text-100", "files/rand-1", "many", "files", "-"].enumerated() {
            for (key, value) in [("user.shared", "one value for all"), ("user.own\(i)", String(repeating: "v", count: 100 + 40 * i))] {
                let r = try Subprocess.run(setfattr, ["-n", key, "-v", value, source + "/" + name])
                XCTAssertEqual(r.status, 0, "setfattr: \(r.text)")
            }
        }
        return source
    }

    func write(_ tree: Directory, _ compression: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        _ = try writeEROFSImage(root: tree, to: fd, options: EROFSOptions(compression: Compression(parsing: compression)))
    }

    /// What the reader finds, path by path, in `Manifest`'s terms; owners
    /// must be 0:0 (every image here is made with --all-root or by us).
    static func manifest(_ path: String) throws -> [String: String] {
        let file = try ImageFile(path: path)
        let image = try EROFSImage(range: file.whole)
        var m: [String: String] = [:]
        for e in try image.entries().dropFirst() {
            let mode = Manifest.octal(e.permissions)
            XCTAssertEqual([e.uid, e.gid], [0, 0], "\(path): \(e.pathString)")
            switch e.type {
            case .directory: m[e.pathString] = "d " + mode
            case .file:
                var bytes: [UInt8] = []
                try image.readContents(of: e) { bytes += $0 }
                XCTAssertEqual(UInt64(bytes.count), e.size, "\(path): \(e.pathString)")
                m[e.pathString] = "f " + mode + " \(bytes.count) " + Manifest.digest(bytes)
            case .symlink: m[e.pathString] = "l " + String(decoding: e.target ?? [], as: UTF8.self)
            case .fifo: m[e.pathString] = "p " + mode
            case .socket: m[e.pathString] = "s " + mode
            case .char: m[e.pathString] = "c " + mode + " \(e.device!.major):\(e.device!.minor)"
            case .block: m[e.pathString] = "b " + mode + " \(e.device!.major):\(e.device!.minor)"
            }
        }
        return m
    }

    /// The reader's manifest equals the source's, fsck.erofs's (entry by
    /// entry with a packed inode: `ErofsExtraction`) and, with a packed
    /// inode, the kernel's too.
    func check(_ image: String, source: [String: String], label: String, packed: Bool = false) throws {
        let found = try Self.manifest(image)
        XCTAssertEqual(Manifest.differences(source, found), [], "\(label): the reader differs from the source")
        if packed, ReadBack.kernel.available() {
            let (path, done) = try ReadBack.kernel.open(image, scratch)
            defer { done() }
            XCTAssertEqual(Manifest.differences(try Manifest.ofDisk(path), found), [], "\(label): the reader differs from the kernel")
        }
        guard let fsck = ReferenceTools.path("fsck.erofs") else { return }
        let out = scratch + "/extract-" + label
        let problem = try ErofsExtraction.extract(fsck, image: image, to: out)
        XCTAssertNil(problem, "\(label): fsck.erofs: \(problem ?? "")")
        XCTAssertEqual(Manifest.differences(try Manifest.ofDisk(out), found), [], "\(label): the reader differs from fsck.erofs")
        try? FileManager.default.removeItem(atPath: out)
    }

    func testImagesOfMkfsErofs193() throws {
        guard let mkfs = ReferenceTools.path("mkfs.erofs") else { throw XCTSkip("mkfs.erofs 1.9.3 is not at hand") }
        let source = try sourceTree()
        let expected = try Manifest.ofDisk(source)
        for (label, options, layouts) in Self.mkfsOptions {
            let image = scratch + "/\(label).erofs"
            let r = try Subprocess.run(mkfs, ["--quiet", "-T0", "--all-root", "-Uclear"] + options + [image, source])
            XCTAssertEqual(r.status, 0, "mkfs.erofs \(options): \(r.text)")
            let found = try Self.layouts(image)
            XCTAssert(layouts.isSubset(of: found), "\(label): \(layouts) expected, \(found) found")
            let settings = try EROFSImage(range: try ImageFile(path: image).whole).settings
            XCTAssertEqual(settings.first { $0.name == "compatibleFeatures" }?.value.listed?.contains("xattr-filter"),
                           ReferenceTools.installed("setfattr") != nil, "\(label): the source's xattrs are in the image")
            try check(image, source: expected, label: label, packed: options.joined().contains("fragments"))
        }
    }

    func testImagesOfDebianMkfsErofs15() throws {
        let mkfs = "/usr/bin/mkfs.erofs"
        guard FileManager.default.isExecutableFile(atPath: mkfs) else { throw XCTSkip("Debian's mkfs.erofs is not installed") }
        let source = try sourceTree()
        // erofs-utils 1.5 cannot make a 255-byte name ("Could not format
        // the device"); 1.9.3 can.
        try FileManager.default.removeItem(atPath: source + "/" + String(repeating: "n", count: 255))
        let expected = try Manifest.ofDisk(source)
        for (label, options) in [("old-lz4hc", ["-zlz4hc"]), ("old-tail", ["-zlz4", "-Eztailpacking"]),
                                 ("old-legacy", ["-zlz4hc", "-Elegacy-compress"]), ("old-chunks", ["--chunksize=4096"])] {
            let image = scratch + "/\(label).erofs"
            let r = try Subprocess.run(mkfs, ["-T0", "--all-root"] + options + [image, source])
            XCTAssertEqual(r.status, 0, "mkfs.erofs 1.5 \(options): \(r.text.split(separator: "\r").suffix(2))")
            try check(image, source: expected, label: label)
        }
    }

    func testImagesOfOurWriter() throws {
        let expected = Manifest.of(Self.tree())
        for z in ["none", "lz4", "lz4hc", "lzma,level=9,dictsize=65536", "deflate", "zstd"] {
            let image = scratch + "/ours-\(z).erofs"
            try write(Self.tree(), z, to: image)
            // The writer's big pclusters and fragments (small files whole
            // and tails in the packed inode).
            let want: Set<String> = z == "none" ? ["raw"] : ["compressed", "big", "fragment"]
            let found = try Self.layouts(image)
            XCTAssert(want.isSubset(of: found), "ours \(z): \(want) expected, \(found) found")
            try check(image, source: expected, label: "ours-\(z)", packed: z != "none")
        }
    }
}

extension SettingValue {
    var listed: [String]? {
        if case .list(let l) = self { return l }
        return nil
    }
}
