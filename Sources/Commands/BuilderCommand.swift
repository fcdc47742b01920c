#if canImport(Glibc)
import Glibc
#endif
import EROFS
import PortableService
import SquashFS
import SystemIO
import DiskImage

/// The Nix builder: attributes JSON → `ImageSpec` → file tree → image.
///
/// - `mkportable` with no arguments is builder mode: Nix runs it as the
///   derivation's `builder` with `__structuredAttrs = true`.
/// - `mkportable build --attrs FILE --out DIR` does the same outside Nix.
///
/// Where builder mode finds the attributes: `$NIX_ATTRS_JSON_FILE` if that
/// file exists, else `$NIX_BUILD_TOP/.attrs.json`. The fallback is needed
/// twice over: Nix before 2.4-ish set no variable at all, and Nix 2.8 (as
/// Debian 12 ships it) sets NIX_ATTRS_JSON_FILE to the build directory's
/// path *outside* the sandbox (/tmp/nix-build-NAME.drv-0/.attrs.json),
/// which does not exist inside it, where the file is /build/.attrs.json.
///
/// The image's mtime is `$SOURCE_DATE_EPOCH` if set, else 0, as for
/// `pack`. Inside Nix the builder's environment is fixed by the derivation,
/// and nix/portable-service.nix does not set SOURCE_DATE_EPOCH (Nix itself
/// does not either; stdenv does, and no stdenv is involved), so Nix-built
/// images always carry mtime 0, and `build` outside Nix reproduces them
/// byte for byte as long as SOURCE_DATE_EPOCH is unset there too.
///
/// Threads: `$NIX_BUILD_CORES`, where 0 or unset means every core. The
/// thread count never changes the image.
enum BuilderCommand {
    static let help = """
    Usage: mkportable build --attrs FILE --out DIR [--graph-dir DIR]
           mkportable            (builder mode, run by Nix)

    Builds a portable service image from a derivation's structured
    attributes (.attrs.json) the way the Nix builder does, and writes
    DIR/${pname}_${version}.raw (replacing an image of that name).

    Options:
      --attrs FILE      the attributes JSON, as Nix writes it for a
                        derivation with __structuredAttrs = true.
      --out DIR         the output directory (made if missing).
      --graph-dir DIR   where text-form reference graphs are (files named
                        after the exportReferencesGraph keys that the JSON
                        does not hold). Default: the directory of FILE.
      -h, --help        show this help.

    Replaying a Nix build: `nix show-derivation` gives the attributes
    (env.__json) but not the closure, which Nix adds only in the build; put
    it in a text graph file named "closure" in the graph directory (the
    README's "Replaying a build outside Nix" shows how to make it).

    Environment: NIX_BUILD_CORES (threads; 0 or unset: all cores),
    SOURCE_DATE_EPOCH (image mtime; default 0), NIX_STORE (default
    /nix/store).

    Exit status: 0 built; 2 a usage error; 1 any other failure.
    """

    static func run(arguments: [String], environment: [String: String]) -> Int32 {
        do {
            return try runThrowing(arguments: arguments, environment: environment)
        } catch {
            reportError(error, prefix: "mkportable")
            return exitStatus(for: error)
        }
    }

    struct Job {
        var attrsPath: String
        var outDir: String?
        var graphDir: String
        /// Draw a progress bar (outside Nix, on a terminal).
        var progress: Bool
    }

    private static func runThrowing(arguments: [String], environment: [String: String]) throws -> Int32 {
        let job: Job
        if arguments.isEmpty {
            job = try builderJob(environment)
        } else if arguments[0] == "build" {
            guard let j = try buildJob(Array(arguments.dropFirst())) else {
                print(help)
                return 0
            }
            job = j
        } else {
            throw UsageError(message: "unknown command \(arguments[0]); see mkportable --help")
        }

        let attrs = try Attrs.load(path: job.attrsPath)
        guard let outDir = try job.outDir ?? Attrs.outputPath(attrs) ?? environment["out"] else {
            throw CommandFailure(message: "\(job.attrsPath): no outputs.out in the attributes and $out is not set; pass --out DIR")
        }
        let storeDir = environment["NIX_STORE"].flatMap { $0.isEmpty ? nil : $0 } ?? StorePath.defaultStoreDir
        let graphDir = job.graphDir
        let spec = try Attrs.imageSpec(attrs, storeDir: storeDir) { key throws(PortableServiceError) -> [UInt8]? in
            try Attrs.readGraphFile(key: key, directory: graphDir)
        }

        // The spec's settings are checked already; the environment's before the scan.
        let options = try imageOptions(spec, environment: environment, progress: job.progress)
        let form = spec.output
        let root = try Layout.tree(for: spec)

        try makeDirectory(outDir)
        let imagePath = outDir.hasSuffix("/") ? outDir + spec.imageFileName : outDir + "/" + spec.imageFileName
        let fileSystem = fileSystem(spec, mtime: options.mtime, jobs: options.jobs)
        // The output directory is the build's own: whatever is there is replaced.
        let written = try ImageOutput.write(root: root, image: imagePath, options: options,
                                            publishing: Publishing(replace: true, environment: environment),
                                            fileSystem: fileSystem,
                                            form: form, digest: true)
        // The root hash (for a plain image: the one --verity would give) lets
        // two build logs be compared at a glance.
        let counts = [counted(spec.storePaths.count, "store path"), counted(spec.units.count, "unit")]
        let line = ImageOutput.summary(image: imagePath, form: form, written: written, options: options, fileSystem: fileSystem,
                                       extra: counts + ["mtime \(options.mtime)"],
                                       rootHashLabel: form == .plain ? "content digest (verity root hash)" : "root hash")
        fputs("mkportable: \(line)\n", stderr)
        return 0
    }

    static func builderJob(_ environment: [String: String]) throws -> Job {
        let buildTop = environment["NIX_BUILD_TOP"].flatMap { $0.isEmpty ? nil : $0 }
        var candidates: [String] = []
        if let f = environment["NIX_ATTRS_JSON_FILE"], !f.isEmpty { candidates.append(f) }
        if let top = buildTop { candidates.append(top + "/.attrs.json") }
        guard !candidates.isEmpty else {
            throw UsageError(message: "no command given and not run by Nix (neither NIX_ATTRS_JSON_FILE nor NIX_BUILD_TOP is set); use `mkportable build --attrs FILE --out DIR` or `mkportable pack`, see mkportable --help")
        }
        guard let path = candidates.first(where: { access($0, F_OK) == 0 }) else {
            throw CommandFailure(message: "no attributes file at \(candidates.joined(separator: " or ")); the derivation must set __structuredAttrs = true (nix/portable-service.nix does)")
        }
        return Job(attrsPath: path, outDir: nil, graphDir: buildTop ?? dirname(path), progress: false)
    }

    /// `build --attrs FILE --out DIR [--graph-dir DIR]`; nil means: help
    /// was asked for.
    static func buildJob(_ args: [String]) throws -> Job? {
        let usage = "usage: mkportable build --attrs FILE --out DIR"
        var attrs: String?
        var out: String?
        var graphDir: String?
        var cursor = ArgumentCursor(args, command: "mkportable build")
        while let word = try cursor.next() {
            switch word {
            case .option("-h"), .option("--help"): return nil
            case .option("--attrs"): attrs = try cursor.value(of: "--attrs", nonEmpty: true)
            case .option("--out"): out = try cursor.value(of: "--out", nonEmpty: true)
            case .option("--graph-dir"): graphDir = try cursor.value(of: "--graph-dir", nonEmpty: true)
            case .option(let a), .operand(let a):
                throw UsageError(message: "unexpected argument \(a); \(usage) [--graph-dir DIR]")
            }
        }
        guard let attrs else {
            throw UsageError(message: "--attrs FILE is required; \(usage)")
        }
        guard let out else {
            throw UsageError(message: "--out DIR is required; \(usage)")
        }
        return Job(attrsPath: attrs, outDir: out, graphDir: graphDir ?? dirname(attrs), progress: true)
    }

    /// The writer the spec chose; erofs stamps the same mtime squashfs
    /// would and compresses on as many threads.
    static func fileSystem(_ spec: ImageSpec, mtime: UInt32, jobs: Int) -> ImageOutput.FileSystem {
        switch spec.fileSystem {
        case .squashfs: return .squashfs
        case .erofs(let compression): return .erofs(EROFSOptions(compression: compression, mtime: UInt64(mtime), jobs: jobs))
        }
    }

    static func imageOptions(_ spec: ImageSpec, environment: [String: String], progress: Bool) throws -> ImageOptions {
        let mtime = try Settings.sourceDateEpoch(environment, fix: "; unset it for mtime 0") ?? 0
        return ImageOptions(compressor: spec.squash.compressor, blockSize: spec.squash.blockSize,
                            jobs: try Settings.jobs(option: nil, environment: environment), mtime: mtime,
                            progress: progress ? ProgressBar.forTerminal() : nil,
                            notice: { fputs("mkportable: note: \($0)\n", stderr) })
    }

    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) == 0 { return }
        let e = errno
        var st = stat()
        if e == EEXIST {
            if stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR { return }
            throw CommandFailure(message: "\(path): the output path exists and is not a directory; the image goes into a directory there, so remove that file or choose another output")
        }
        let parent = dirname(path)
        let fix: String
        switch e {
        case EACCES, EPERM, EROFS:
            fix = "make \(parent) writable for the user running the build, or choose another output directory"
        case ENOENT:
            fix = "create \(parent) first, or choose another output directory"
        default:
            fix = "choose another output directory"
        }
        throw CommandFailure(message: "\(path): cannot create the output directory (\(Errno(e))); \(fix)")
    }

    static func dirname(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let d = path[..<slash]
        return d.isEmpty ? "/" : String(d)
    }
}
