import EROFS
import Foundation
import ImageReading
import TestSupport
import XCTest

/// The erofs reader on damaged images, in process, as ReaderFuzzTests does
/// for squashfs: a seeded corpus (mkportable's erofs with three
/// compressions; mkfs.erofs 1.9.3 flat, compact and full indexes, big
/// pclusters, ztailpacking, fragments and dedupe, chunk-based files)
/// mutated at random, each mutant read through entries and every file's
/// contents. It must be read or refused with one line of `EROFSError`
/// (badImage, unsupportedImage); a crash, a hang or another error fails.
final class ErofsReaderFuzzTests: PackTestCase {
    override class var temporaryPrefix: String { "erofs-fuzz" }

    /// The shared loop (TestSupport's MutationFuzz).
    static let fuzz = MutationFuzz(seed: 0xE20F5, minimumMutants: 200)

    func source() throws -> RawPath {
        let t = try TreeBuilder(root: tmp.sub("src"))
        _ = try t.file("etc/os-release", "ID=nixos\n")
        _ = try t.file("a/b/c/text", TestData.text(30_000, seed: 1))
        _ = try t.file("a/exe", TestData.machineCode(20_000, seed: 2), mode: 0o755)
        _ = try t.file("a/zero", [UInt8](repeating: 0, count: 70_000))
        _ = try t.file("a/copy", TestData.text(30_000, seed: 1))
        for i in 0..<40 { _ = try t.file(RawPath("many/f\(i)"), "file \(i)\n") }
        _ = try t.symlink("a/link", to: "b/c/text")
        _ = try t.fifo("a/fifo")
        _ = try t.charDevice("a/dev", major: 4, minor: 1)
        return t.root
    }

    func seeds() throws -> [[UInt8]] {
        let src = try source()
        var images: [RawPath] = []
        for comp in ["none", "lz4", "lzma"] {
            let out = tmp.sub(RawPath("mk-\(comp).raw"))
            let r = try pack(["--filesystem", "erofs", "--comp", comp, src.string, out.string])
            XCTAssert(r.succeeded, r.summary)
            images.append(out)
        }
        if let mkfs = ReferenceTools.path("mkfs.erofs") {
            let variants = [[], ["-zlz4hc"], ["-zlz4hc", "-Eall-fragments,dedupe"], ["-zlzma", "-C16384", "-Eztailpacking"],
                            ["-zzstd", "-Efragments"], ["-zdeflate", "-C8192"], ["--chunksize=8192"]]
            for options in variants {
                let out = tmp.sub(RawPath("mkfs-\(images.count).raw"))
                try Shell.check(mkfs, ["--quiet", "-T0", "--all-root"] + options + [out.string, src.string])
                images.append(out)
            }
        }
        return try images.map { Array(try Data(contentsOf: URL(fileURLWithPath: $0.string))) }
    }

    func testMutatedErofsImagesAreReadOrRefusedInOneLine() throws {
        let corpus = try seeds()
        for seed in corpus { XCTAssertNil(try readAll(seed), "an unmutated seed must read") }
        let (mutants, refused) = try Self.fuzz.run(corpus: corpus, mutate: Self.mutate) { _, bytes in try readAll(bytes) }
        print("erofs reader fuzz: \(mutants) mutants, \(refused) refused, \(mutants - refused) read")
    }

    /// Reads the image fully; nil when it reads, else the refusal's
    /// message. Any error but the reader's fails.
    func readAll(_ bytes: [UInt8]) throws -> String? {
        let path = tmp.sub("mutant.raw")
        try Data(bytes).write(to: URL(fileURLWithPath: path.string))
        do {
            let image = try EROFSImage(range: try ImageFile(path: path.string).whole)
            for e in try image.entries() where e.type == .file {
                var total = 0
                try image.readContents(of: e) { total += $0.count }
                XCTAssertEqual(UInt64(total), e.size, e.pathString)
            }
            return nil
        } catch let e as EROFSError {
            XCTAssert(e.kind == .badImage || e.kind == .unsupportedImage, "unexpected kind \(e.kind): \(e.message)")
            return e.message
        }
    }

    /// One random change (`MutationFuzz.damage`): a third in the
    /// superblock, a third in the first quarter (inodes, directories,
    /// indexes), the rest anywhere.
    static func mutate(_ bytes: inout [UInt8], _ rng: inout SeededRandom) {
        guard bytes.count > 1200 else { return }
        let regions = [1024..<1152, 0..<(bytes.count / 4), 0..<bytes.count]
        let region = regions[rng.next(below: regions.count)]
        MutationFuzz.damage(&bytes, at: region.lowerBound + rng.next(below: region.count - 8), &rng,
                            edges: [0, 1, 2, 3, 0xFF, 0x7FF, 0x800, 0xFFF, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, 0xFFFF_FFFF, UInt64.max])
    }
}

/// Crafted damage to an erofs directory that random mutations are
/// unlikely to hit exactly: loops in the directory graph.
final class ErofsReaderCraftedTests: PackTestCase {
    override class var temporaryPrefix: String { "erofs-crafted" }

    func refusal(_ bytes: [UInt8]) throws -> String? {
        let path = tmp.sub("crafted.raw")
        try Data(bytes).write(to: URL(fileURLWithPath: path.string))
        do {
            _ = try EROFSImage(range: try ImageFile(path: path.string).whole).entries()
            return nil
        } catch let e as EROFSError {
            XCTAssert(e.kind == .badImage || e.kind == .unsupportedImage, "unexpected kind \(e.kind): \(e.message)")
            return e.message
        }
    }

    /// An uncompressed image whose /a lists ".", ".." and "loopdir" (the
    /// dirents at 0, 12 and 24 of a block, the names from byte 36 on).
    func imageWithLoopdir() throws -> (bytes: [UInt8], block: Int) {
        let t = try TreeBuilder(root: tmp.sub("src"))
        _ = try t.dir("a/loopdir")
        _ = try t.file("z", "z\n")
        let image = tmp.sub("loop.raw")
        XCTAssert(try pack(["--filesystem", "erofs", "--comp", "none", t.root.string, image.string]).succeeded)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: image.string)))
        let names = Array("...loopdir".utf8)
        let at = try XCTUnwrap((0...(bytes.count - names.count)).first { Array(bytes[$0..<$0 + names.count]) == names })
        XCTAssertEqual(bytes[at - 36 + 8], 36, "the names start after three dirents")
        return (bytes, at - 36)
    }

    static func putNid(_ bytes: inout [UInt8], _ at: Int, _ nid: UInt64) {
        for i in 0..<8 { bytes[at + i] = UInt8(truncatingIfNeeded: nid >> (8 * UInt64(i))) }
    }

    func testADirectoryPointingBackAtTheRootIsRefused() throws {
        var (bytes, block) = try imageWithLoopdir()
        XCTAssertNil(try refusal(bytes), "the image reads before it is damaged")
        let root = UInt64(bytes[1024 + 14]) | UInt64(bytes[1024 + 15]) << 8
        Self.putNid(&bytes, block + 24, root)
        let message = try XCTUnwrap(try refusal(bytes))
        XCTAssert(message.contains("loop"), message)
    }

    func testADirectoryListingItselfIsRefused() throws {
        var (bytes, block) = try imageWithLoopdir()
        let own = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[block + $1]) << (8 * UInt64($1)) }
        Self.putNid(&bytes, block + 24, own)
        let message = try XCTUnwrap(try refusal(bytes))
        XCTAssert(message.contains("loop"), message)
    }

    func testANidPastTheImageIsRefused() throws {
        var (bytes, block) = try imageWithLoopdir()
        Self.putNid(&bytes, block + 24, UInt64(1) << 40)
        let message = try XCTUnwrap(try refusal(bytes))
        XCTAssert(message.contains("past the image's end"), message)
    }

    /// An image whose distinct regular files (not hard links) all claim
    /// one hole of `perFile` bytes: each inode of `count` files turned into
    /// a chunk-based file of one 2^40-byte chunk whose address is the hole
    /// (0xFFFFFFFF, where the inline tail was).
    func imageOfHoles(count: Int, perFile: (Int) -> UInt32) throws -> [UInt8] {
        let t = try TreeBuilder(root: tmp.sub(RawPath("src\(count)")))
        for i in 0..<4 { _ = try t.file(RawPath("f\(i)"), "file \(i)\n") }
        let image = tmp.sub(RawPath("holes\(count).raw"))
        XCTAssert(try pack(["--filesystem", "erofs", "--comp", "none", t.root.string, image.string]).succeeded)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: image.string)))
        let files = try EROFSImage(range: try ImageFile(path: image.string).whole).entries().filter { $0.type == .file }
        XCTAssertEqual(files.count, 4)
        let blockBits = Int(bytes[1024 + 12])
        let meta = (0..<4).reduce(0) { $0 | Int(bytes[1024 + 40 + $1]) << (8 * $1) }
        for e in files.prefix(count) {
            let at = meta << blockBits + Int(e.handle) * 32
            let format = UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
            XCTAssertEqual(format & 0xF, 2 << 1, "a compact flat-inline inode, its tail right after it")
            XCTAssertEqual(bytes[at + 2], 0, "no xattrs")
            Self.put(&bytes, at, UInt64(format & 0x10 | 4 << 1), width: 2)
            Self.put(&bytes, at + 8, UInt64(perFile(bytes.count)), width: 4)
            Self.put(&bytes, at + 16, 40 - UInt64(blockBits), width: 4)
            Self.put(&bytes, at + 32, 0xFFFF_FFFF, width: 4)
        }
        return bytes
    }

    static func put(_ bytes: inout [UInt8], _ at: Int, _ value: UInt64, width: Int) {
        for i in 0..<width { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    /// Each file alone is within the per-file limit for holes (65536 times
    /// the image's length), so the image opens and one such file is read;
    /// but four distinct inodes can each name that much: 4 x 0.9 x 65536
    /// times the image's length to hash for `inspect`, to hold as chunk
    /// lists for `diff`, from a few KiB. Copies that share data (or
    /// fragments) multiply the same way. The image's files together must
    /// stay within the limit.
    func testDistinctFilesClaimingMoreThanTheImageCanHoldAreRefused() throws {
        let limit = { (length: Int) in UInt32(min(Int(UInt32.max), length * 65536 * 9 / 10)) }
        XCTAssertNil(try refusal(try imageOfHoles(count: 1, perFile: limit)), "one file of holes within the limit reads")
        let message = try XCTUnwrap(try refusal(try imageOfHoles(count: 4, perFile: limit)))
        XCTAssert(message.contains("65536 times"), message)
    }
}
