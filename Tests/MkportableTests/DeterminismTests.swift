import Foundation
import XCTest

/// The image is a pure function of names, entry types, permission bits,
/// sizes, contents and link targets (plus the options): thread count,
/// repetition, creation order, times, owners, hard links and xattrs of the
/// source must not change a single byte, while --mtime must.
final class DeterminismTests: ImageTestCase {
    lazy var spec = SampleTrees.kitchenSink()
    let fast = PackOptions(comp: "zstd", blockSize: "128K", mtime: 1_700_000_000)

    /// Byte comparison with cmp(1); the failure names the first difference.
    func assertIdentical(_ a: RawPath, _ b: RawPath, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try Shell.run("cmp", [a.string, b.string])
        switch r.status {
        case 0: return
        case 1: XCTFail("\(what): images differ: \(r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)); \(try ImageCheck.firstDifference(a, b) ?? "")", file: file, line: line)
        default: XCTFail("\(what): cmp failed: \(r.summary)", file: file, line: line)
        }
    }

    /// Packs `root` at one job (read back by `packAndVerify`) and at each
    /// of `jobs`, and asserts every image is the one-job image's bytes;
    /// returns the one-job image.
    @discardableResult
    func assertSameAtJobs(_ root: RawPath, _ options: PackOptions, _ jobs: [Int], name: String = "",
                          file: StaticString = #filePath, line: UInt = #line) throws -> RawPath {
        let prefix = name.isEmpty ? "" : name + "-"
        var one = options
        one.jobs = 1
        let (a, _) = try packAndVerify(root, options: one, name: "\(prefix)jobs1.sqfs", file: file, line: line)
        for n in jobs {
            var o = options
            o.jobs = n
            let b = try pack(root, options: o, name: "\(prefix)jobs\(n).sqfs")
            try assertIdentical(a, b, "\(prefix.isEmpty ? "" : name + " files: ")--jobs 1 vs --jobs \(n)", file: file, line: line)
        }
        return a
    }

    func assertDifferent(_ a: RawPath, _ b: RawPath, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try Shell.run("cmp", ["-s", a.string, b.string])
        XCTAssertEqual(r.status, 1, "\(what): images should differ but cmp says \(r.status == 0 ? "identical" : r.summary)", file: file, line: line)
    }

    func build(_ name: String, _ variant: BuildVariant = BuildVariant()) throws -> RawPath {
        let root = work.sub(RawPath(name))
        try spec.build(at: root, variant: variant)
        return root
    }

    // MARK: same input, same bytes

    func testJobCountDoesNotChangeTheImage() throws {
        let src = try build("src")
        let configs: [(PackOptions, [Int?])] = [
            (PackOptions(), [1, nil]),  // xz, 1M
            (PackOptions(comp: "gzip", blockSize: "4K"), [1, 2, 3, 8, nil]),  // hundreds of blocks and fragments in flight
            (PackOptions(comp: "zstd -Xcompression-level 19", blockSize: "128K"), [1, 2]),
        ]
        for (c, (base, jobList)) in configs.enumerated() {
            var images: [(String, RawPath)] = []
            for jobs in jobList {
                var o = base
                o.jobs = jobs
                let img = try pack(src, options: o, name: "c\(c)-jobs-\(jobs.map(String.init) ?? "default").sqfs")
                images.append((jobs.map { "--jobs \($0)" } ?? "default jobs", img))
            }
            for (label, img) in images.dropFirst() {
                try assertIdentical(images[0].1, img, "\(base): --jobs 1 vs \(label)")
            }
        }
    }

    /// An inode table of more metadata blocks than the compressor lets
    /// wait at once (long symlink targets make big inodes), with directory
    /// inodes and listings naming each other's blocks all along: the tables
    /// compress on several threads, so the bytes must not depend on --jobs,
    /// and every reader must find each entry where the image says it is.
    /// The tails of larger files fill a dozen fragment blocks, which are
    /// still compressing while the metadata is laid out and compressed.
    func testLargeMetadataTablesDoNotDependOnJobs() throws {
        let src = try newSource("many")
        var rng = TestData.RNG(seed: 41)
        for d in 0..<100 {
            let dir = "d\(d % 10)/sub-\(d)"
            for f in 0..<24 {
                let name = "\(dir)/entry-\(f)-" + String(repeating: "n", count: rng.next(below: 30))
                if f % 6 == 5 {
                    let target = String(repeating: "../x", count: 300 + rng.next(below: 100)) + "/\(d)-\(f)"
                    try src.symlink(RawPath(name), to: target)
                } else {
                    try src.file(RawPath(name), Array("\(d) \(f)\n".utf8), mode: f % 9 == 0 ? 0o755 : 0o644)
                }
            }
        }
        for t in 0..<24 {
            let bytes = TestData.text(40_000 + rng.next(below: 60_000), seed: UInt64(t)) + TestData.random(8_000, seed: UInt64(t))
            try src.file(RawPath("tails/t\(t)"), bytes)
        }
        let a = try assertSameAtJobs(src.root, PackOptions(comp: "xz", blockSize: "128K"), [2, 3, 8])
        // The inode table alone must hold more blocks than may wait at once
        // (64): count its stored blocks by their headers.
        let sb = try Superblock.read(a)
        let bytes = try Posix.readPrefix(a, count: Int(sb.directoryTableStart))
        var at = Int(sb.inodeTableStart), blocks = 0
        while at < Int(sb.directoryTableStart) {
            at += 2 + Int((UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8) & 0x7fff)
            blocks += 1
        }
        XCTAssertEqual(at, Int(sb.directoryTableStart), "inode table blocks do not end where the directory table starts")
        XCTAssertGreaterThan(blocks, 64, "the inode table is too small to exercise waiting blocks")
    }

    /// The metadata is laid out once every data block is written, while
    /// fragment blocks still wait for a worker or compress, and the layout
    /// writes the ones finished meanwhile every 4,096 entries. Two trees:
    /// 5,000 small files whose tails fill hundreds of 4K fragment blocks,
    /// and large files of whole blocks with one small file, whose last
    /// data blocks are still compressing when the tails are packed (the
    /// layout must wait for them). The bytes must not depend on --jobs,
    /// and every reader must agree with them.
    func testMetadataBesideQueuedFragmentsDoesNotDependOnJobs() throws {
        let small = try newSource("queued")
        for f in 0..<5_000 {
            try small.file(RawPath("s\(f % 50)/f\(f)"), TestData.random(300 + f % 700, seed: UInt64(f)))
        }
        let large = try newSource("whole")
        for b in 0..<6 {
            try large.file(RawPath("big\(b)"), TestData.text(64 * 4096, seed: UInt64(b)))
        }
        try large.file(RawPath("small"), Array("tail\n".utf8))
        for (name, src) in [("small", small), ("large", large)] {
            try assertSameAtJobs(src.root, PackOptions(comp: "xz", blockSize: "4K"), [2, 3, 8], name: name)
        }
    }

    /// Small x86 executables among other small files: pass 1 reads their
    /// headers (on a thread of its own beside it when there is a second
    /// job) to pack their tails first, so which thread read them must not
    /// change the order, nor a byte.
    func testSmallExecutablesPackTheSameAtAnyJobs() throws {
        let src = try newSource("programs")
        var elf = [UInt8](repeating: 0, count: 64)
        elf[0...3] = [0x7f, 0x45, 0x4c, 0x46]
        elf[4] = 2; elf[5] = 1; elf[16] = 3; elf[18] = 62  // x86-64 shared object
        for d in 0..<12 {
            for f in 0..<40 {
                let body = TestData.random(200 + (d * 40 + f) % 900, seed: UInt64(d * 40 + f))
                let name = RawPath("d\(d)/f\(f)\(f % 5 == 0 ? ".so" : "")")
                switch f % 7 {
                case 0: try src.file(name, elf + body, mode: 0o755)
                case 1: try src.file(name, elf + body, mode: 0o644)  // an .so name or not sniffed
                case 2: try src.file(name, Array("#!/bin/sh\n".utf8) + body, mode: 0o755)
                default: try src.file(name, body, mode: 0o644)
                }
            }
        }
        try assertSameAtJobs(src.root, PackOptions(comp: "xz", blockSize: "16K"), [2, 3])
    }

    func testPackingTwiceGivesTheSameImage() throws {
        let src = try build("src")
        let a = try pack(src, options: fast, name: "first.sqfs")
        let b = try pack(src, options: fast, name: "second.sqfs")
        try assertIdentical(a, b, "two runs")
        // Where the image is written does not matter either.
        try Posix.makeDirectories(work.sub("some/other/directory"))
        let c = try pack(src, options: fast, name: "some/other/directory/a-different-name.img")
        try assertIdentical(a, c, "another output path")
    }

    /// Copies of one tree made differently: reverse creation order, other
    /// mtimes, other owners, xattrs, another source root mode and location.
    /// Duplicates stay copies here so the mksquashfs stand-in can run it;
    /// hard links are the next test.
    func testSourceMetadataDoesNotReachTheImage() throws {
        let variants: [(String, BuildVariant)] = [
            ("plain", BuildVariant(duplicates: .allCopies)),
            ("reverse order, scrambled mtimes", BuildVariant(reverseOrder: true, duplicates: .allCopies, scrambleMtimes: 1)),
            ("owned by 1234:5678, xattrs, root 0700", BuildVariant(duplicates: .allCopies, scrambleMtimes: 2, owner: (1234, 5678), xattrs: true, rootMode: 0o700)),
            ("reverse, owned by 65534, xattrs, root 0555", BuildVariant(reverseOrder: true, duplicates: .allCopies, scrambleMtimes: 3, owner: (65534, 65534), xattrs: true, rootMode: 0o555)),
        ]
        var images: [(String, RawPath)] = []
        for (i, (label, v)) in variants.enumerated() {
            let src = try build("src-\(i)-" + String(repeating: "x", count: i * 7), v)
            images.append((label, try pack(src, options: fast, name: "variant-\(i).sqfs")))
            if i == 0 {
                // The reference image must itself be right.
                try packAndVerify(src, options: fast, name: "variant-0-checked.sqfs")
            }
        }
        for (label, img) in images.dropFirst() {
            try assertIdentical(images[0].1, img, "plain source vs \(label)")
        }
    }

    /// Hard links become separate inodes sharing data, so a tree whose
    /// duplicates are hard links packs to the same bytes as one whose
    /// duplicates are copies.
    func testHardLinksAndCopiesGiveTheSameImage() throws {
        if packer.isStandIn { throw XCTSkip("mksquashfs keeps hard links as shared inodes; only mkportable promises this") }
        let copies = try build("copies", BuildVariant(duplicates: .allCopies))
        let links = try build("links", BuildVariant(reverseOrder: true, duplicates: .allHardLinks, scrambleMtimes: 4, xattrs: true))
        let declared = try build("declared", BuildVariant(duplicates: .asDeclared))
        let a = try pack(copies, options: fast, name: "copies.sqfs")
        let b = try pack(links, options: fast, name: "links.sqfs")
        let c = try pack(declared, options: fast, name: "declared.sqfs")
        try assertIdentical(a, b, "duplicates as copies vs as hard links")
        try assertIdentical(a, c, "duplicates as copies vs as declared (some links)")
        // And the hard-linked tree reads back as separate inodes.
        try packAndVerify(links, options: fast, name: "links-checked.sqfs")
    }

    // MARK: options that must change the image

    func testMtimeOptionIsStampedOnEveryInode() throws {
        let src = try build("src")
        var zero = fast
        zero.mtime = 0
        var later = fast
        later.mtime = 2_000_000_000
        let a = try pack(src, options: zero, name: "mtime-0.sqfs")
        let (b, _) = try packAndVerify(src, options: later, name: "mtime-2e9.sqfs")
        try assertDifferent(a, b, "--mtime 0 vs --mtime 2000000000")
        // Every reader that reports times saw 2000000000 on every entry
        // (checked above against the normalized manifest); also directly:
        let scratch = work.sub("scratch")
        try Posix.makeDirectories(scratch)
        let out = try ImageReader.unsquashfsPseudo.read(image: b, scratch: scratch, options: packer.readOptions())
        XCTAssertFalse(out.manifest.entries.isEmpty)
        for (p, e) in out.manifest.entries where e.mtime != 2_000_000_000 {
            XCTFail("\(p): mtime \(e.mtime.map(String.init) ?? "nil"), expected 2000000000")
        }
        XCTAssertEqual(try Superblock.read(b).mkfsTime, 2_000_000_000)
    }

    func testSourceDateEpochIsTheDefaultMtime() throws {
        let src = try build("src")
        var viaOption = fast
        viaOption.mtime = 1_500_000_000
        var viaEnv = fast
        viaEnv.mtime = nil
        viaEnv.sourceDateEpoch = "1500000000"
        var both = viaOption
        both.sourceDateEpoch = "1"
        var neither = fast
        neither.mtime = nil
        var zero = fast
        zero.mtime = 0
        let a = try pack(src, options: viaOption, name: "option.sqfs")
        let (b, _) = try packAndVerify(src, options: viaEnv, name: "env.sqfs")
        let c = try pack(src, options: both, name: "both.sqfs")
        let (d, _) = try packAndVerify(src, options: neither, name: "neither.sqfs")
        let e = try pack(src, options: zero, name: "zero.sqfs")
        try assertIdentical(a, b, "--mtime 1500000000 vs SOURCE_DATE_EPOCH=1500000000")
        try assertIdentical(a, c, "--mtime must win over SOURCE_DATE_EPOCH")
        try assertIdentical(d, e, "no --mtime and no SOURCE_DATE_EPOCH vs --mtime 0")
        try assertDifferent(a, e, "mtime 1500000000 vs 0")
    }

    func testRootModeOptionChangesOnlyTheRoot() throws {
        let src = try build("src")
        var o = fast
        o.rootMode = "0700"
        let a = try pack(src, options: fast, name: "default-root.sqfs")
        let (b, _) = try packAndVerify(src, options: o, name: "root-0700.sqfs")
        try assertDifferent(a, b, "--root-mode 0700 vs default")
    }

    /// Each property the image is a function of does change it: a guard
    /// against a comparison that always says "identical".
    func testEveryModelledPropertyChangesTheImage() throws {
        let base = TreeSpec([
            .file("a/file", Array("contents".utf8), mode: 0o644),
            .file("a/other", Array("other".utf8), mode: 0o644),
            .symlink("a/link", target: Array("file".utf8)),
            .dir("d", mode: 0o755),
        ])
        func image(_ name: String, _ items: [TreeItem]) throws -> RawPath {
            try TreeSpec(items).build(at: work.sub(RawPath("src-" + name)))
            return try pack(work.sub(RawPath("src-" + name)), options: fast, name: name + ".sqfs")
        }
        let ref = try image("ref", base.items)
        let same = try image("same", base.items)
        try assertIdentical(ref, same, "identical trees")
        var items = base.items
        items[0] = .file("a/file", Array("contentz".utf8), mode: 0o644)
        try assertDifferent(ref, try image("content", items), "one byte of content")
        items = base.items
        items[0] = .file("a/file", Array("contents".utf8), mode: 0o600)
        try assertDifferent(ref, try image("mode", items), "a permission bit")
        items = base.items
        items[0] = .file("a/filf", Array("contents".utf8), mode: 0o644)
        try assertDifferent(ref, try image("name", items), "a name")
        items = base.items
        items[2] = .symlink("a/link", target: Array("other".utf8))
        try assertDifferent(ref, try image("target", items), "a link target")
        items = base.items
        items[3] = .fifo("d", mode: 0o755)
        try assertDifferent(ref, try image("type", items), "an entry type")
        items = base.items
        items[1] = .file("a/other", Array("other!".utf8), mode: 0o644)
        try assertDifferent(ref, try image("size", items), "a size")
    }
}
