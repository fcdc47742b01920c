import Foundation
import ImageReading
import SquashFS
import TestSupport
import XCTest

/// The squashfs reader on damaged images, in process: a seeded corpus of
/// small images (mkportable and mksquashfs, several compressors, and
/// images with uncompressed metadata, where a mutation reaches the
/// tables' fields rather than a compressed stream), mutated at random
/// (bit flips, bytes and words overwritten with edge values, truncation),
/// each read through entries and every file's contents. A mutant must be
/// read or refused with one line of `SquashFSError` (badImage,
/// unsupportedImage); anything else (a crash, a hang, another error) fails.
final class ReaderFuzzTests: PackTestCase {
    override class var temporaryPrefix: String { "fuzz" }

    /// The shared loop (TestSupport's MutationFuzz): its seed, and the
    /// least number of mutants it must get through.
    static let fuzz = MutationFuzz(seed: 0x5EED, minimumMutants: 300)

    func seeds() throws -> [[UInt8]] {
        let t = try TreeBuilder(root: tmp.sub("src"))
        _ = try t.file("etc/os-release", "ID=nixos\n")
        _ = try t.file("a/b/c/text", TestData.text(20_000, seed: 1))
        _ = try t.file("a/exe", TestData.machineCode(9_000, seed: 2), mode: 0o755)
        _ = try t.file("a/zero", [UInt8](repeating: 0, count: 8192))
        for i in 0..<40 { _ = try t.file(RawPath("many/f\(i)"), "file \(i)\n") }
        _ = try t.symlink("a/link", to: "b/c/text")
        _ = try t.fifo("a/fifo")
        _ = try t.charDevice("a/dev", major: 4, minor: 1)
        var images: [RawPath] = []
        for comp in ["gzip", "xz", "zstd", "lz4", "lzo"] {
            let out = tmp.sub(RawPath("mk-\(comp).raw"))
            let r = try pack(["--comp", comp, "--block-size", "4K", t.root.string, out.string])
            XCTAssert(r.succeeded, r.summary)
            images.append(out)
        }
        for options in [["-comp", "gzip"], ["-noI", "-noId", "-noD", "-noF", "-noX"], ["-comp", "zstd", "-noI", "-noD"]] {
            let out = tmp.sub(RawPath("sq-\(images.count).raw"))
            try Shell.check("mksquashfs", [t.root.string, out.string, "-noappend", "-quiet", "-no-progress", "-b", "4096"] + options)
            images.append(out)
        }
        return try images.map { Array(try Data(contentsOf: URL(fileURLWithPath: $0.string))) }
    }

    func testMutatedImagesAreReadOrRefusedInOneLine() throws {
        let corpus = try seeds()
        for seed in corpus { XCTAssertNil(try readAll(seed), "an unmutated seed must read") }
        let path = tmp.sub("mutant.raw")
        var seedPaths: [RawPath] = []
        for (i, seed) in corpus.enumerated() {
            seedPaths.append(tmp.sub(RawPath("seed-\(i).raw")))
            try Data(seed).write(to: URL(fileURLWithPath: seedPaths[i].string))
        }
        let (mutants, refused) = try Self.fuzz.run(corpus: corpus, mutate: Self.mutate) { index, bytes in
            try Data(bytes).write(to: URL(fileURLWithPath: path.string))
            return try readAll(path) ?? compareAll(seedPaths[index], path)
        }
        print("reader fuzz: \(mutants) mutants, \(refused) refused, \(mutants - refused) read")
    }

    /// Reads the image at `path` (or in `bytes`) fully; nil when it reads,
    /// else the refusal's message. Any error but the reader's fails.
    func readAll(_ bytes: [UInt8]) throws -> String? {
        let path = tmp.sub("seed.raw")
        try Data(bytes).write(to: URL(fileURLWithPath: path.string))
        return try readAll(path)
    }

    func readAll(_ path: RawPath) throws -> String? {
        do {
            let image = try SquashFSImage(range: try ImageFile(path: path.string).whole)
            for e in try image.entries() where e.type == .file {
                var total = 0
                try image.readContents(of: e) { total += $0.count }
                XCTAssertEqual(UInt64(total), e.size, e.pathString)
            }
            return nil
        } catch let e as SquashFSError {
            XCTAssert(e.kind == .badImage || e.kind == .unsupportedImage, "unexpected kind \(e.kind): \(e.message)")
            return e.message
        }
    }

    /// `diff`'s comparison of an image with a mutant of it (which read):
    /// stored bytes first, then what may differ decompressed. nil when it
    /// completes, else the refusal's message; any other error fails.
    func compareAll(_ seed: RawPath, _ mutant: RawPath) throws -> String? {
        do {
            let a = try SquashFSImage(range: try ImageFile(path: seed.string).whole)
            let b = try SquashFSImage(range: try ImageFile(path: mutant.string).whole)
            let ea = try a.entries(), eb = try b.entries()
            let tree = try TreeComparison(a, ea, b, eb, threads: 2)
            _ = SquashFSComparison.encoding(a, ea, b, eb, pairs: tree.chunkPairs)
            return nil
        } catch let e as SquashFSError {
            XCTAssert(e.kind == .badImage || e.kind == .unsupportedImage, "unexpected kind \(e.kind): \(e.message)")
            return e.message
        }
    }

    /// One random change (`MutationFuzz.damage`): half of them in the
    /// first 96 bytes or the last quarter, where the superblock and the
    /// tables lie.
    static func mutate(_ bytes: inout [UInt8], _ rng: inout SeededRandom) {
        guard bytes.count > 8 else { return }
        let tables = rng.next(below: 2) == 0
        let region = tables ? (rng.next(below: 3) == 0 ? 0..<96 : (bytes.count * 3 / 4)..<bytes.count) : 0..<bytes.count
        MutationFuzz.damage(&bytes, at: region.lowerBound + rng.next(below: region.count - 8), &rng,
                            edges: [0, 1, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000, 0x7FFF_FFFF, 0xFFFF_FFFF, 0x100_0000, UInt64.max])
    }
}

/// Crafted damage the random mutations are unlikely to hit exactly.
final class ReaderCraftedTests: PackTestCase {
    override class var temporaryPrefix: String { "crafted" }

    static func le(_ b: [UInt8], _ at: Int, _ width: Int) -> UInt64 {
        (0..<width).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64(b[at + $1]) }
    }

    static func put(_ b: inout [UInt8], _ at: Int, _ width: Int, _ value: UInt64) {
        for i in 0..<width { b[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    func refusal(_ bytes: [UInt8]) throws -> String? {
        let path = tmp.sub("crafted.raw")
        try Data(bytes).write(to: URL(fileURLWithPath: path.string))
        do {
            let image = try SquashFSImage(range: try ImageFile(path: path.string).whole)
            _ = try image.entries()
            return nil
        } catch let e as SquashFSError {
            return e.message
        }
    }

    /// An image with uncompressed metadata whose /a lists one directory,
    /// "loopdir"; its entry is pointed back at the root inode, so the
    /// tree would loop forever. The reader must refuse it.
    func testADirectoryLoopIsRefused() throws {
        let t = try TreeBuilder(root: tmp.sub("src"))
        _ = try t.dir("a/loopdir")
        _ = try t.file("z", "z\n")
        let image = tmp.sub("loop.raw")
        try Shell.check("mksquashfs", [t.root.string, image.string, "-noappend", "-quiet", "-no-progress", "-noI", "-noD", "-noF", "-noId", "-noX"])
        var b = Array(try Data(contentsOf: URL(fileURLWithPath: image.string)))
        let root = Self.le(b, 32, 8), inodeStart = Int(Self.le(b, 64, 8))
        // The root inode's number: its header's last field (uncompressed
        // metadata blocks hold 2 header bytes and 8192 of data).
        let rootAt = inodeStart + Int(root >> 16) + 2 + Int(root & 0xFFFF)
        let rootNumber = Self.le(b, rootAt + 12, 4)
        let name = Array("loopdir".utf8)
        let nameAt = try XCTUnwrap((0..<b.count - name.count).first { Array(b[$0..<$0 + name.count]) == name })
        let entryAt = nameAt - 8, headerAt = entryAt - 12
        XCTAssertEqual(Self.le(b, headerAt, 4), 0, "the listing of /a has one entry under its header")
        Self.put(&b, headerAt + 4, 4, root >> 16)
        Self.put(&b, headerAt + 8, 4, rootNumber)
        Self.put(&b, entryAt, 2, root & 0xFFFF)
        Self.put(&b, entryAt + 2, 2, 0)
        let message = try XCTUnwrap(try refusal(b), "a loop must be refused")
        XCTAssert(message.contains("/a/loopdir") && message.contains("(a loop in the tree)"), message)
    }

    /// A size word announcing a block larger than the block size, and a
    /// fragment table pointing past the image.
    func testOversizedBlocksAndTablesPastTheEndAreRefused() throws {
        let t = try TreeBuilder(root: tmp.sub("src"))
        _ = try t.file("small", "tail\n")
        let image = tmp.sub("plain.raw")
        try Shell.check("mksquashfs", [t.root.string, image.string, "-noappend", "-quiet", "-no-progress", "-noI", "-noF"])
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: image.string)))
        var b = original
        let fragmentTable = Int(Self.le(b, 80, 8))
        Self.put(&b, fragmentTable, 8, UInt64(b.count) * 2)
        let past = try XCTUnwrap(try refusal(b))
        XCTAssert(past.hasPrefix("fragment table"), past)
        XCTAssertNil(try refusal(original))
        b = original
        Self.put(&b, 20, 2, 9)
        XCTAssertEqual(try refusal(b), "superblock: compressor id 9 is none of gzip (1), lzma (2), lzo (3), xz (4), lz4 (5), zstd (6)")
        b = original
        Self.put(&b, 40, 8, UInt64(b.count) + 1)
        XCTAssert(try XCTUnwrap(try refusal(b)).contains("bytes_used"))
        // The id table's start moved into the inode table: overlapping.
        b = original
        Self.put(&b, 48, 8, Self.le(b, 64, 8) + 2)
        XCTAssert(try XCTUnwrap(try refusal(b)).hasSuffix("tables overlap"))
    }
}
