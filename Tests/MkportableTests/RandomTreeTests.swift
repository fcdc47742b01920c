import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Seeded random trees, packed and read back with `unsquashfs -pf`
/// (names, types, modes, sizes, contents by SHA-256, link targets, device
/// numbers), compared with the source.
///
/// Each tree mixes names with odd bytes (control characters, invalid
/// UTF-8, spaces, quotes, 255-byte names), regular files sized around the
/// block size (0, 1, bs-1, bs, bs+1, 2bs±1, ...) with random, text, zero
/// or sparse contents, duplicates (copies and hard links), directories
/// with unusual modes, symlinks with arbitrary targets, FIFOs and (as
/// root) device nodes; and is packed with a small block size and a fast
/// compressor, picked per tree.
///
/// CI runs `defaultCount` trees from `defaultSeed` (well under a minute).
/// A longer soak takes the seed and count from the environment:
///
///     MKPORTABLE_SOAK_SEED=12345 MKPORTABLE_SOAK_COUNT=5000 \
///       swift test --filter RandomTreeTests
///
/// Tree i is made from seed SEED+i, so a failure report names the one-tree
/// run that reproduces it (MKPORTABLE_SOAK_SEED=SEED+i
/// MKPORTABLE_SOAK_COUNT=1); with MKPORTABLE_TEST_KEEP set the failing
/// tree and image are kept.
final class RandomTreeTests: ImageTestCase {
    static let defaultSeed: UInt64 = 20_240_404
    static let defaultCount = 200

    func testRandomTreesReadBackIdentically() throws {
        let env = ProcessInfo.processInfo.environment
        let seed = env["MKPORTABLE_SOAK_SEED"].flatMap { UInt64($0) } ?? Self.defaultSeed
        let count = env["MKPORTABLE_SOAK_COUNT"].flatMap { Int($0) } ?? Self.defaultCount
        let started = Date()
        var entries = 0, bytes: UInt64 = 0, failures = 0, done = 0
        for i in 0..<count {
            done += 1
            let treeSeed = seed &+ UInt64(i)
            var rng = TestData.RNG(seed: treeSeed)
            let options = Self.randomOptions(&rng)
            let source = work.sub(RawPath("tree-\(i)"))
            let stats = try RandomTree.build(at: source, blockSize: options.effectiveBlockSize, rng: &rng)
            entries += stats.entries
            bytes += stats.bytes
            let label = "tree \(i) (MKPORTABLE_SOAK_SEED=\(treeSeed) MKPORTABLE_SOAK_COUNT=1, \(options))"
            let image = work.sub(RawPath("tree-\(i).sqfs"))
            let scratch = work.sub(RawPath("read-\(i)"))
            try Posix.makeDirectories(scratch)
            let r = try packer.run(source: source, image: image, options: options)
            var failed = false
            if !r.succeeded {
                XCTFail("[\(label)] pack failed: \(r.summary)")
                failed = true
            } else {
                let want = try Manifest.expected(fromSource: source, as: packer.attributes(for: options))
                // unsquashfs -pf lists names one a line; a tree with a newline
                // in a name or link target is read by extracting it instead.
                let reader: ImageReader = stats.newlines ? .unsquashfsExtract : .unsquashfsPseudo
                let report = ImageCheck.verify(image: image, expected: want, readers: [reader],
                                               options: packer.readOptions(), scratch: scratch, label: label)
                failed = report.failureCount > 0 || report.readersRun.isEmpty
                if report.readersRun.isEmpty { XCTFail("[\(label)] unsquashfs could not run") }
            }
            Posix.removeTree(scratch)
            if failed {
                failures += 1
                print("note: random tree \(i) failed; reproduce with MKPORTABLE_SOAK_SEED=\(treeSeed) MKPORTABLE_SOAK_COUNT=1"
                      + (env["MKPORTABLE_TEST_KEEP"] != nil ? " (kept in \(source))" : ""))
                if failures >= 5 { break }
                if env["MKPORTABLE_TEST_KEEP"] != nil { continue }
            }
            Posix.removeTree(source)
            Posix.removeTree(image)
        }
        print("note: random trees: \(done) of \(count) from seed \(seed), \(entries) entries, \(bytes) bytes of file data, \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }

    static func randomOptions(_ rng: inout TestData.RNG) -> PackOptions {
        let comps = ["lz4", "lz4", "gzip -Xcompression-level 1", "gzip -Xcompression-level 1", "zstd -Xcompression-level 1", "lz4 -Xhc", "xz"]
        let sizes = ["4K", "4K", "4K", "8K", "16K", "64K"]
        var o = PackOptions(comp: comps[rng.next(below: comps.count)], blockSize: sizes[rng.next(below: sizes.count)],
                            jobs: 1 + rng.next(below: 3))
        if rng.next(below: 4) == 0 { o.mtime = UInt32(truncatingIfNeeded: rng.next()) }
        if rng.next(below: 8) == 0 { o.rootMode = ["700", "1777", "555", "0"][rng.next(below: 4)] }
        return o
    }
}

/// Builds one random tree on disk.
enum RandomTree {
    struct Stats {
        var entries = 0
        var bytes: UInt64 = 0
        /// A name or link target holds a newline, which `unsquashfs -pf`
        /// output cannot carry (it is line-based).
        var newlines = false
    }

    static func build(at root: RawPath, blockSize bs: Int, rng: inout TestData.RNG) throws -> Stats {
        let t = try TreeBuilder(root: root)
        var stats = Stats()
        var dirs: [RawPath] = [.root]
        var names: [RawPath: Set<[UInt8]>] = [.root: []]
        var files: [RawPath] = []
        var dirModes: [(RawPath, mode_t)] = []
        let count = 3 + rng.next(below: 40)

        func freshName(in dir: RawPath, _ rng: inout TestData.RNG) -> RawPath {
            while true {
                let n = name(&rng)
                if n == [0x2e] || n == [0x2e, 0x2e] || n.isEmpty { continue }
                if names[dir, default: []].insert(n).inserted { return dir.appending(RawPath(n)) }
            }
        }

        for _ in 0..<count {
            let dir = dirs[rng.next(below: dirs.count)]
            let path = freshName(in: dir, &rng)
            stats.entries += 1
            if path.bytes.contains(0x0a) { stats.newlines = true }
            var kind = rng.next(below: 100)
            if (55..<63).contains(kind) && files.isEmpty { kind = 0 }
            switch kind {
            case 0..<55:
                let (size, chunks) = contents(blockSize: bs, &rng)
                if chunks.count == 1 && chunks[0].offset == 0 && chunks[0].bytes.count == size {
                    try t.file(path, chunks[0].bytes, mode: fileMode(&rng))
                } else {
                    try t.sparseFile(path, size: UInt64(size), chunks: chunks, mode: fileMode(&rng))
                }
                files.append(path)
                stats.bytes += UInt64(size)
            case 55..<63:
                // A duplicate of an earlier file: a copy (same bytes, maybe
                // another mode) or a hard link.
                let original = files[rng.next(below: files.count)]
                if rng.next(below: 2) == 0 {
                    try t.hardLink(path, to: original)
                } else {
                    try t.file(path, try Posix.readFile(t.full(original)), mode: fileMode(&rng))
                }
                files.append(path)
            case 63..<80:
                try t.dir(path, mode: 0o755)
                dirs.append(path)
                names[path] = []
                // Unprivileged, pack could not read 0000 or 0711 directories.
                let modes: [mode_t] = Posix.isRoot ? [0o755, 0o755, 0o700, 0o555, 0o1777, 0o2750, 0o000, 0o711] : [0o755, 0o700, 0o555, 0o1777]
                dirModes.append((path, modes[rng.next(below: modes.count)]))
            case 80..<93:
                let target = linkTarget(&rng)
                if target.contains(0x0a) { stats.newlines = true }
                try t.symlink(path, to: target)
            case 93..<97:
                try t.fifo(path, mode: [0o644, 0o600, 0o666][rng.next(below: 3)])
            default:
                if Posix.isRoot {
                    let major = UInt32(rng.next(below: 4096)), minor = UInt32(truncatingIfNeeded: rng.next() & 0xF_FFFF)
                    if rng.next(below: 2) == 0 {
                        try t.charDevice(path, major: major, minor: minor, mode: 0o640)
                    } else {
                        try t.blockDevice(path, major: major, minor: minor, mode: 0o660)
                    }
                } else {
                    try t.fifo(path)
                }
            }
        }
        // Directory modes last, deepest first (0000 directories stay
        // fillable until then).
        for (path, mode) in dirModes.reversed() { try t.chmod(path, mode) }
        return stats
    }

    /// A name: mostly plain, sometimes any bytes but NUL and '/', sometimes
    /// long (up to 255 bytes).
    static func name(_ rng: inout TestData.RNG) -> [UInt8] {
        let plain = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-".utf8)
        switch rng.next(below: 10) {
        case 0..<6:
            return (0..<(1 + rng.next(below: 12))).map { _ in plain[rng.next(below: plain.count)] }
        case 6..<9:
            let odd: [UInt8] = [0x01, 0x09, 0x0a, 0x0d, 0x1b, 0x20, 0x22, 0x27, 0x5c, 0x2a, 0x3f, 0x7f, 0x80, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xff, 0xfe, 0xed, 0xa0]
            return (0..<(1 + rng.next(below: 10))).map { _ in
                rng.next(below: 2) == 0 ? odd[rng.next(below: odd.count)] : UInt8(1 + rng.next(below: 255))
            }.map { $0 == 0x2f ? 0x2d : $0 }
        default:
            return (0..<(200 + rng.next(below: 56))).map { _ in plain[rng.next(below: plain.count)] }
        }
    }

    /// Permission bits for a file, setuid/setgid/sticky included.
    static func fileMode(_ rng: inout TestData.RNG) -> mode_t {
        let modes: [mode_t] = Posix.isRoot ? [0o644, 0o644, 0o755, 0o600, 0o444, 0o000, 0o4755, 0o2755, 0o1644, 0o7777] : [0o644, 0o755, 0o600, 0o444, 0o4755, 0o1644]
        return modes[rng.next(below: modes.count)]
    }

    /// A size around the block size, and how to fill it: one dense chunk,
    /// or data chunks with whole-block holes between them.
    static func contents(blockSize bs: Int, _ rng: inout TestData.RNG) -> (Int, [(offset: UInt64, bytes: [UInt8])]) {
        let sizes = [0, 1, 2, bs - 1, bs, bs + 1, 2 * bs - 1, 2 * bs, 2 * bs + 1, 3 * bs + 17, rng.next(below: 4 * bs + 1), rng.next(below: 200), 5 * bs]
        let size = sizes[rng.next(below: sizes.count)]
        let seed = rng.next()
        func fill(_ n: Int) -> [UInt8] {
            switch seed % 4 {
            case 0: return TestData.random(n, seed: seed)
            case 1: return TestData.text(n, seed: seed)
            case 2: return [UInt8](repeating: 0, count: n)
            default: return (0..<n).map { UInt8(truncatingIfNeeded: $0 / 7) }
            }
        }
        if size >= 2 * bs && rng.next(below: 3) == 0 {
            // Sparse: data in the first block, the last partial block, and
            // maybe one in the middle; holes elsewhere.
            var chunks: [(offset: UInt64, bytes: [UInt8])] = [(0, fill(min(bs / 2, size)))]
            let blocks = size / bs
            if blocks > 3 { chunks.append((UInt64((blocks / 2) * bs + 3), fill(100))) }
            chunks.append((UInt64(size - min(size, 50)), fill(min(size, 50))))
            return (size, chunks)
        }
        return (size, [(0, fill(size))])
    }

    static func linkTarget(_ rng: inout TestData.RNG) -> [UInt8] {
        switch rng.next(below: 4) {
        case 0: return Array("../sibling".utf8)
        case 1: return Array("/nix/store/\(fakeStoreName("x", seed: rng.next(below: 1000)))/bin/sh".utf8)
        case 2: return (0..<(1 + rng.next(below: 1000))).map { _ in UInt8(1 + rng.next(below: 255)) }
        default: return name(&rng)
        }
    }
}
