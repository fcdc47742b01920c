import Foundation
import XCTest
import EROFS
import ImageReading
import SourceTree
import TestSupport

final class EROFSWriterTests: ScratchTestCase {

    /// Bytes from a seeded generator: `compressible` gives text-like data.
    static func bytes(_ n: Int, seed: UInt64, compressible: Bool) -> [UInt8] {
        var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        let words: [[UInt8]] = ["usr", "lib", "systemd", "portable", "the ", "erofs", "\n", "0123"].map { Array($0.utf8) }
        var out: [UInt8] = []
        out.reserveCapacity(n)
        while out.count < n {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17
            if compressible { out.append(contentsOf: words[Int(s % UInt64(words.count))]) } else { out.append(UInt8(truncatingIfNeeded: s >> 24)) }
        }
        return Array(out.prefix(n))
    }

    /// Files at every boundary the format has: empty, one byte, tails that
    /// just fit or just miss inline room, full blocks, compressible and
    /// incompressible data, zeros; long names and link targets; every node
    /// type; a directory of several blocks.
    static func edgeTree() -> Directory {
        var root = Directory(mode: 0o755)
        var files = Directory(mode: 0o750)
        for (i, size) in [0, 1, 100, 4063, 4064, 4065, 4095, 4096, 4097, 8191, 8192, 65536, 200_000].enumerated() {
            files.entries.append(Entry("text-\(size)", .file(File(mode: 0o644, bytes: bytes(size, seed: UInt64(i), compressible: true)))))
            files.entries.append(Entry("rand-\(size)", .file(File(mode: 0o600, bytes: bytes(size, seed: UInt64(i), compressible: false)))))
        }
        files.entries.append(Entry("zeros", .file(File(mode: 0o644, bytes: [UInt8](repeating: 0, count: 3 << 20)))))
        files.entries.append(Entry("mixed", .file(File(mode: 0o755, bytes: bytes(300_000, seed: 9, compressible: false) + [UInt8](repeating: 0, count: 1_500_000) + bytes(70_000, seed: 3, compressible: true)))))
        files.entries.append(Entry("big-text", .file(File(mode: 0o644, bytes: bytes(2 << 20, seed: 11, compressible: true)))))
        // Two segments (1 MiB each) that do not compress: stored flat, read twice.
        files.entries.append(Entry("rand-segments", .file(File(mode: 0o644, bytes: bytes((1 << 20) + 5000, seed: 12, compressible: false)))))
        root.entries.append(Entry("files", .directory(files)))
        var many = Directory(mode: 0o755)
        for i in 0..<700 { many.entries.append(Entry("entry-with-a-longish-name-\(i)", .symlink(target: Array("t\(i)".utf8), mode: 0o777))) }
        root.entries.append(Entry("many", .directory(many)))
        root.entries.append(Entry(String(repeating: "n", count: 255), .file(File(mode: 0o644, bytes: Array("long name".utf8)))))
        root.entries.append(Entry("long-link", .symlink(target: Array(String(repeating: "x/", count: 2000).utf8) + [0x79], mode: 0o777)))
        root.entries.append(Entry("link", .symlink(target: Array("files/text-100".utf8), mode: 0o777)))
        root.entries.append(Entry("empty", .directory(Directory(mode: 0o700))))
        root.entries.append(Entry("fifo", .fifo(mode: 0o640)))
        root.entries.append(Entry("null", .characterDevice(mode: 0o666, major: 1, minor: 3)))
        root.entries.append(Entry("disk", .blockDevice(mode: 0o660, major: 259, minor: 70000)))
        root.entries.append(Entry("-", .file(File(mode: 0o4755, bytes: Array("sorts before the dot".utf8)))))
        return root
    }

    func write(_ tree: Directory, _ compression: String, name: String = "image.erofs", jobs: Int = 2,
               pcluster: Int = EROFSOptions.defaultPclusterSize, fragments: Bool = true, dedupe: Bool = true) throws -> String {
        let path = scratch + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        let options = EROFSOptions(compression: try Compression(parsing: compression), pclusterSize: pcluster, fragments: fragments,
                                    dedupe: dedupe, jobs: jobs)
        _ = try writeEROFSImage(root: tree, to: fd, options: options)
        return path
    }

    func checkReaders(_ image: String, compression: String, expected: [String: String]) throws {
        var ran = 0
        for reader in ReadBack.readers where reader.available() && reader.decodes?(compression) != false {
            let (path, done) = try reader.open(image, scratch)
            defer { done() }
            let found = Manifest.masked(try Manifest.ofDisk(path), reader.modeMask)
            let want = Manifest.masked(expected, reader.modeMask)
            XCTAssertEqual(Manifest.differences(want, found), [], "\(reader.name) read \(image) differently")
            ran += 1
        }
        XCTAssertGreaterThan(ran, 0, "no erofs reader available")
    }

    /// Every compression, with one-block, the default and the largest
    /// physical clusters (compact indexes with and without big pclusters,
    /// inline tail pclusters, compressed small files).
    func testEdgeTreeReadsBackForEveryCompression() throws {
        let expected = Manifest.of(Self.edgeTree())
        let settings = [("none", 4096, true), ("lz4", 65536, true), ("lz4hc", 65536, true), ("lz4hc", 65536, false),
                        ("lz4hc,level=12", 1 << 20, true), ("lzma", 65536, true), ("lzma,level=9,dictsize=65536", 4096, true),
                        ("deflate", 65536, true), ("deflate,level=9", 4096, true), ("zstd", 65536, true), ("zstd,level=9", 4096, true),
                        ("zstd,level=1", 1 << 20, true)]
        for (z, pcluster, fragments) in settings {
            let image = try write(Self.edgeTree(), z, name: "edge-\(z)-\(pcluster)-\(fragments).erofs", pcluster: pcluster,
                                  fragments: fragments, dedupe: fragments)
            XCTAssertEqual(try ErofsExtraction.hasFragments(image), fragments && z != "none", "\(z): the packed inode")
            try checkReaders(image, compression: z == "none" || !fragments ? z : "fragments", expected: expected)
        }
    }

    /// Small files and the tails of bigger ones go into the packed inode,
    /// each distinct content once, and copies of bigger files share their
    /// blocks: copies of every file cost the image only their inodes and
    /// entries; and the image is smaller than without fragments.
    func testFragmentsStoreEqualDataOnce() throws {
        var files = Directory(mode: 0o755)
        for i in 0..<300 {
            let size = [10, 700, 3000, 9000, 40_000][i % 5] + i
            files.entries.append(Entry("f\(i)", .file(File(mode: 0o644, bytes: Self.bytes(size, seed: UInt64(i), compressible: true)))))
        }
        files.entries.append(Entry("tailed", .file(File(mode: 0o644, bytes: Self.bytes(1_300_000, seed: 7, compressible: false) + Self.bytes(90_000, seed: 8, compressible: true)))))
        files.entries.append(Entry("whole", .file(File(mode: 0o644, bytes: Self.bytes(150_000, seed: 9, compressible: true)))))
        var root = Directory(mode: 0o755)
        root.entries.append(Entry("a", .directory(files)))
        let single = try write(root, "lz4hc", name: "single.erofs")
        let plain = try write(root, "lz4hc", name: "plain.erofs", fragments: false)
        root.entries.append(Entry("b", .directory(files)))
        let doubled = try write(root, "lz4hc", name: "doubled.erofs")
        func size(_ p: String) throws -> Int { (try FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0 }
        let (s, p, d) = (try size(single), try size(plain), try size(doubled))
        XCTAssertLessThan(s * 20, p * 19, "fragments did not save 5 %")
        // 302 inodes of 64 bytes and their entries: no fragment and no
        // block twice (the copies share them).
        let allowed: Int = 302 * 64 + 8 * 4096
        XCTAssertLessThanOrEqual(d - s, allowed)
        try checkReaders(doubled, compression: "fragments", expected: Manifest.of(root))
    }

    /// Small files that share a run of bytes but lie far apart in the
    /// tree (each in "a" has a partner in "z", with another first 200
    /// bytes) are put next to each other in the packed inode
    /// (`FragmentOrder`), so the run is compressed against its first copy:
    /// the image is at least 20 % smaller than the same tree whose
    /// partners share nothing; the thread count changes no byte, and the
    /// readers read every file back.
    func testFragmentsSharingARunArePackedTogether() throws {
        func tree(sharing: Bool) -> Directory {
            var a = Directory(mode: 0o755), z = Directory(mode: 0o755)
            for i in 0..<100 {
                let run = Self.bytes(3000, seed: UInt64(100 + i), compressible: true)
                let other = sharing ? run : Self.bytes(3000, seed: UInt64(5000 + i), compressible: true)
                a.entries.append(Entry("f\(i)", .file(File(mode: 0o644, bytes: Self.bytes(200, seed: UInt64(1000 + i), compressible: false) + run))))
                z.entries.append(Entry("f\(i)", .file(File(mode: 0o644, bytes: Self.bytes(200, seed: UInt64(2000 + i), compressible: false) + other))))
            }
            var root = Directory(mode: 0o755)
            root.entries.append(Entry("a", .directory(a)))
            root.entries.append(Entry("z", .directory(z)))
            return root
        }
        func size(_ p: String) throws -> Int { (try FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0 }
        let shared = try write(tree(sharing: true), "lz4hc", name: "runs.erofs", jobs: 1)
        let apart = try write(tree(sharing: false), "lz4hc", name: "apart.erofs", jobs: 1)
        XCTAssertLessThan(try size(shared) * 10, try size(apart) * 8, "the shared runs were compressed twice")
        let again = try write(tree(sharing: true), "lz4hc", name: "runs-5.erofs", jobs: 5)
        XCTAssertEqual(FileManager.default.contents(atPath: shared), FileManager.default.contents(atPath: again))
        try checkReaders(shared, compression: "fragments", expected: Manifest.of(tree(sharing: true)))
    }

    /// A small file whose bytes end an earlier one's, or lie inside it
    /// around its anchor, is not stored again in the packed inode
    /// (`FragmentPacker`): "a/big" holds 20,000 random bytes, "z/end" its
    /// last 7,000 and "z/s0".."z/s4" slices of 6,000 (4,990) that together
    /// hold every window of "big" but its last 10 bytes, so one holds its
    /// anchor. The packed inode (dump.erofs 1.9.3) holds "big", "filler"
    /// and at most the slices but one; the same tree with other random
    /// bytes in "z" (nothing to share) holds all; the image is smaller by
    /// more than "end"; the thread count changes no byte; fsck.erofs and
    /// the kernel read every file back.
    func testFragmentsInsideEarlierOnesAreNotStoredAgain() throws {
        let big = Self.bytes(20_000, seed: 31, compressible: false)
        let slices = [0..<6000, 4000..<10_000, 8000..<14_000, 12_000..<18_000, 15_000..<19_990]
        func tree(sharing: Bool) -> Directory {
            var a = Directory(mode: 0o755), z = Directory(mode: 0o755)
            a.entries.append(Entry("big", .file(File(mode: 0o644, bytes: big))))
            a.entries.append(Entry("filler", .file(File(mode: 0o644, bytes: Self.bytes(30_000, seed: 32, compressible: false)))))
            let end = sharing ? Array(big.suffix(7000)) : Self.bytes(7000, seed: 33, compressible: false)
            z.entries.append(Entry("end", .file(File(mode: 0o644, bytes: end))))
            for (i, r) in slices.enumerated() {
                let bytes = sharing ? Array(big[r]) : Self.bytes(r.count, seed: UInt64(40 + i), compressible: false)
                z.entries.append(Entry("s\(i)", .file(File(mode: 0o644, bytes: bytes))))
            }
            var root = Directory(mode: 0o755)
            root.entries.append(Entry("a", .directory(a)))
            root.entries.append(Entry("z", .directory(z)))
            return root
        }
        func size(_ p: String) throws -> Int { (try FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0 }
        let shared = try write(tree(sharing: true), "lz4hc", name: "inside.erofs", jobs: 1)
        let apart = try write(tree(sharing: false), "lz4hc", name: "inside-apart.erofs", jobs: 1)
        let all = 20_000 + 30_000 + 7000 + slices.reduce(0) { $0 + $1.count }
        if let fsck = ReferenceTools.path("fsck.erofs") {
            XCTAssertEqual(try ErofsExtraction.packedSize(fsck, image: apart), UInt64(all))
            let packed = try XCTUnwrap(try ErofsExtraction.packedSize(fsck, image: shared))
            XCTAssertLessThanOrEqual(packed, UInt64(all - 7000 - 4990), "the suffix or the slice around the anchor was stored again")
        }
        XCTAssertLessThan(try size(shared) + 7000, try size(apart))
        let again = try write(tree(sharing: true), "lz4hc", name: "inside-5.erofs", jobs: 5)
        XCTAssertEqual(FileManager.default.contents(atPath: shared), FileManager.default.contents(atPath: again))
        try checkReaders(shared, compression: "fragments", expected: Manifest.of(tree(sharing: true)))
    }

    /// Files that share long runs of bytes but are not equal (two
    /// .so-like files that differ in a few bytes at different offsets, and
    /// one holding most of them after another prefix) store the shared
    /// segments once (`SegmentDedupe`): the image is 10 % smaller than
    /// without dedupe (the last segment of each file and those holding a
    /// change are stored again), the thread count changes no byte, and fsck.erofs and
    /// the kernel (loop and file-backed) read every file back exactly.
    func testSharedRunsAcrossFilesAreStoredOnce() throws {
        let base = Self.bytes(3 << 20, seed: 21, compressible: true)
        var b = base, c = Self.bytes(50_000, seed: 22, compressible: false) + base.prefix(2_600_000)
        for at in [150_000, 2_100_000] { b[at] ^= 0x55 }
        c[1_700_000] ^= 0x33
        var root = Directory(mode: 0o755)
        root.entries.append(Entry("liba.so", .file(File(mode: 0o755, bytes: base))))
        root.entries.append(Entry("libb.so", .file(File(mode: 0o755, bytes: b))))
        root.entries.append(Entry("libc.a", .file(File(mode: 0o644, bytes: c))))
        let shared = try write(root, "lz4hc", name: "shared.erofs", jobs: 1)
        let again = try write(root, "lz4hc", name: "shared-5.erofs", jobs: 5)
        let plain = try write(root, "lz4hc", name: "unshared.erofs", dedupe: false)
        func size(_ p: String) throws -> Int { (try FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0 }
        let (d, p) = (try size(shared), try size(plain))
        XCTAssertLessThan(d * 10, p * 9, "dedupe did not save 10 % (\(d) against \(p) bytes)")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: shared)), try Data(contentsOf: URL(fileURLWithPath: again)))
        let expected = Manifest.of(root)
        try checkReaders(shared, compression: "fragments", expected: expected)
        if ErofsEdgeCaseTests.fileBackedKernel.available() {
            let (path, done) = try ErofsEdgeCaseTests.fileBackedKernel.open(shared, scratch)
            defer { done() }
            XCTAssertEqual(Manifest.differences(expected, try Manifest.ofDisk(path)), [], "file-backed mount")
        }
    }

    /// A long run that three files share, each from another offset or
    /// with another end, is cut into few segments: its chunks (24 KiB on
    /// average) always follow one another, so they join segments of up to
    /// 1 MiB in every copy (`SegmentPlan`) instead of each ending one, and
    /// a partly filled pcluster, every chunk. The first copy (3 MiB) has
    /// at most 12 pclusters under 64 KiB (unjoined, about 130), later
    /// copies take their pclusters, every reader reads the files back,
    /// and the thread count changes no byte.
    func testLongSharedRunsJoinAcrossCopies() throws {
        let run = Self.bytes(3 << 20, seed: 31, compressible: true)
        var root = Directory(mode: 0o755)
        root.entries.append(Entry("a", .file(File(mode: 0o644, bytes: run))))
        root.entries.append(Entry("b", .file(File(mode: 0o644, bytes: Self.bytes(30_000, seed: 32, compressible: false) + run))))
        root.entries.append(Entry("c", .file(File(mode: 0o644, bytes: Array(run.prefix(2_500_000)) + Self.bytes(20_000, seed: 33, compressible: true)))))
        let shared = try write(root, "lz4hc", name: "joined.erofs", jobs: 1)
        let again = try write(root, "lz4hc", name: "joined-5.erofs", jobs: 5)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: shared)), try Data(contentsOf: URL(fileURLWithPath: again)))
        let image = try EROFSImage(range: try ImageFile(path: shared).whole)
        var stored: [String: [StoredChunk]] = [:]
        for e in try image.entries() where e.type == .file { stored[e.pathString] = try image.chunks(of: e) }
        let a = try XCTUnwrap(stored["/a"] ?? stored["a"], "no file a in \(stored.keys.sorted())")
        let partial = a.dropLast().filter { $0.storedSize < 65536 }.count
        XCTAssertLessThanOrEqual(partial, 12, "the run's first copy has \(partial) partly filled pclusters")
        let mine = Set(a.map(\.storedAt))
        let b = try XCTUnwrap(stored["/b"] ?? stored["b"])
        XCTAssertGreaterThan(b.filter { mine.contains($0.storedAt) }.count, a.count / 2, "b shares few of a's pclusters")
        try checkReaders(shared, compression: "fragments", expected: Manifest.of(root))
    }

    /// Segments of a run that shares nothing chain (`Segment`): each
    /// carries its last, partly filled pcluster's bytes into the next, so
    /// a 5 MiB file has one partly filled pcluster at its 4 MiB chain end
    /// and one before its tail, not one at every 1 MiB (4 without chains).
    /// The bytes stay a function of the tree (1 and 8 threads, where chains
    /// wait for each other), also where chains meet shared runs (file c
    /// holds a run of d between unshared bytes) and in the packed inode
    /// (2.4 MiB of small files); every reader sees the tree.
    func testUnsharedSegmentsChain() throws {
        var root = Directory(mode: 0o755)
        root.entries.append(Entry("a", .file(File(mode: 0o644, bytes: Self.bytes(5 << 20, seed: 51, compressible: true)))))
        let run = Self.bytes(1_500_000, seed: 52, compressible: true)
        let c = Self.bytes(2_500_000, seed: 53, compressible: true) + run + Self.bytes(2 << 20, seed: 54, compressible: true)
        root.entries.append(Entry("c", .file(File(mode: 0o644, bytes: c))))
        root.entries.append(Entry("d", .file(File(mode: 0o644, bytes: Self.bytes(70_000, seed: 55, compressible: false) + run))))
        var small = Directory(mode: 0o755)
        for i in 0..<300 { small.entries.append(Entry("f\(i)", .file(File(mode: 0o644, bytes: Self.bytes(8_000, seed: UInt64(1000 + i), compressible: true))))) }
        root.entries.append(Entry("small", .directory(small)))
        for z in ["lz4hc", "lzma"] {
            let one = try write(root, z, name: "chain-1.erofs", jobs: 1)
            let eight = try write(root, z, name: "chain-8.erofs", jobs: 8)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: one)), try Data(contentsOf: URL(fileURLWithPath: eight)), "\(z): 8 threads changed the image")
            let image = try EROFSImage(range: try ImageFile(path: one).whole)
            var stored: [String: [StoredChunk]] = [:]
            for e in try image.entries() where e.type == .file { stored[e.pathString] = try image.chunks(of: e) }
            let a = try XCTUnwrap(stored["/a"] ?? stored["a"], "no file a in \(stored.keys.sorted())")
            let partial = a.dropLast().filter { $0.storedSize < 65536 }.count
            XCTAssertLessThanOrEqual(partial, 2, "\(z): a 5 MiB file has \(partial) partly filled pclusters")
            try checkReaders(one, compression: "fragments", expected: Manifest.of(root))
        }
    }

    /// Files that share no run of bytes are cut every 1 MiB from offset 0
    /// with dedupe on, as with it off (`SegmentPlan`: content-defined cuts
    /// only around runs that occur twice, since every cut costs a partly
    /// filled pcluster): the two images are the same bytes, and read back.
    func testFilesWithoutSharedRunsAreCutAsWithoutDedupe() throws {
        var root = Directory(mode: 0o755)
        for i in 0..<3 {
            let size = 2_500_000 + 7_777 * i
            root.entries.append(Entry("lib\(i).so", .file(File(mode: 0o755, bytes: Self.bytes(size, seed: UInt64(40 + i), compressible: i != 1)))))
        }
        let on = try write(root, "lz4hc", name: "on.erofs")
        let off = try write(root, "lz4hc", name: "off.erofs", dedupe: false)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: on)), try Data(contentsOf: URL(fileURLWithPath: off)),
                       "dedupe cut files that share nothing")
        try checkReaders(on, compression: "fragments", expected: Manifest.of(root))
    }

    /// The image is a function of the tree: entry order and the thread
    /// count do not matter, and the UUID follows the content (a one-byte
    /// change gives another).
    func testDeterministicAndContentDerivedUUID() throws {
        var shuffled = Self.edgeTree()
        shuffled.entries.reverse()
        for z in ["none", "lz4hc", "deflate", "zstd"] {
            let a = try Data(contentsOf: URL(fileURLWithPath: try write(Self.edgeTree(), z, name: "a.erofs", jobs: 1)))
            let b = try Data(contentsOf: URL(fileURLWithPath: try write(shuffled, z, name: "b.erofs", jobs: 2)))
            XCTAssertEqual(a, b, "\(z): entry order or the thread count changed the image")
            let d = try Data(contentsOf: URL(fileURLWithPath: try write(Self.edgeTree(), z, name: "d.erofs", jobs: 5)))
            XCTAssertEqual(a, d, "\(z): 5 threads changed the image")
            var changed = Self.edgeTree()
            changed.entries.append(Entry("one-more", .file(File(bytes: [1]))))
            let c = try Data(contentsOf: URL(fileURLWithPath: try write(changed, z, name: "c.erofs")))
            let uuid = { (d: Data) in d[1024 + 48..<1024 + 64] }
            XCTAssertNotEqual(uuid(a), uuid(c), "\(z): another tree kept the UUID")
            XCTAssertNotEqual(uuid(a), Data(count: 16))
        }
    }

    /// A scanned directory: hard links, time stamps and the order files
    /// were made in change no byte, and every reader sees the source.
    func testScannedTreeIgnoresHardLinksAndTimes() throws {
        func make(_ dir: String, linked: Bool, reversed: Bool) throws {
            let fm = FileManager.default
            try fm.createDirectory(atPath: dir + "/bin", withIntermediateDirectories: true)
            var names = (0..<40).map { "f\($0)" }
            if reversed { names.reverse() }
            for n in names {
                try Data(Self.bytes(5000 + n.count * 300, seed: UInt64(n.count), compressible: true)).write(to: URL(fileURLWithPath: dir + "/bin/" + n))
            }
            if linked { try fm.linkItem(atPath: dir + "/bin/f1", toPath: dir + "/bin/g1") } else { try fm.copyItem(atPath: dir + "/bin/f1", toPath: dir + "/bin/g1") }
            try fm.createSymbolicLink(atPath: dir + "/link", withDestinationPath: "bin/f1")
            var times = [timespec(tv_sec: reversed ? 12345 : 99999, tv_nsec: 0), timespec(tv_sec: reversed ? 1 : 7, tv_nsec: 5)]
            _ = utimensat(AT_FDCWD, dir + "/bin/f2", &times, 0)
        }
        try make(scratch + "/a", linked: true, reversed: false)
        try make(scratch + "/b", linked: false, reversed: true)
        var images: [Data] = []
        for side in ["a", "b"] {
            guard case .directory(var root) = try scanSource(path: scratch + "/" + side) else { return XCTFail("not a directory") }
            root.mode = 0o755
            let image = try write(root, "lz4hc", name: side + ".erofs")
            images.append(try Data(contentsOf: URL(fileURLWithPath: image)))
            try checkReaders(image, compression: "fragments", expected: try Manifest.ofDisk(scratch + "/" + side))
        }
        XCTAssertEqual(images[0], images[1], "hard links, times or creation order changed the image")
    }
}
