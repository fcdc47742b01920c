import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Options of `mkportable pack`, as the tests pass them. nil means "leave
/// the option out" so defaults are exercised too.
public struct PackOptions: Sendable, CustomStringConvertible {
    public var comp: String?
    public var blockSize: String?
    public var jobs: Int?
    public var mtime: UInt32?
    public var rootMode: String?
    public var force = false
    /// `--exact-blocks`: every block compressed as mksquashfs would.
    public var exactBlocks = false
    /// `--verity`: NAME.verity and NAME.roothash beside the image.
    public var verity = false
    /// SOURCE_DATE_EPOCH for the child; nil removes it from the environment
    /// (so a caller's environment, e.g. a Nix build's, never leaks in).
    public var sourceDateEpoch: String?

    public init(comp: String? = nil, blockSize: String? = nil, jobs: Int? = nil, mtime: UInt32? = nil,
                rootMode: String? = nil, force: Bool = false, sourceDateEpoch: String? = nil) {
        self.comp = comp; self.blockSize = blockSize; self.jobs = jobs; self.mtime = mtime
        self.rootMode = rootMode; self.force = force; self.sourceDateEpoch = sourceDateEpoch
    }

    /// The CLI arguments before SOURCE_DIR IMAGE.
    public var arguments: [String] {
        var a: [String] = []
        if let comp { a += ["--comp", comp] }
        if let blockSize { a += ["--block-size", blockSize] }
        if let jobs { a += ["--jobs", String(jobs)] }
        if let mtime { a += ["--mtime", String(mtime)] }
        if let rootMode { a += ["--root-mode", rootMode] }
        if force { a.append("--force") }
        if exactBlocks { a.append("--exact-blocks") }
        if verity { a.append("--verity") }
        return a
    }

    public var description: String {
        var parts = arguments.map(Shell.quote)
        if let e = sourceDateEpoch { parts.insert("SOURCE_DATE_EPOCH=\(e)", at: 0) }
        return parts.isEmpty ? "(defaults)" : parts.joined(separator: " ")
    }

    /// The mtime every inode must carry: --mtime, else SOURCE_DATE_EPOCH, else 0.
    public var effectiveMtime: Int64 {
        if let mtime { return Int64(mtime) }
        if let e = sourceDateEpoch, let v = Int64(e) { return v }
        return 0
    }

    public var effectiveRootMode: UInt32 {
        rootMode.flatMap { UInt32($0, radix: 8) } ?? 0o755
    }

    /// Block size in bytes (default 1M).
    public var effectiveBlockSize: Int {
        guard let s = blockSize?.uppercased() else { return 1 << 20 }
        if s.hasSuffix("K"), let v = Int(s.dropLast()) { return v << 10 }
        if s.hasSuffix("M"), let v = Int(s.dropLast()) { return v << 20 }
        return Int(s) ?? -1
    }

    /// The compressor name (first word of --comp; default xz).
    public var effectiveCompressor: String {
        comp.map { String($0.split(separator: " ").first ?? "") } ?? "xz"
    }
}

/// The tool under test. `MKPORTABLE_TEST_PACKER=mksquashfs` swaps in
/// mksquashfs (with equivalent flags) so the harness itself can be checked
/// against a known-good writer.
public enum Packer: CustomStringConvertible {
    case mkportable(binary: String)
    case mksquashfs

    public var description: String {
        switch self {
        case .mkportable(let b): return "mkportable (\(b))"
        case .mksquashfs: return "mksquashfs stand-in"
        }
    }

    public var isStandIn: Bool { if case .mksquashfs = self { return true } else { return false } }

    /// mkportable makes every path its own inode; mksquashfs keeps hard links.
    public var hardLinksAsSeparateInodes: Bool { !isStandIn }

    public static func current() throws -> Packer {
        let env = ProcessInfo.processInfo.environment
        if env["MKPORTABLE_TEST_PACKER"] == "mksquashfs" { return .mksquashfs }
        return .mkportable(binary: try MkportableBinary.path())
    }

    /// What the image of a tree packed with `options` must look like.
    public func attributes(for options: PackOptions) -> ImageAttributes {
        ImageAttributes(uid: 0, gid: 0, mtime: options.effectiveMtime, rootMode: options.effectiveRootMode,
                        hardLinksAsSeparateInodes: hardLinksAsSeparateInodes)
    }

    public func readOptions() -> ReadOptions { ReadOptions(expectSeparateInodes: hardLinksAsSeparateInodes) }

    /// Runs the packer; returns the result whatever the exit status.
    public func run(source: RawPath, image: RawPath, options: PackOptions) throws -> CommandResult {
        switch self {
        case .mkportable(let binary):
            return try Shell.run(binary, ["pack"] + options.arguments + [source.string, image.string],
                                 environment: ["SOURCE_DATE_EPOCH": options.sourceDateEpoch])
        case .mksquashfs:
            if !options.force, (try? Posix.lstatIfExists(image)) ?? nil != nil {
                return CommandResult(commandLine: "mksquashfs stand-in", status: 1, stdout: Data(),
                                     stderr: Data("\(image): exists; pass --force to overwrite\n".utf8))
            }
            var args = [source.string, image.string, "-noappend", "-all-root", "-no-xattrs", "-quiet", "-no-progress"]
            // mksquashfs's plain "xz" is the documented default (dictionary =
            // block size); spelled with -Xdict-size 100% it refuses 4K blocks.
            args += ["-comp"] + (options.comp ?? "xz").split(separator: " ").map(String.init)
            args += ["-b", options.blockSize ?? "1M"]
            if let j = options.jobs { args += ["-processors", String(j)] }
            let t = String(options.effectiveMtime)
            args += ["-all-time", t, "-mkfs-time", t]
            args += ["-root-mode", String(options.effectiveRootMode, radix: 8)]
            return try Shell.run("mksquashfs", args, environment: ["SOURCE_DATE_EPOCH": nil])
        }
    }

    /// Runs the packer and throws unless it succeeded and left an image.
    @discardableResult
    public func pack(source: RawPath, image: RawPath, options: PackOptions) throws -> CommandResult {
        let r = try run(source: source, image: image, options: options)
        if !r.succeeded { throw CommandFailed(result: r) }
        guard let st = try Posix.lstatIfExists(image), (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 else {
            throw CommandFailed(result: CommandResult(commandLine: r.commandLine + " (exited 0 but left no image)", status: 0, stdout: r.stdout, stderr: r.stderr))
        }
        return r
    }
}

/// Finds the `mkportable` executable built alongside the test bundle.
public enum MkportableBinary {
    nonisolated(unsafe) private static var cached: String?
    private static let lock = NSLock()

    /// `MKPORTABLE_BIN`, else `<products dir>/mkportable` (swift test builds
    /// every product, executables included), else a one-time
    /// `swift build --product mkportable` in a separate scratch directory.
    public static func path() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return cached }
        let found = try locate()
        cached = found
        return found
    }

    public static var productsDirectories: [String] {
        var dirs: [String] = [Bundle.main.bundleURL.path]
        if let exe = Bundle.main.executableURL { dirs.append(exe.deletingLastPathComponent().path) }
        for b in Bundle.allBundles where b.bundlePath.hasSuffix(".xctest") {
            dirs.append(URL(fileURLWithPath: b.bundlePath).deletingLastPathComponent().path)
        }
        if let arg0 = CommandLine.arguments.first {
            dirs.append(URL(fileURLWithPath: arg0).deletingLastPathComponent().path)
        }
        var seen = Set<String>()
        return dirs.filter { seen.insert($0).inserted }
    }

    /// The package root, from this file's location (Tests/MkportableTests/Support/…).
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    static func locate() throws -> String {
        let env = ProcessInfo.processInfo.environment
        if let p = env["MKPORTABLE_BIN"] {
            guard FileManager.default.isExecutableFile(atPath: p) else {
                throw ToolMissing(tool: "MKPORTABLE_BIN=\(p) (not an executable file)")
            }
            return p
        }
        for dir in productsDirectories {
            let candidate = dir + "/mkportable"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        // Not built with the tests: build it once, in its own scratch
        // directory (the test run holds the lock on its own).
        let root = packageRoot
        let scratch = root.appendingPathComponent(".build-mkportable-for-tests").path
        let config = productsDirectories.first.map { $0.hasSuffix("/release") ? "release" : "debug" } ?? "debug"
        let r = try Shell.run("swift", ["build", "--package-path", root.path, "--scratch-path", scratch,
                                        "-c", config, "--product", "mkportable"])
        guard r.succeeded else { throw CommandFailed(result: r) }
        let bin = try Shell.check("swift", ["build", "--package-path", root.path, "--scratch-path", scratch,
                                            "-c", config, "--show-bin-path"]).stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines) + "/mkportable"
        guard FileManager.default.isExecutableFile(atPath: bin) else { throw ToolMissing(tool: bin) }
        return bin
    }
}
