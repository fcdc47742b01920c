#if canImport(Glibc)
import Glibc
#endif
import PortableService
import SquashFS
import DiskImage

/// `mkportable pack [options] SOURCE_DIR IMAGE`
enum PackCommand {
    static let help = """
    Usage: mkportable pack [options] SOURCE_DIR IMAGE

    Packs the contents of SOURCE_DIR as the root of a squashfs 4.0 image.
    The image depends only on names, entry types, permission bits, sizes,
    contents and link targets: owners become 0:0, every time becomes the
    --mtime value, hard links become separate entries, xattrs are dropped.

    Options:
      --comp STRING       compressor and options, as mksquashfs spells them:
                          "gzip", "xz", "zstd", "lz4", "lzo", with -X
                          options, e.g. "xz -Xbcj x86", "lz4 -Xhc",
                          "zstd -Xcompression-level 19",
                          "gzip -Xcompression-level 6",
                          "lzo -Xalgorithm lzo1x_1".
                          Default: "xz -Xdict-size 100%".
      --block-size SIZE   data block size: a power of two from 4K to 1M,
                          written as bytes (131072) or with K/M (128K, 1M).
                          Default: 1M.
      --jobs N            compression threads, 1 to 1024. Default:
                          $NIX_BUILD_CORES if set and positive, else the
                          number of CPUs (at most 1024 either way). Fewer
                          run, with a note, if the system refuses more.
                          Never changes the image.
      --mtime SECONDS     time stamped on every inode and the superblock.
                          Default: $SOURCE_DATE_EPOCH if set, else 0.
      --exact-blocks      compress every data block exactly as mksquashfs
                          does with --comp. Default (xz without -Xbcj
                          only): blocks of x86 ELF executables and shared
                          objects get the x86 BCJ filter, fragment blocks
                          LZMA2 with pb=0, and the options block announces
                          the x86 filter. Either way, readers need nothing
                          new and the image depends on its input alone.
      --root-mode MODE    octal permission bits of the image root.
                          Default: 0755.
      --verity            also write the dm-verity hash tree and root hash
                          beside IMAGE, which must be named NAME.raw:
                          NAME.verity (veritysetup's format: sha256, 4K
                          data and hash blocks, superblock) and
                          NAME.roothash (the root hash in hex, one line).
                          Salt and UUID derive from the image's definition.
      --ddi               write IMAGE (NAME.raw) as a Discoverable Disk Image
                          instead: a GPT disk with the squashfs in a root
                          partition and its hash tree in root-verity
                          (partition UUIDs from the root hash), and
                          NAME.roothash beside it.
      --arch CPU          architecture of the DDI's partition types, as
                          uname -m or a Nix system names it (x86_64,
                          aarch64, i686, armv7l, riscv64, loongarch64,
                          powerpc64le, s390x). Default: this machine's.
      --force             replace IMAGE (and its sidecars) if it exists
                          and is a regular file (default: refuse; anything
                          else, such as a device or FIFO, is never replaced).
      -h, --help          show this help.

    A progress bar is drawn on stderr only when stderr is a terminal.
    """

    struct Failure: Error { let message: String }

    static func run(arguments: [String], environment: [String: String]) -> Int32 {
        do {
            return try runThrowing(arguments: arguments, environment: environment)
        } catch {
            reportError(error, prefix: "mkportable pack")
            return 1
        }
    }

    private static func runThrowing(arguments: [String], environment: [String: String]) throws -> Int32 {
        var comp = "xz -Xdict-size 100%"
        var compGiven = false
        var blockSizeText = "1M"
        var jobs: Int?
        var mtime: UInt32?
        var rootMode: UInt16 = 0o755
        var force = false
        var exactBlocks = false
        var verity = false
        var ddi = false
        var arch: String?
        var positional: [String] = []

        var i = 0
        func value(_ name: String) throws -> String {
            i += 1
            guard i < arguments.count else { throw Failure(message: "\(name) needs a value; see mkportable pack --help") }
            return arguments[i]
        }
        while i < arguments.count {
            let a = arguments[i]
            switch a {
            case "-h", "--help":
                print(help)
                return 0
            case "--comp":
                comp = try value(a)
                compGiven = true
            case "--block-size": blockSizeText = try value(a)
            case "--jobs": jobs = try Settings.jobsOption(try value(a))
            case "--mtime": mtime = try Settings.seconds(try value(a), what: "--mtime")
            case "--root-mode": rootMode = try Settings.mode(try value(a), what: "--root-mode")
            case "--force": force = true
            case "--exact-blocks": exactBlocks = true
            case "--verity": verity = true
            case "--ddi": ddi = true
            case "--arch": arch = try value(a)
            case "--":
                positional.append(contentsOf: arguments[(i + 1)...])
                i = arguments.count
                continue
            default:
                if a.hasPrefix("-") && a.count > 1 {
                    throw Failure(message: "unknown option \(a); see mkportable pack --help")
                }
                positional.append(a)
            }
            i += 1
        }
        guard positional.count == 2 else {
            throw Failure(message: "expected SOURCE_DIR and IMAGE, got \(positional.count) argument(s); usage: mkportable pack [options] SOURCE_DIR IMAGE")
        }
        let source = positional[0], image = positional[1]

        let blockSize = try setting("--block-size", blockSizeText, parseBlockSize)
        // The default "-Xdict-size 100%" cannot go below xz's 8 KiB minimum;
        // under 8 KiB blocks the default means plain xz (dictionary = block).
        if !compGiven && blockSize < 8192 { comp = "xz" }
        let compressor = try setting("--comp", comp) { (text: String) throws(SquashFSError) in
            try parseCompressor(text, blockSize: blockSize)
        }
        if mtime == nil { mtime = try Settings.sourceDateEpoch(environment) }
        let threads = try Settings.jobs(option: jobs, environment: environment)

        // Before the scan, so that a mistake costs nothing.
        let form: ImageOutput.Form
        if ddi {
            let cpu = arch ?? "this machine's"
            guard let types = arch.map(PartitionTypes.forSystem) ?? DDIFile.hostTypes() else {
                throw Failure(message: "--arch \(cpu): no discoverable partition types known for it; give one of \(PartitionTypes.byCPU.keys.sorted().joined(separator: ", "))")
            }
            form = .ddi(types)
        } else if arch != nil {
            throw Failure(message: "--arch only applies to --ddi; add --ddi or drop --arch")
        } else {
            form = verity ? .veritySidecars : .plain
        }
        for path in try ImageOutput.paths(image: image, form: form) {
            try checkDestination(path, force: force)
        }
        // The image being replaced is no part of the new one, should it lie
        // inside SOURCE_DIR (its temporary file is made after the scan).
        var st = stat()
        let skip = lstat(image, &st) == 0 ? [SkippedFile(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))] : []

        Trace.mark("scanning \(source)")
        // SOURCE_DIR itself may be a symlink to the directory, as
        // mksquashfs allows; links inside it are packed as links.
        guard case .directory(var root) = try scanSource(path: source, followingRoot: true, skipping: skip) else {
            throw Failure(message: "\(source): not a directory; pack takes a directory whose contents become the image root")
        }
        root.mode = rootMode

        let options = ImageOptions(compressor: compressor, blockSize: blockSize,
                                   jobs: threads, mtime: mtime ?? 0,
                                   progress: isatty(2) != 0, adaptive: !exactBlocks, replace: force,
                                   notice: { fputs("mkportable pack: note: \($0)\n", stderr) })
        try write(consume root, to: image, options: options, form: form)
        return 0
    }

    /// A setting the writer parses, its refusal in pack's terms: the
    /// option and the value as given, then the problem
    /// (`--comp "xz -Xfoo": unknown option -Xfoo for xz; accepted: …`).
    static func setting<T>(_ option: String, _ text: String,
                           _ parse: (String) throws(SquashFSError) -> T) throws -> T {
        do {
            return try parse(text)
        } catch {
            guard error.kind == .invalidSetting else { throw error }
            throw Failure(message: "\(option) \(quoted(text)): \(error.message)")
        }
    }

    /// The destination's failures in pack's terms (its option is --force).
    static func checkDestination(_ image: String, force: Bool) throws {
        do {
            try checkImageDestination(image, replace: force)
        } catch {
            if error.kind != .destinationExists { throw error }
            throw Failure(message: "\(image): already exists; pass --force to replace it")
        }
    }

    static func write(_ root: consuming Directory, to image: String, options: ImageOptions, form: ImageOutput.Form) throws {
        do {
            _ = try ImageOutput.write(root: root, image: image, options: options, form: form)
        } catch {
            guard let e = error as? SquashFSError, e.kind == .destinationAppeared else { throw error }
            throw Failure(message: "\(e.path ?? image): appeared while packing; it was left as it is and the new image discarded (pass --force to replace it)")
        }
    }
}
