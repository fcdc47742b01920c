import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Trees at the edges of the format: sizes around the block size, sparse
/// and duplicate data, huge and deep directories, maximal names and link
/// targets, odd bytes in names, special files and permission bits. Every
/// image is read back by every reader.
final class EdgeCaseTests: ImageTestCase {
    let mtime: UInt32 = 1_234_567_890

    func options(_ comp: String, _ bs: String) -> PackOptions {
        PackOptions(comp: comp, blockSize: bs, mtime: mtime)
    }

    // MARK: sizes and data layout

    func checkSizesAround(blockSize bs: Int, label: String, comp: String, textToo: Bool) throws {
        let src = try newSource("src-\(label)")
        let sizes = [0, 1, bs - 1, bs, bs + 1, 2 * bs - 1, 2 * bs, 2 * bs + 1, 3 * bs + 17]
        for (i, size) in sizes.enumerated() {
            try src.file(RawPath("random/size-\(size)"), TestData.random(size, seed: UInt64(1000 + i)))
            if textToo || size <= bs + 1 {
                try src.file(RawPath("text/size-\(size)"), TestData.text(size, seed: UInt64(2000 + i)))
            }
        }
        // Tails that exactly fill, and just overflow, a fragment block.
        try src.file("tails/half-a", TestData.random(bs / 2, seed: 1))
        try src.file("tails/half-b", TestData.random(bs / 2, seed: 2))
        try src.file("tails/half-plus-one", TestData.random(bs / 2 + 1, seed: 3))
        try src.file("tails/block-plus-half", TestData.text(bs + bs / 2, seed: 4))
        try packAndVerify(src.root, options: options(comp, label), label: "sizes around \(label)", name: "sizes-\(label).sqfs")
    }

    func testSizesAround4KBlocks() throws {
        try checkSizesAround(blockSize: 4096, label: "4K", comp: "xz", textToo: true)
    }

    func testSizesAround128KBlocks() throws {
        try checkSizesAround(blockSize: 128 << 10, label: "128K", comp: "zstd", textToo: true)
    }

    func testSizesAround1MBlocks() throws {
        try checkSizesAround(blockSize: 1 << 20, label: "1M", comp: "gzip", textToo: false)
    }

    /// Compressed blocks of more than half a 1M block (the size where a
    /// writer may bypass its output buffer), written between small writes:
    /// a fragment block of text + random tails, and full blocks that
    /// compress to 50-95% of their size, each followed by a small file.
    func testLargeCompressedBlocksBetweenSmallWrites() throws {
        let src = try newSource()
        let mb = 1 << 20
        try src.file("a-text-tail", TestData.text(mb / 2, seed: 40))
        try src.file("b-random-tail", TestData.random(mb / 2, seed: 41))
        for (i, f) in [0.45, 0.55, 0.7, 0.85, 0.95].enumerated() {
            let randomPart = Int(Double(mb) * f)
            try src.file(RawPath("c\(i)-mixed-block"), TestData.text(mb - randomPart, seed: UInt64(50 + i)) + TestData.random(randomPart, seed: UInt64(60 + i)))
            try src.file(RawPath("c\(i)-mixed-block-plus-tail"), TestData.text(mb - randomPart, seed: UInt64(50 + i)) + TestData.random(randomPart, seed: UInt64(60 + i)) + Array("tail".utf8))
            try src.file(RawPath("c\(i)-small"), Array("small \(i)".utf8))
        }
        for comp in ["gzip", "xz", "lz4"] {
            try packAndVerify(src.root, options: options(comp, "1M"), label: "--comp \(comp) --block-size 1M", name: "large-\(comp).sqfs")
        }
    }

    /// A file whose block list does not fit in one 8K metadata block
    /// (3,000 blocks × 4 bytes), so its inode spans metadata blocks.
    func testFileWithThousandsOfBlocks() throws {
        let src = try newSource()
        try src.file("before", "small file before")
        try src.file("huge", TestData.random(3_000 * 4096 + 100, seed: 77))
        try src.file("after", "small file after")
        try packAndVerify(src.root, options: options("lz4", "4K"))
    }

    func testEmptyFilesAndDirectories() throws {
        let src = try newSource()
        try src.file("empty", [])
        try src.file("dir/empty-in-dir", [])
        try src.dir("empty-dir")
        try src.dir("nested/empty/dirs/all/the/way")
        try src.dir("dir-with-only-an-empty-dir/child")
        for i in 0..<20 { try src.file(RawPath("many-empties/e\(i)"), [], mode: i % 2 == 0 ? 0o644 : 0o600) }
        try packAndVerify(src.root, options: options("gzip", "128K"))
    }

    func testEmptySourceDirectory() throws {
        let src = try newSource()
        // 7-Zip refuses squashfs images without a single entry (even
        // mksquashfs's), so it is left out here.
        let readers = ImageReader.allCases.filter { $0 != .sevenZipList && $0 != .sevenZipExtract }
        try packAndVerify(src.root, options: options("gzip", "4K"), readers: readers)
    }

    func testSparseFiles() throws {
        let src = try newSource()
        let bs: UInt64 = 128 << 10
        // Data after a big hole.
        try src.sparseFile("hole-then-data", size: 16 << 20, chunks: [((16 << 20) - 4096, TestData.random(4096, seed: 1))])
        // Holes between data, not block-aligned.
        try src.sparseFile("data-hole-data-hole", size: 3 * bs + 777,
                           chunks: [(0, TestData.text(100_000, seed: 2)), (2 * bs + 5, TestData.random(3000, seed: 3))])
        // Only a hole.
        try src.sparseFile("all-hole", size: 5 * bs + 3, chunks: [])
        // Explicitly written zero blocks (not holes) and a zero tail.
        try src.file("written-zeros", [UInt8](repeating: 0, count: Int(4 * bs)))
        try src.file("zero-block-then-data", [UInt8](repeating: 0, count: Int(bs)) + TestData.random(10, seed: 4))
        try src.file("data-then-zero-blocks", TestData.random(Int(bs), seed: 5) + [UInt8](repeating: 0, count: Int(2 * bs + 1)))
        try src.file("single-zero-byte", [0])
        let (image, _) = try packAndVerify(src.root, options: options("zstd", "128K"))
        // 16 MiB of hole plus zeros must not be stored as data.
        let size = try Posix.lstat(image).st_size
        XCTAssertLessThan(size, 1 << 20, "image of mostly-hole files is \(size) bytes")

        // The same with 4K blocks: many consecutive sparse blocks.
        try packAndVerify(src.root, options: options("gzip", "4K"), name: "sparse-4k.sqfs")
    }

    func testDuplicateFiles() throws {
        let src = try newSource()
        let big = TestData.random(1_000_000, seed: 10)
        let small = TestData.text(1_500, seed: 11)
        try src.file("one/big", big)
        try src.file("two/big-copy", big)
        try src.file("three/deeper/big-copy-2", big, mode: 0o600)  // same data, other mode
        try src.hardLink("three/big-hardlink", to: "one/big")
        try src.file("one/small", small)
        try src.file("two/small-copy", small)
        try src.hardLink("two/small-hardlink", to: "one/small")
        // Same size, different contents (first, middle, last byte).
        for (i, pos) in [0, big.count / 2, big.count - 1].enumerated() {
            var b = big
            b[pos] ^= 0x5a
            try src.file(RawPath("same-size/big-\(i)"), b)
        }
        for (i, pos) in [0, small.count - 1].enumerated() {
            var s = small
            s[pos] ^= 0x01
            try src.file(RawPath("same-size/small-\(i)"), s)
        }
        // Same first block, different tail.
        try src.file("prefix/a", big + TestData.random(10, seed: 12))
        try src.file("prefix/b", big + TestData.random(10, seed: 13))
        try src.file("prefix/truncated", Array(big[0..<(big.count - 1)]))
        try src.file("empty-1", [])
        try src.file("empty-2", [])
        try packAndVerify(src.root, options: options("gzip", "128K"))
    }

    /// Identical contents are stored once: four more copies (and a hard
    /// link) of a 1 MB random file add next to nothing to the image.
    func testDuplicatesShareData() throws {
        let data = TestData.random(1 << 20, seed: 20)
        let a = try newSource("single")
        try a.file("data/file", data)
        let b = try newSource("copies")
        try b.file("data/file", data)
        for i in 0..<4 { try b.file(RawPath("copy\(i)/file"), data) }
        try b.hardLink("link", to: "data/file")
        let opts = options("gzip", "128K")
        let (imgA, _) = try packAndVerify(a.root, options: opts, name: "single.sqfs")
        let (imgB, _) = try packAndVerify(b.root, options: opts, name: "copies.sqfs")
        let sizeA = try Posix.lstat(imgA).st_size, sizeB = try Posix.lstat(imgB).st_size
        XCTAssertLessThan(sizeB - sizeA, 16 << 10, "5 extra copies grew the image from \(sizeA) to \(sizeB) bytes: data is not shared")
    }

    // MARK: directories and names

    func testDirectoryWithThousandsOfEntries() throws {
        let src = try newSource()
        for i in 0..<5_000 {
            try src.file(RawPath(String(format: "big/file-%05d", i)), Array("content of \(i)\n".utf8), mode: i % 7 == 0 ? 0o755 : 0o644)
        }
        for i in 0..<300 { try src.dir(RawPath(String(format: "big/subdir-%03d", i))) }
        for i in stride(from: 0, to: 300, by: 50) { try src.file(RawPath(String(format: "big/subdir-%03d/inner", i)), "x") }
        try src.symlink("big/zz-link", to: "file-00000")
        try packAndVerify(src.root, options: options("zstd", "4K"))
    }

    /// Long names make a directory span many metadata blocks, so the
    /// directory index is used; with high bytes in the names it also checks
    /// that entries are sorted as unsigned bytes (the kernel's lookup
    /// compares that way). Lookups of present and absent names go through
    /// the kernel.
    func testDirectoryIndexLookups() throws {
        let src = try newSource()
        var names: [RawPath] = []
        var rng = TestData.RNG(seed: 30)
        for i in 0..<600 {
            var bytes = Array(String(format: "%04d-", i).utf8)
            // Mix in bytes above 0x7f in the first positions so signed and
            // unsigned orderings differ.
            if i % 3 == 0 { bytes.insert(0xc3, at: 0); bytes.insert(0xa9, at: 1) }
            if i % 5 == 0 { bytes.insert(0xff, at: 0) }
            while bytes.count < 180 + rng.next(below: 60) { bytes.append(UInt8(ascii: "a") + UInt8(rng.next(below: 26))) }
            let name = RawPath(bytes)
            names.append(name)
            try src.file(RawPath("indexed").appending(name), Array("entry \(i)".utf8))
        }
        let opts = options("gzip", "4K")
        let (image, _) = try packAndVerify(src.root, options: opts)

        guard KernelMount.unavailableReason == nil else { return }  // announced by the readers
        try KernelMount.withMounted(image: image, scratch: work.sub("lookup")) { mnt in
            let dir = mnt.appending("indexed")
            for name in names {
                XCTAssertNotNil(try Posix.lstatIfExists(dir.appending(name)), "kernel lookup of \(name) failed")
                // Absent neighbours: one byte longer, last byte changed, a prefix.
                for absent in [RawPath(name.bytes + [0x21]), RawPath(name.bytes.dropLast() + [0x7e]), RawPath(Array(name.bytes.prefix(10)))] {
                    XCTAssertNil(try Posix.lstatIfExists(dir.appending(absent)), "kernel found nonexistent \(absent)")
                }
            }
            for absent in ["", "\u{1}", "~~~~", "zzzz"].map({ RawPath($0 + "-absent") }) {
                XCTAssertNil(try Posix.lstatIfExists(dir.appending(absent)))
            }
            XCTAssertNil(try Posix.lstatIfExists(dir.appending(RawPath([0xff, 0xff, 0xff]))))
        }
    }

    func testMaximumLengthNames() throws {
        let src = try newSource()
        func name(_ c: Character, _ suffix: String = "") -> RawPath {
            RawPath(String(repeating: c, count: 255 - suffix.utf8.count) + suffix)
        }
        try src.file(RawPath("top").appending(name("f")), "255-byte file name")
        try src.file(RawPath("top").appending(name("f", "x")), "differs only in the last byte")
        try src.symlink(RawPath("top").appending(name("l")), to: String(repeating: "t", count: 255))
        try src.fifo(RawPath("top").appending(name("p")))
        // Nested 255-byte directory names (path ~1 KB).
        var p = RawPath("nested")
        for c in ["a", "b", "c", "d"] as [Character] { p = p.appending(name(c)) }
        try src.file(p.appending(name("z")), "deep and long")
        // 255-byte UTF-8 name of multibyte characters (85 × 3 bytes).
        try src.file(RawPath("top").appending(RawPath(String(repeating: "€", count: 85))), "euro")
        try packAndVerify(src.root, options: options("xz", "128K"))
    }

    func testNonASCIIAndOddNames() throws {
        let src = try newSource()
        let utf8Names = ["ünïcödé", "日本語", "中文名字", "한국어", "emoji-😀👍🏽", "Ελληνικά", "עברית", "العربية",
                         "e\u{301}-decomposed", "\u{e9}-precomposed", "zero\u{200b}width", "ﬁ-ligature",
                         "with space", " leading-space", "trailing-space ", "tab\there", "quote'single", "quote\"double",
                         "back\\slash", "star*question?", "[brackets]", "-leading-dash", "...", ".hidden", "a=b", "a:b",
                         "percent%20", "dollar$HOME", "semi;colon", "amp&ersand", "pipe|bar", "less<greater>", "hash#"]
        for (i, n) in utf8Names.enumerated() { try src.file(RawPath("utf8").appending(RawPath(n)), Array("\(i)".utf8)) }
        let rawNames: [[UInt8]] = [
            [0xff], [0xfe, 0xff], [0x80], [0xc3, 0x28], [0xe2, 0x82], [0xf0, 0x9f, 0x98],  // invalid / truncated UTF-8
            [0xed, 0xa0, 0x80],  // encoded surrogate
            [0xc0, 0xaf],  // overlong "/"
            Array("latin1-caf".utf8) + [0xe9],
            [0x01, 0x02, 0x03], [0x7f], Array("new".utf8) + [0x0a] + Array("line".utf8), [0x1b] + Array("[31mred".utf8),
            Array("a".utf8), Array("A".utf8), Array("a".utf8) + [0x01], Array("a".utf8) + [0xff], Array("b".utf8),
        ]
        for (i, n) in rawNames.enumerated() { try src.file(RawPath("raw").appending(RawPath(n)), Array("raw \(i)".utf8)) }
        try src.dir(RawPath(Array("dir-".utf8) + [0xff, 0xfe]))
        try src.file(RawPath(Array("dir-".utf8) + [0xff, 0xfe] + Array("/inside-".utf8) + [0x80]), "inside")
        try src.symlink(RawPath("raw-target-link"), to: Array("target-".utf8) + [0xff, 0x80])
        try packAndVerify(src.root, options: options("zstd", "4K"))
    }

    func testDeepTree() throws {
        let src = try newSource()
        var p = RawPath.root
        for level in 1...100 {
            p = p.appending(RawPath(String(format: "d%03d", level)))
            if level % 10 == 0 { try src.file(p.appending(RawPath("file-at-\(level)")), Array("level \(level)".utf8)) }
        }
        try src.dir(p)
        try src.file(p.appending("bottom"), "the bottom")
        try src.symlink(p.appending("to-top"), to: String(repeating: "../", count: 100) + "d001")
        // A second deep chain with longer names: ~2,600-byte paths.
        var q = RawPath("long")
        for level in 1...100 { q = q.appending(RawPath(String(format: "level-%03d-abcdefghijklmnopq", level))) }
        try src.file(q.appending("leaf"), "leaf")
        try packAndVerify(src.root, options: options("gzip", "4K"))
    }

    func testLongSymlinkTargets() throws {
        let src = try newSource()
        for len in [1, 2, 100, 255, 256, 1000, 4000, 4095] {
            var rng = TestData.RNG(seed: UInt64(len))
            var t: [UInt8] = []
            while t.count < len {
                t.append(rng.next(below: 8) == 0 ? UInt8(ascii: "/") : UInt8(ascii: "a") + UInt8(rng.next(below: 26)))
            }
            try src.symlink(RawPath("links/len-\(len)"), to: t)
        }
        try src.symlink("links/absolute-long", to: "/" + String(repeating: "abs/", count: 900))
        try src.symlink("links/with spaces", to: "a target with spaces")
        try src.symlink("links/high-bytes", to: [0xc3, 0xa9, 0xff, 0xfe, 0x2f, 0x80])
        try src.symlink("links/backslash", to: "back\\slash\\")
        try src.symlink("links/dotdot", to: "..")
        try src.symlink("links/self", to: "self")
        try src.symlink("links/trailing-slash", to: "dir/")
        try packAndVerify(src.root, options: options("xz", "4K"))
    }

    // MARK: special files and permissions

    func testSpecialFiles() throws {
        guard Posix.isRoot else { throw XCTSkip("creating device nodes needs root") }
        let src = try newSource()
        try src.fifo("fifo-0644", mode: 0o644)
        try src.fifo("fifo-0600", mode: 0o600)
        try src.fifo("fifo-sticky", mode: 0o1666)
        try src.socket("socket", mode: 0o755)
        try src.socket("socket-0600", mode: 0o600)
        try src.charDevice("char-null", major: 1, minor: 3, mode: 0o666)
        try src.charDevice("char-zero-zero", major: 0, minor: 0, mode: 0o600)
        try src.charDevice("char-minor-256", major: 4, minor: 256, mode: 0o620)
        try src.charDevice("char-max", major: 4095, minor: (1 << 20) - 1, mode: 0o644)
        try src.blockDevice("block-sda", major: 8, minor: 0, mode: 0o660)
        try src.blockDevice("block-nvme", major: 259, minor: 12_345, mode: 0o640)
        try src.blockDevice("block-setuid", major: 7, minor: 1, mode: 0o4660)
        try src.dir("in-a-dir")
        try src.charDevice("in-a-dir/tty", major: 5, minor: 0, mode: 0o666)
        try src.fifo("in-a-dir/fifo")
        try packAndVerify(src.root, options: options("gzip", "4K"))
    }

    func testPermissionBits() throws {
        let src = try newSource()
        let fileModes: [mode_t] = [0o000, 0o001, 0o007, 0o070, 0o700, 0o644, 0o777, 0o4755, 0o2755, 0o1755, 0o6755,
                                   0o7777, 0o4000, 0o2000, 0o1000, 0o4644, 0o2600]
        for m in fileModes { try src.file(RawPath(String(format: "files/mode-%04o", m)), Array("mode \(m)".utf8), mode: m) }
        let dirModes: [mode_t] = [0o000, 0o555, 0o700, 0o1777, 0o2775, 0o7777, 0o711]
        for m in dirModes {
            let d = RawPath(String(format: "dirs/mode-%04o", m))
            try src.dir(d, mode: 0o755)
            try src.file(d.appending("inside"), "inside")
            try src.chmod(d, m)
        }
        try src.symlink("links/link", to: "../files/mode-0644")
        try src.fifo("fifo-0000", mode: 0o000)
        try packAndVerify(src.root, options: options("gzip", "4K"))
    }

    /// The root directory's mode comes from --root-mode (default 0755),
    /// never from the source directory.
    func testRootMode() throws {
        let src = try newSource()
        try src.file("f", "x")
        try src.chmod(.root, 0o700)
        try packAndVerify(src.root, options: options("gzip", "4K"), name: "default-root.sqfs")
        for mode in ["0700", "1777", "0555", "755", "0"] {
            var o = options("gzip", "4K")
            o.rootMode = mode
            try packAndVerify(src.root, options: o, label: "--root-mode \(mode)", name: "root-\(mode).sqfs")
        }
    }

    // MARK: CLI behaviour around the image file

    func testExistingImageNeedsForce() throws {
        let src = try newSource()
        try src.file("f", "contents")
        let image = work.sub("existing.sqfs")
        let original = Array("not an image".utf8)
        try Posix.writeFile(image, original)
        let r = try packer.run(source: src.root, image: image, options: options("gzip", "4K"))
        XCTAssertNotEqual(r.status, 0, "pack overwrote an existing image without --force: \(r.summary)")
        XCTAssertEqual(try Posix.readFile(image), original, "the existing file was modified without --force")

        var o = options("gzip", "4K")
        o.force = true
        try packer.pack(source: src.root, image: image, options: o)
        let want = try Manifest.expected(fromSource: src.root, as: packer.attributes(for: o))
        let scratch = work.sub("scratch")
        try Posix.makeDirectories(scratch)
        ImageCheck.verify(image: image, expected: want, options: packer.readOptions(), scratch: scratch, label: "--force")
    }
}
