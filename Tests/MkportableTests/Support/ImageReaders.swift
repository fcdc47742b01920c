import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A reader could not run here (tool missing, not root, no loop devices).
/// Callers skip that reader and say why; it is never a pass.
public struct ReaderUnavailable: Error, CustomStringConvertible {
    public var reader: ImageReader
    public var reason: String
    public var description: String { "\(reader.rawValue) unavailable: \(reason)" }
}

/// What one independent reader made of an image.
public struct ReaderOutput {
    public var reader: ImageReader
    public var manifest: Manifest
    /// Per expected entry: the fields this reader vouches for, or nil when it
    /// cannot represent the entry at all (e.g. tar has no sockets).
    public var coverage: (RawPath, ManifestEntry) -> ManifestFields?
    /// Actual paths that may appear without an expected counterpart
    /// (names a reader mangles and that cannot be mapped back).
    public var ignoreExtra: (RawPath) -> Bool = { _ in false }
    /// Invariant violations seen while reading (a hard link where separate
    /// inodes were promised, duplicate inode numbers, ...).
    public var problems: [String] = []
    /// Things worth printing that are not failures.
    public var notes: [String] = []

    public func differences(from expected: Manifest) -> [String] {
        problems + Manifest.differences(expected: expected, actual: manifest, coverage: coverage, ignoreExtra: ignoreExtra)
    }
}

public struct ReadOptions {
    /// The writer promised that every path is its own inode (mkportable):
    /// hard links in a reader's view are then problems.
    public var expectSeparateInodes: Bool
    public init(expectSeparateInodes: Bool = true) { self.expectSeparateInodes = expectSeparateInodes }
}

/// The independent readers an image is checked with. Each turns an image
/// into a canonical `Manifest`.
public enum ImageReader: String, CaseIterable, Sendable {
    /// `unsquashfs -pf`: a pseudo-file listing with exact numeric metadata
    /// and the file data appended (hashed from there).
    case unsquashfsPseudo = "unsquashfs -pf"
    /// `unsquashfs -d DIR` extraction as root, then an lstat walk.
    case unsquashfsExtract = "unsquashfs -d"
    /// The Linux kernel's squashfs driver via `mount -o loop,ro`.
    case kernel = "kernel mount"
    /// squashfs-tools-ng's `sqfs2tar`, parsed by `TarParser`.
    case sqfs2tar = "sqfs2tar"
    /// 7-Zip's listing (`7zz l -slt`): types, modes, owners, mtimes, sizes.
    case sevenZipList = "7zz l -slt"
    /// 7-Zip's extraction (`7zz x`): names, regular-file contents, links.
    case sevenZipExtract = "7zz x"

    /// Reads `image`, using `scratch` (an existing, empty-able directory) for
    /// extraction output.
    public func read(image: RawPath, scratch: RawPath, options: ReadOptions = ReadOptions()) throws -> ReaderOutput {
        switch self {
        case .unsquashfsPseudo: return try Readers.unsquashfsPseudo(image: image, scratch: scratch, options: options)
        case .unsquashfsExtract: return try Readers.unsquashfsExtract(image: image, scratch: scratch, options: options)
        case .kernel: return try Readers.kernel(image: image, scratch: scratch, options: options)
        case .sqfs2tar: return try Readers.sqfs2tar(image: image, scratch: scratch, options: options)
        case .sevenZipList: return try Readers.sevenZipList(image: image, scratch: scratch, options: options)
        case .sevenZipExtract: return try Readers.sevenZipExtract(image: image, scratch: scratch, options: options)
        }
    }

    var tool: String {
        switch self {
        case .unsquashfsPseudo, .unsquashfsExtract: return "unsquashfs"
        case .kernel: return "mount"
        case .sqfs2tar: return "sqfs2tar"
        case .sevenZipList, .sevenZipExtract: return "7zz"
        }
    }
}

enum Readers {
    static func requireTool(_ reader: ImageReader, _ tool: String) throws {
        if Shell.which(tool) == nil { throw ReaderUnavailable(reader: reader, reason: "\(tool) not found in PATH") }
    }

    // MARK: unsquashfs -pf

    static func unsquashfsPseudo(image: RawPath, scratch: RawPath, options: ReadOptions) throws -> ReaderOutput {
        try requireTool(.unsquashfsPseudo, "unsquashfs")
        let out = scratch.appending("unsquashfs.pf")
        Posix.removeTree(out)
        try Shell.check("unsquashfs", ["-n", "-pf", out.string, image.string])
        let data = try Data(contentsOf: URL(fileURLWithPath: out.string), options: .alwaysMapped)
        defer { Posix.removeTree(out) }
        let parsed = try PseudoFile.parse(data)
        var problems: [String] = []
        if options.expectSeparateInodes {
            for (path, target) in parsed.hardLinks {
                problems.append("\(path): unsquashfs lists a hard link to \(target); every path should be its own inode")
            }
        }
        return ReaderOutput(reader: .unsquashfsPseudo, manifest: parsed.manifest,
                            coverage: { _, _ in .standard }, problems: problems)
    }

    // MARK: unsquashfs -d

    static func unsquashfsExtract(image: RawPath, scratch: RawPath, options: ReadOptions) throws -> ReaderOutput {
        try requireTool(.unsquashfsExtract, "unsquashfs")
        let dir = scratch.appending("unsquashfs-root")
        Posix.removeTree(dir)
        defer { Posix.removeTree(dir) }
        // -st: any error (a file it could not write, a bad block) fails.
        try Shell.check("unsquashfs", ["-n", "-no-xattrs", "-st", "-d", dir.string, image.string])
        let m = try Manifest.scan(directory: dir)
        return ReaderOutput(reader: .unsquashfsExtract, manifest: m, coverage: { _, e in
            // Directory link counts on the extraction filesystem are its own.
            e.kind == .directory ? .standard : .all
        })
    }

    // MARK: kernel

    static func kernel(image: RawPath, scratch: RawPath, options: ReadOptions) throws -> ReaderOutput {
        try KernelMount.withMounted(image: image, scratch: scratch) { mnt in
            let m = try Manifest.scan(directory: mnt)
            var problems: [String] = []
            var owners: [UInt64: [RawPath]] = [:]
            for (p, ino) in m.inodes { owners[ino, default: []].append(p) }
            for (ino, paths) in owners where paths.count > 1 {
                let kinds = Set(paths.compactMap { m.entries[$0]?.kind })
                if options.expectSeparateInodes || kinds.contains(.directory) {
                    problems.append("inode number \(ino) is shared by \(paths.sorted().map(\.description).joined(separator: ", "))")
                }
            }
            return ReaderOutput(reader: .kernel, manifest: m, coverage: { _, _ in .all }, problems: problems)
        }
    }

    // MARK: sqfs2tar

    static func sqfs2tar(image: RawPath, scratch: RawPath, options: ReadOptions) throws -> ReaderOutput {
        try requireTool(.sqfs2tar, "sqfs2tar")
        let tarPath = scratch.appending("sqfs2tar.tar")
        Posix.removeTree(tarPath)
        defer { Posix.removeTree(tarPath) }
        // -r .: keep the root inode as "./" so its mode and mtime are checked.
        let r = try Shell.check("sqfs2tar", ["-r", ".", image.string], stdoutPath: tarPath.string)
        let data = try Data(contentsOf: URL(fileURLWithPath: tarPath.string), options: .alwaysMapped)
        var m = Manifest()
        var problems: [String] = []
        var notes: [String] = []
        let stderr = r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
        if !stderr.isEmpty { notes.append("sqfs2tar: " + stderr.replacingOccurrences(of: "\n", with: "; ")) }
        try data.withUnsafeBytes { raw in
            for mem in try TarParser.members(of: raw) {
                if m.entries[mem.path] != nil { problems.append("\(mem.path): appears twice in the tar stream") }
                var e = ManifestEntry(kind: .unknown, mode: mem.mode, uid: mem.uid, gid: mem.gid, mtime: mem.mtime)
                switch mem.type {
                case UInt8(ascii: "0"), 0, UInt8(ascii: "7"):
                    e.kind = .regular
                    e.size = mem.size
                    e.digest = SHA256Digest.hex(UnsafeRawBufferPointer(rebasing: raw[mem.dataOffset..<mem.dataOffset + Int(mem.size)]))
                case UInt8(ascii: "1"):
                    let target = TarParser.normalize(mem.linkName)
                    if options.expectSeparateInodes {
                        problems.append("\(mem.path): sqfs2tar emitted a hard link to \(target); every path should be its own inode")
                    }
                    guard let t = m.entries[target] else {
                        problems.append("\(mem.path): hard link to \(target), which is not earlier in the archive")
                        continue
                    }
                    e = t
                case UInt8(ascii: "2"):
                    e.kind = .symlink
                    e.target = mem.linkName
                    e.size = UInt64(mem.linkName.count)
                case UInt8(ascii: "3"):
                    e.kind = .characterDevice
                    e.device = mem.device
                case UInt8(ascii: "4"):
                    e.kind = .blockDevice
                    e.device = mem.device
                case UInt8(ascii: "5"):
                    e.kind = .directory
                case UInt8(ascii: "6"):
                    e.kind = .fifo
                default:
                    problems.append("\(mem.path): unsupported tar member type '\(RawPath.render([mem.type]))'")
                }
                m.entries[mem.path] = e
            }
        }
        // tar cannot carry sockets; sqfs2tar skips them with a warning.
        return ReaderOutput(reader: .sqfs2tar, manifest: m, coverage: { _, e in e.kind == .socket ? nil : .standard },
                            problems: problems, notes: notes)
    }

    // MARK: 7-Zip

    /// Names 7-Zip's listing reproduces byte for byte: valid UTF-8 without
    /// control characters (it rewrites those).
    static func sevenZipListsFaithfully(_ p: RawPath) -> Bool {
        guard let s = p.utf8String else { return false }
        return !s.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f || $0.value == 0xfffd }
    }

    /// 7-Zip (through 26.x) has no lz4 decoder for squashfs.
    static func requireSevenZipSupport(_ reader: ImageReader, _ image: RawPath) throws {
        try requireTool(reader, "7zz")
        if (try? Superblock.compressorName(of: image)) == "lz4" {
            throw ReaderUnavailable(reader: reader, reason: "7-Zip cannot decompress lz4 squashfs images")
        }
    }

    static func sevenZipList(image: RawPath, scratch: RawPath, options: ReadOptions) throws -> ReaderOutput {
        try requireSevenZipSupport(.sevenZipList, image)
        let r = try Shell.check("7zz", ["l", "-slt", "-tSquashFS", image.string], environment: ["TZ": "UTC"])
        let m = try SevenZipListing.parse(r.stdout)
        return ReaderOutput(
            reader: .sevenZipList, manifest: m,
            coverage: { p, e in
                if p.isRoot || !sevenZipListsFaithfully(p) { return nil }
                // Sizes: regular files and symlinks (target length).
                var f: ManifestFields = [.kind, .mode, .owner, .mtime]
                if e.kind == .regular || e.kind == .symlink { f.insert(.size) }
                return f
            },
            ignoreExtra: { p in
                // Mangled renderings of names the listing cannot show.
                !sevenZipListsFaithfully(p) || p.bytes.contains(UInt8(ascii: "_"))
            })
    }

    static func sevenZipExtract(image: RawPath, scratch: RawPath, options: ReadOptions) throws -> ReaderOutput {
        try requireSevenZipSupport(.sevenZipExtract, image)
        let dir = scratch.appending("7zz-out")
        Posix.removeTree(dir)
        try Posix.makeDirectories(dir)
        defer { Posix.removeTree(dir) }
        // -snld20 lets 7-Zip create links it deems dangerous ("..", ".");
        // older releases only know -snld.
        var r = try Shell.run("7zz", ["x", "-y", "-bd", "-snld20", "-tSquashFS", "-o" + dir.string, image.string])
        if !r.succeeded && (r.stderrText + r.stdoutText).lowercased().contains("unsupported switch") {
            r = try Shell.run("7zz", ["x", "-y", "-bd", "-snld", "-tSquashFS", "-o" + dir.string, image.string])
        }
        if !r.succeeded { throw CommandFailed(result: r) }
        let m = try Manifest.scan(directory: dir)
        return ReaderOutput(reader: .sevenZipExtract, manifest: m, coverage: { p, e in
            if p.isRoot { return [] }
            switch e.kind {
            case .regular: return [.kind, .size, .content]
            case .directory: return [.kind]
            // 7-Zip rewrites absolute targets to point into the output
            // directory and collapses "//", so only other targets compare.
            case .symlink:
                let t = e.target ?? []
                let collapses = zip(t, t.dropFirst()).contains { $0 == UInt8(ascii: "/") && $1 == UInt8(ascii: "/") }
                return t.first == UInt8(ascii: "/") || collapses ? [.kind] : [.kind, .target]
            // Devices, fifos and sockets come out as empty regular files.
            default: return []
            }
        })
    }
}

/// Parser for `unsquashfs -pf` output (squashfs-tools 4.5 pseudo files).
public enum PseudoFile {
    public struct Parsed {
        public var manifest: Manifest
        /// (path, target) of "L" lines.
        public var hardLinks: [(RawPath, RawPath)]
    }

    public struct Malformed: Error, CustomStringConvertible {
        public var line: String
        public var description: String { "cannot parse unsquashfs -pf line: \(line)" }
    }

    static let marker = Array("\n#\n# START OF DATA - DO NOT MODIFY\n#\n".utf8)

    public static func parse(_ data: Data) throws -> Parsed {
        try data.withUnsafeBytes { raw in try parse(raw) }
    }

    public static func parse(_ raw: UnsafeRawBufferPointer) throws -> Parsed {
        let bytes = raw.bindMemory(to: UInt8.self)
        // Find the data marker (the header is text; data follows).
        guard let markerRange = find(marker, in: bytes) else { throw Malformed(line: "(no START OF DATA marker)") }
        let header = Array(bytes[0..<markerRange.lowerBound + 1])
        let dataStart = markerRange.upperBound
        var m = Manifest()
        var hardLinks: [(RawPath, RawPath)] = []
        var pending: [UInt8]? = nil
        for lineSlice in header.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            var line = Array(lineSlice)
            if let p = pending { line = p + [UInt8(ascii: "\n")] + line; pending = nil }
            if line.isEmpty { continue }
            guard let parsed = parseLine(line) else {
                // A name with a newline in it spans lines: join and retry.
                pending = line
                continue
            }
            switch parsed {
            case .entry(let path, var e, let dataOffset):
                if let off = dataOffset, let size = e.size {
                    let start = dataStart + Int(off)
                    guard start + Int(size) <= bytes.count else { throw Malformed(line: String(decoding: line, as: UTF8.self) + " (data out of range)") }
                    e.digest = SHA256Digest.hex(UnsafeRawBufferPointer(rebasing: raw[start..<start + Int(size)]))
                }
                m.entries[path] = e
            case .hardLink(let path, let target):
                hardLinks.append((path, target))
            }
        }
        if let p = pending { throw Malformed(line: String(decoding: p, as: UTF8.self)) }
        for (path, target) in hardLinks {
            guard let t = m.entries[target] else { throw Malformed(line: "hard link \(path) → missing \(target)") }
            m.entries[path] = t
        }
        return Parsed(manifest: m, hardLinks: hardLinks)
    }

    enum Line {
        case entry(RawPath, ManifestEntry, dataOffset: UInt64?)
        case hardLink(RawPath, RawPath)
    }

    /// Splits off one backslash-escaped token ending at an unescaped space.
    static func token(_ line: [UInt8], from i: inout Int) -> [UInt8]? {
        var out: [UInt8] = []
        while i < line.count {
            let b = line[i]
            if b == UInt8(ascii: "\\") && i + 1 < line.count { out.append(line[i + 1]); i += 2; continue }
            if b == UInt8(ascii: " ") { i += 1; return out }
            out.append(b); i += 1
        }
        return out.isEmpty ? nil : out
    }

    static func parseLine(_ line: [UInt8]) -> Line? {
        var i = 0
        guard let name = token(line, from: &i), let typeTok = token(line, from: &i), typeTok.count == 1 else { return nil }
        let path: RawPath = name == [UInt8(ascii: "/")] ? .root : TarParser.normalize(name)
        let type = Character(Unicode.Scalar(typeTok[0]))
        if type == "L" {
            return .hardLink(path, TarParser.normalize(Array(line[i...])))
        }
        func num(_ radix: Int = 10) -> UInt64? {
            var j = i
            guard let t = token(line, from: &j), let v = UInt64(String(decoding: t, as: UTF8.self), radix: radix) else { return nil }
            i = j
            return v
        }
        guard let mtime = num(), let mode = num(8), let uid = num(), let gid = num() else { return nil }
        var e = ManifestEntry(kind: .unknown, mode: UInt32(mode & 0o7777), uid: UInt32(uid), gid: UInt32(gid), mtime: Int64(mtime))
        var dataOffset: UInt64? = nil
        switch type {
        case "D": e.kind = .directory
        case "R":
            guard let size = num(), let off = num() else { return nil }
            e.kind = .regular; e.size = size; dataOffset = off
        case "S":
            e.kind = .symlink
            let t = Array(line[i...])
            e.target = t; e.size = UInt64(t.count)
            i = line.count
        case "C", "B":
            var j = i
            guard let maTok = token(line, from: &j), let printedMajor = Int64(String(decoding: maTok, as: UTF8.self)) else { return nil }
            i = j
            guard var mi = num() else { return nil }
            // unsquashfs 4.5.1 prints the signed "rdev >> 8" and "rdev & 0xff"
            // of the 32-bit on-disk rdev, which is wrong for minors above 255
            // (new_encode_dev keeps minor bits 8-19 in bits 20-31).
            // Rebuild the raw value and decode it properly.
            var ma = UInt64(UInt32(truncatingIfNeeded: printedMajor))
            if mi <= 0xff {
                let raw = UInt64(UInt32(truncatingIfNeeded: ma << 8 | mi))
                ma = (raw >> 8) & 0xfff
                mi = (raw & 0xff) | ((raw >> 12) & 0xfff00)
            }
            e.kind = type == "C" ? .characterDevice : .blockDevice
            e.device = DeviceNumber(major: UInt32(ma), minor: UInt32(mi))
        case "I":
            guard let t = token(line, from: &i) else { return nil }
            e.kind = t == [UInt8(ascii: "f")] ? .fifo : t == [UInt8(ascii: "s")] ? .socket : .unknown
        default:
            return nil
        }
        if i < line.count { return nil }  // trailing garbage: probably a split name
        return .entry(path, e, dataOffset: dataOffset)
    }

    static func find(_ needle: [UInt8], in hay: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        guard needle.count <= hay.count else { return nil }
        // The header comes first; search forward from the start.
        var i = 0
        let first = needle[0]
        while i + needle.count <= hay.count {
            if hay[i] == first {
                var ok = true
                for j in 1..<needle.count where hay[i + j] != needle[j] { ok = false; break }
                if ok { return i..<(i + needle.count) }
            }
            i += 1
        }
        return nil
    }
}

/// Parser for `7zz l -slt` (technical listing) output.
public enum SevenZipListing {
    public struct Malformed: Error, CustomStringConvertible {
        public var message: String
        public var description: String { "cannot parse 7zz listing: \(message)" }
    }

    public static func parse(_ output: Data) throws -> Manifest {
        let bytes = Array(output)
        // Records start after the "----------" separator line.
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { Array($0) }
        guard let start = lines.firstIndex(of: Array("----------".utf8)) else { throw Malformed(message: "no ---------- separator") }
        var m = Manifest()
        var record: [(String, [UInt8])] = []
        func flush() throws {
            defer { record = [] }
            guard !record.isEmpty else { return }
            var fields: [String: [UInt8]] = [:]
            for (k, v) in record { fields[k] = v }
            guard let path = fields["Path"] else { return }
            let str = { (k: String) in fields[k].map { String(decoding: $0, as: UTF8.self) } }
            guard let modeString = str("Mode"), let first = modeString.first else { throw Malformed(message: "no Mode for \(RawPath(path))") }
            var e = ManifestEntry(kind: EntryKind(lsCharacter: first))
            e.mode = parseLsMode(modeString)
            e.uid = str("User ID").flatMap { UInt32($0) }
            e.gid = str("Group ID").flatMap { UInt32($0) }
            if let t = str("Modified") { e.mtime = parseUTC(t) }
            if e.kind == .regular || e.kind == .symlink { e.size = str("Size").flatMap { UInt64($0) } }
            m.entries[TarParser.normalize(path)] = e
        }
        for line in lines[(start + 1)...] {
            if line.isEmpty { try flush(); continue }
            if let eq = find(Array(" = ".utf8), in: line) {
                record.append((String(decoding: line[..<eq], as: UTF8.self), Array(line[(eq + 3)...])))
            } else if line.last == UInt8(ascii: "=") && line.count >= 2 && line[line.count - 2] == UInt8(ascii: " ") {
                record.append((String(decoding: line.dropLast(2), as: UTF8.self), []))
            } else if var last = record.popLast() {
                last.1 += [UInt8(ascii: "\n")] + line  // continuation of a value
                record.append(last)
            }
        }
        try flush()
        return m
    }

    static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where Array(hay[i..<i + needle.count]) == needle { return i }
        return nil
    }

    /// "-rwsr-xr-T" → 0o5754 (type character ignored).
    public static func parseLsMode(_ s: String) -> UInt32? {
        let c = Array(s)
        guard c.count >= 10 else { return nil }
        var m: UInt32 = 0
        let bits: [(Int, Character, UInt32)] = [(1, "r", 0o400), (2, "w", 0o200), (4, "r", 0o040), (5, "w", 0o020), (7, "r", 0o004), (8, "w", 0o002)]
        for (i, ch, v) in bits where c[i] == ch { m |= v }
        // Execute positions with special bits.
        let execs: [(Int, UInt32, UInt32, Character)] = [(3, 0o100, 0o4000, "s"), (6, 0o010, 0o2000, "s"), (9, 0o001, 0o1000, "t")]
        for (i, x, special, lower) in execs {
            let ch = c[i]
            if ch == "x" { m |= x }
            else if ch == lower { m |= x | special }
            else if ch == Character(lower.uppercased()) { m |= special }
        }
        return m
    }

    /// "1970-01-12 13:46:40" (UTC, optional fraction) → seconds since epoch.
    public static func parseUTC(_ s: String) -> Int64? {
        let parts = s.split(whereSeparator: { $0 == " " || $0 == "-" || $0 == ":" || $0 == "." })
        guard parts.count >= 6, let y = Int64(parts[0]), let mo = Int64(parts[1]), let d = Int64(parts[2]),
              let h = Int64(parts[3]), let mi = Int64(parts[4]), let sec = Int64(parts[5]) else { return nil }
        // Days from civil (Howard Hinnant's algorithm).
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        return days * 86400 + h * 3600 + mi * 60 + sec
    }
}
