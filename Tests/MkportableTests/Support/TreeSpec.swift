import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A tree described as data, so the same logical tree can be built on disk
/// in different ways (creation order, hard links vs copies, owners, times,
/// xattrs) that an image must not depend on.
public enum TreeItem {
    case dir(RawPath, mode: mode_t)
    case file(RawPath, [UInt8], mode: mode_t)
    case sparse(RawPath, size: UInt64, chunks: [(offset: UInt64, bytes: [UInt8])], mode: mode_t)
    /// Same contents and mode as the regular file `of` (declared earlier),
    /// built as a hard link or a copy depending on the variant.
    case duplicate(RawPath, of: RawPath, preferHardLink: Bool)
    case symlink(RawPath, target: [UInt8])
    case fifo(RawPath, mode: mode_t)
    case socket(RawPath, mode: mode_t)
    case charDevice(RawPath, major: UInt32, minor: UInt32, mode: mode_t)
    case blockDevice(RawPath, major: UInt32, minor: UInt32, mode: mode_t)

    public var path: RawPath {
        switch self {
        case .dir(let p, _), .file(let p, _, _), .sparse(let p, _, _, _), .duplicate(let p, _, _), .symlink(let p, _),
             .fifo(let p, _), .socket(let p, _), .charDevice(let p, _, _, _), .blockDevice(let p, _, _, _):
            return p
        }
    }

    public var needsRoot: Bool {
        switch self {
        case .charDevice, .blockDevice: return true
        default: return false
        }
    }
}

/// How to realize a `TreeSpec` on disk.
public struct BuildVariant {
    public enum Duplicates { case asDeclared, allHardLinks, allCopies }
    public var reverseOrder = false
    public var duplicates: Duplicates = .asDeclared
    /// Give every entry a different mtime derived from this seed.
    public var scrambleMtimes: UInt64? = nil
    /// lchown every entry (except the root) to these ids.
    public var owner: (uid: uid_t, gid: gid_t)? = nil
    /// Set a user xattr on every regular file and directory.
    public var xattrs = false
    /// Mode of the source root directory itself (the image's root mode comes
    /// from --root-mode, never from here).
    public var rootMode: mode_t = 0o755

    public init(reverseOrder: Bool = false, duplicates: Duplicates = .asDeclared, scrambleMtimes: UInt64? = nil,
                owner: (uid: uid_t, gid: gid_t)? = nil, xattrs: Bool = false, rootMode: mode_t = 0o755) {
        self.reverseOrder = reverseOrder; self.duplicates = duplicates; self.scrambleMtimes = scrambleMtimes
        self.owner = owner; self.xattrs = xattrs; self.rootMode = rootMode
    }
}

public struct TreeSpec {
    public var items: [TreeItem]
    public init(_ items: [TreeItem]) { self.items = items }

    /// Builds the tree under `root` (created if missing).
    public func build(at root: RawPath, variant: BuildVariant = BuildVariant()) throws {
        let b = try TreeBuilder(root: root)
        var modes: [RawPath: mode_t] = [:]
        var contents: [RawPath: [UInt8]] = [:]
        var dirModes: [(RawPath, mode_t)] = []
        for item in items {
            if case .file(let p, let bytes, let mode) = item { contents[p] = bytes; modes[p] = mode }
        }
        // Hard-link groups: the first member created holds the data.
        var created: [RawPath: RawPath] = [:]  // original → path that exists on disk
        let order = variant.reverseOrder ? items.reversed() : items
        for item in order {
            switch item {
            case .dir(let p, let mode):
                try b.dir(p, mode: 0o755)
                dirModes.append((p, mode))
            case .file(let p, let bytes, let mode):
                if let existing = created[p], variant.duplicates != .allCopies, existing != p {
                    // A duplicate was created first and links here.
                    try b.hardLink(p, to: existing)
                } else {
                    try b.file(p, bytes, mode: mode)
                    created[p] = p
                }
            case .sparse(let p, let size, let chunks, let mode):
                try b.sparseFile(p, size: size, chunks: chunks, mode: mode)
            case .duplicate(let p, let original, let preferLink):
                guard let bytes = contents[original], let mode = modes[original] else {
                    preconditionFailure("duplicate \(p) of undeclared file \(original)")
                }
                let link: Bool
                switch variant.duplicates {
                case .asDeclared: link = preferLink
                case .allHardLinks: link = true
                case .allCopies: link = false
                }
                if link, let existing = created[original] {
                    try b.hardLink(p, to: existing)
                } else {
                    try b.file(p, bytes, mode: mode)
                    if link { created[original] = p }
                }
            case .symlink(let p, let target):
                try b.symlink(p, to: target)
            case .fifo(let p, let mode):
                try b.fifo(p, mode: mode)
            case .socket(let p, let mode):
                try b.socket(p, mode: mode)
            case .charDevice(let p, let ma, let mi, let mode):
                try b.charDevice(p, major: ma, minor: mi, mode: mode)
            case .blockDevice(let p, let ma, let mi, let mode):
                try b.blockDevice(p, major: ma, minor: mi, mode: mode)
            }
        }
        let all = try b.allPaths()
        if variant.xattrs {
            for p in all {
                let st = try Posix.lstat(b.full(p))
                let t = st.st_mode & S_IFMT
                if t == S_IFREG || t == S_IFDIR {
                    try b.setXattr(p, name: "user.mkportable-test", value: Array("value of \(p)".utf8))
                }
            }
            try b.setXattr(.root, name: "user.mkportable-test", value: Array("root".utf8))
        }
        if let owner = variant.owner {
            for p in all { try b.chown(p, uid: owner.uid, gid: owner.gid) }
            try b.chown(.root, uid: owner.uid, gid: owner.gid)
            // chown cleared setuid/setgid: restore every declared mode.
            for item in items {
                switch item {
                case .file(let p, _, let m), .sparse(let p, _, _, let m), .fifo(let p, let m), .socket(let p, let m),
                     .charDevice(let p, _, _, let m), .blockDevice(let p, _, _, let m):
                    try b.chmod(p, m)
                default: break
                }
            }
        }
        // Directory modes last: a 0555 or 0000 directory is still filled.
        for (p, mode) in dirModes { try b.chmod(p, mode) }
        try b.chmod(.root, variant.rootMode)
        if let seed = variant.scrambleMtimes {
            var rng = TestData.RNG(seed: seed)
            // Children first, so setting a file's time cannot move its parent's.
            for p in all.reversed() + [.root] {
                try b.setMtime(p, 1_000_000_000 + rng.next(below: 700_000_000), nanoseconds: rng.next(below: 999_999_999))
            }
        }
    }

    public var needsRoot: Bool { items.contains { $0.needsRoot } }
}

/// Reusable sample trees.
public enum SampleTrees {
    /// One of everything an image can hold, about 3 MB: large random and
    /// text files, machine code, zero and sparse files, many small files
    /// (fragments), duplicates and hard links, every special file type,
    /// special permission bits, odd names, a 255-byte name, deep nesting and
    /// long link targets.
    public static func kitchenSink(includeDevices: Bool = Posix.isRoot) -> TreeSpec {
        var items: [TreeItem] = []
        func f(_ p: String, _ b: [UInt8], _ m: mode_t = 0o644) { items.append(.file(RawPath(p), b, mode: m)) }
        items.append(.dir("bin", mode: 0o755))
        f("bin/tool", TestData.machineCode(600 * 1024 + 77, seed: 1), 0o755)
        f("bin/suid", TestData.machineCode(20_000, seed: 2), 0o4755)
        f("bin/sgid", TestData.machineCode(3_000, seed: 3), 0o2755)
        let random = TestData.random(1 << 20 + 123, seed: 4)
        let text = TestData.text(500_000, seed: 5)
        f("data/random.bin", random)
        f("data/text.txt", text)
        f("data/zeros.bin", [UInt8](repeating: 0, count: 300_000))
        items.append(.sparse("data/sparse.img", size: 1_500_000,
                             chunks: [(UInt64(700_000), TestData.random(5_000, seed: 6)), (UInt64(1_499_997), Array("END".utf8))], mode: 0o640))
        var rng = TestData.RNG(seed: 7)
        for i in 0..<150 {
            let size = rng.next(below: 2_500)
            let bytes = i % 3 == 0 ? TestData.random(size, seed: UInt64(100 + i)) : TestData.text(size, seed: UInt64(100 + i))
            f(String(format: "small/f%03d", i), bytes)
        }
        items.append(.duplicate("dup/a/copy-of-text.txt", of: "data/text.txt", preferHardLink: false))
        items.append(.duplicate("dup/b/copy-of-random.bin", of: "data/random.bin", preferHardLink: false))
        items.append(.duplicate("dup/c/small-dup", of: "small/f010", preferHardLink: false))
        items.append(.duplicate("dup/hardlink-to-random", of: "data/random.bin", preferHardLink: true))
        items.append(.duplicate("dup/hardlink-to-small", of: "small/f011", preferHardLink: true))
        var sameSize = random
        sameSize[sameSize.count - 1] ^= 0xff
        f("dup/same-size-different-last-byte.bin", sameSize)
        var sameSize2 = random
        sameSize2[0] ^= 0x01
        f("dup/same-size-different-first-byte.bin", sameSize2)
        f("empty/file", [])
        f("empty/another-empty-file", [])
        items.append(.dir("empty/dir", mode: 0o755))
        items.append(.symlink("links/relative", target: Array("../data/text.txt".utf8)))
        items.append(.symlink("links/absolute", target: Array("/etc/passwd".utf8)))
        items.append(.symlink("links/dangling", target: Array("nowhere/at/all".utf8)))
        items.append(.symlink("links/to-dir", target: Array("../small".utf8)))
        items.append(.symlink("links/dot", target: Array(".".utf8)))
        items.append(.symlink("links/long", target: Array(String(repeating: "long/", count: 200).utf8)))
        items.append(.symlink("links/spaces and ünïcode", target: Array("a target with spaces/ünï".utf8)))
        if includeDevices {
            items.append(.charDevice("dev/null", major: 1, minor: 3, mode: 0o666))
            items.append(.blockDevice("dev/sda", major: 8, minor: 0, mode: 0o660))
            items.append(.charDevice("dev/big-numbers", major: 300, minor: 65_537, mode: 0o600))
        }
        items.append(.fifo("dev/fifo", mode: 0o644))
        items.append(.socket("dev/socket", mode: 0o755))
        f("modes/mode-000", Array("unreadable to others".utf8), 0o000)
        f("modes/mode-7777", Array("every bit".utf8), 0o7777)
        f("modes/sticky-file", Array("sticky".utf8), 0o1644)
        items.append(.dir("modes/sticky-dir", mode: 0o1777))
        items.append(.dir("modes/private-dir", mode: 0o700))
        f("modes/private-dir/inside", Array("inside".utf8), 0o600)
        items.append(.dir("modes/setgid-dir", mode: 0o2775))
        items.append(.dir("modes/dir-000", mode: 0o000))
        f("modes/dir-000/hidden", Array("hidden".utf8))
        f("names/ünïcödé.txt", Array("u".utf8))
        f("names/日本語のファイル名", Array("j".utf8))
        f("names/emoji-😀🎉", Array("e".utf8))
        items.append(.file(RawPath(Array("names/invalid-".utf8) + [0xff, 0xfe, 0x80, 0x41]), Array("invalid".utf8), mode: 0o644))
        f("names/with spaces and 'quotes' \"double\"", Array("s".utf8))
        f("names/-leading-dash", Array("d".utf8))
        f("names/" + String(repeating: "n", count: 255), Array("long name".utf8))
        f("names/back\\slash", Array("b".utf8))
        var deep = "deep"
        for i in 1...12 { deep += "/level\(i)" }
        f(deep + "/leaf", Array("leaf".utf8))
        return TreeSpec(items)
    }
}
