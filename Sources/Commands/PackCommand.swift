#if canImport(Glibc)
import Glibc
#endif
import PortableService
import SquashFS
import SystemIO
import DiskImage
import EROFS

/// `mkportable pack [options] SOURCE_DIR IMAGE`
enum PackCommand {
    static let help = """
    Usage: mkportable pack [options] SOURCE_DIR IMAGE

    Packs the contents of SOURCE_DIR as the root of a squashfs 4.0 image.
    The image depends only on names, entry types, permission bits, sizes,
    contents and link targets: owners become 0:0, every time becomes the
    --mtime value, hard links become separate entries, xattrs are dropped.

    Options:
      --filesystem FS     squashfs (default) or erofs: the file system the
                          image holds. erofs images have 4 KiB blocks and
                          take --comp in mkfs.erofs's -z syntax: "lz4",
                          "lz4hc[,level=N]" (default "lz4hc,level=9"),
                          "lzma[,level=N][,dictsize=N]",
                          "deflate[,level=N]", "zstd[,level=N]" or "none";
                          --block-size and --exact-blocks are squashfs's.
      --pcluster-size N   erofs only: the largest physical cluster in
                          bytes (mkfs.erofs's -C), a multiple of 4096 up
                          to 1048576. Default: 65536.
      --comp STRING       compressor and options, as mksquashfs spells them:
                          "gzip", "xz", "zstd", "lz4", "lzo", with -X
                          options, e.g. "xz -Xbcj x86", "lz4 -Xhc",
                          "zstd -Xcompression-level 19",
                          "gzip -Xcompression-level 6",
                          "lzo -Xalgorithm lzo1x_1".
                          Default: "xz -Xdict-size 100%".
                          xz's -Xdict-size is bytes, NK, NM or N% of the
                          block size; a dictionary equal to the block size
                          (100%, or none given) is taken at every block
                          size, any other must be 8K up to the block size.
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
      -q, --quiet         print nothing on success (default: one line on
                          stdout: the image, its bytes and inodes, the
                          compressor and, with --verity or --ddi, the
                          root hash).
      -h, --help          show this help.

    Options take their value as the next word or after "=" (--comp=zstd).
    mksquashfs's spellings (-comp, -b, -processors, -noappend, ...) are
    refused with a pointer to these. A progress bar is drawn on stderr only
    when stderr is a terminal.

    Exit status: 0 written; 2 a usage error (unknown option, missing
    operand or value, --verity with --ddi); 1 any other failure. Errors
    are one line on stderr, and nothing is left half-written.
    """

    typealias Failure = CommandFailure

    static func run(arguments: [String], environment: [String: String]) -> Int32 {
        do {
            return try runThrowing(arguments: arguments, environment: environment)
        } catch {
            reportError(error, prefix: "mkportable pack")
            return exitStatus(for: error)
        }
    }

    /// What the command line asks for, before anything is checked against
    /// the environment or the disk.
    struct Request {
        var comp = "xz -Xdict-size 100%"
        var blockSize = "1M"
        var jobs: Int?
        var mtime: UInt32?
        var rootMode: UInt16 = 0o755
        var force = false
        var exactBlocks = false
        var verity = false
        var ddi = false
        var quiet = false
        var arch: String?
        var fileSystem = "squashfs"
        var compGiven = false
        var blockSizeGiven = false
        var pclusterSize: Int?
        var source = ""
        var image = ""
    }

    private static func runThrowing(arguments: [String], environment: [String: String]) throws -> Int32 {
        guard let request = try parse(arguments) else {
            print(help)
            return 0
        }
        // Settings and destination before the scan, so that a mistake costs nothing.
        let fileSystem = try fileSystem(request, environment: environment)
        var squashRequest = request
        if case .erofs = fileSystem { squashRequest.comp = "xz"; squashRequest.blockSize = "1M" }
        let options = try imageOptions(squashRequest, environment: environment)
        let form = try outputForm(request)
        for path in try ImageOutput.paths(image: request.image, form: form) {
            try checkDestination(path, force: request.force)
        }
        let outputs = try ImageOutput.paths(image: request.image, form: form)
        let publishing = Publishing(replace: request.force, environment: environment)
        let written = try write(try scanRoot(request, leavingOut: outputs, threads: options.jobs), to: request.image, options: options,
                                publishing: publishing, fileSystem: fileSystem, form: form)
        if !request.quiet {
            print(ImageOutput.summary(image: request.image, form: form, written: written, options: options, fileSystem: fileSystem))
        }
        return 0
    }

    /// `--filesystem` and, for erofs, its settings (`--comp` in mkfs.erofs's
    /// -z syntax; squashfs's block options refused).
    static func fileSystem(_ r: Request, environment: [String: String]) throws -> ImageOutput.FileSystem {
        switch r.fileSystem {
        case "squashfs":
            if r.pclusterSize != nil { throw UsageError(message: "--pcluster-size applies to erofs only; add --filesystem erofs or drop it") }
            return .squashfs
        case "erofs":
            if r.blockSizeGiven || r.exactBlocks {
                throw UsageError(message: "\(r.blockSizeGiven ? "--block-size" : "--exact-blocks") applies to squashfs only; erofs images always have 4 KiB blocks")
            }
            let text = r.compGiven ? r.comp : ServiceRules.erofsDefaultCompression
            let compression: Compression
            do {
                compression = try Compression(parsing: text)
            } catch {
                throw UsageError(message: "--comp \"\(text)\": \(error.message)")
            }
            let mtime = try r.mtime ?? Settings.sourceDateEpoch(environment) ?? 0
            let jobs = try Settings.jobs(option: r.jobs, environment: environment)
            let pcluster = r.pclusterSize ?? EROFSOptions.defaultPclusterSize
            do {
                try EROFSOptions.checkPclusterSize(pcluster)
            } catch {
                throw UsageError(message: "--pcluster-size \(pcluster): \(error.message)")
            }
            return .erofs(EROFSOptions(compression: compression, mtime: UInt64(mtime), pclusterSize: pcluster, jobs: jobs))
        default:
            throw UsageError(message: "--filesystem \"\(r.fileSystem)\": expected squashfs or erofs")
        }
    }

    /// The command line as a `Request`; nil when help is asked for.
    static func parse(_ arguments: [String]) throws -> Request? {
        var r = Request()
        var operands: [String] = []
        var cursor = ArgumentCursor(arguments, command: "mkportable pack")
        while let word = try cursor.next() {
            guard case .option(let o) = word else {
                if case .operand(let a) = word { operands.append(a) }
                continue
            }
            switch o {
            case "-h", "--help": return nil
            case "--comp": r.comp = try cursor.value(of: o); r.compGiven = true
            case "--block-size": r.blockSize = try cursor.value(of: o); r.blockSizeGiven = true
            case "--filesystem": r.fileSystem = try cursor.value(of: o)
            case "--pcluster-size":
                let text = try cursor.value(of: o)
                guard let n = Int(text) else { throw UsageError(message: "--pcluster-size \"\(text)\": expected a number of bytes, e.g. 65536") }
                r.pclusterSize = n
            case "--jobs": r.jobs = try Settings.jobsOption(try cursor.value(of: o))
            case "--mtime": r.mtime = try Settings.seconds(try cursor.value(of: o), what: o)
            case "--root-mode": r.rootMode = try Settings.mode(try cursor.value(of: o), what: o)
            case "--arch": r.arch = try cursor.value(of: o)
            case "--force": r.force = true
            case "--exact-blocks": r.exactBlocks = true
            case "--verity": r.verity = true
            case "--ddi": r.ddi = true
            case "--quiet", "-q": r.quiet = true
            default: throw cursor.unknown(o, hint: MksquashfsSpelling.hint(for: o))
            }
        }
        try checkCombination(r, operands: operands)
        r.source = operands[0]
        r.image = operands[1]
        return r
    }

    /// What the options and operands cannot be together: exactly
    /// SOURCE_DIR and IMAGE; `--verity` or `--ddi`, not both (a DDI holds
    /// its tree in a partition); `--arch` only with `--ddi`.
    static func checkCombination(_ r: Request, operands: [String]) throws(UsageError) {
        let usage = "usage: mkportable pack [options] SOURCE_DIR IMAGE"
        switch operands.count {
        case 0: throw UsageError(message: "SOURCE_DIR and IMAGE are missing; \(usage)")
        case 1: throw UsageError(message: "IMAGE is missing after \(operands[0]); \(usage)")
        case 2: break
        default: throw UsageError(message: "expected SOURCE_DIR and IMAGE, got \(operands.count) operands (\(operands.joined(separator: " "))); \(usage)")
        }
        if r.verity && r.ddi {
            throw UsageError(message: "--verity and --ddi exclude each other: --ddi already puts the hash tree in the disk's root-verity partition and writes NAME.roothash; give one of them")
        }
        if r.arch != nil && !r.ddi {
            throw UsageError(message: "--arch only applies to --ddi; add --ddi or drop --arch")
        }
    }

    /// The writer's settings: block size, compressor, mtime, threads.
    static func imageOptions(_ r: Request, environment: [String: String]) throws -> ImageOptions {
        let blockSize = try setting("--block-size", r.blockSize, parseBlockSize)
        let compressor = try setting("--comp", r.comp) { (text: String) throws(SquashFSError) in
            try parseCompressor(text, blockSize: blockSize)
        }
        let mtime = try r.mtime ?? Settings.sourceDateEpoch(environment) ?? 0
        let threads = try Settings.jobs(option: r.jobs, environment: environment)
        return ImageOptions(compressor: compressor, blockSize: blockSize,
                            jobs: threads, mtime: mtime,
                            progress: ProgressBar.forTerminal(), adaptive: !r.exactBlocks,
                            notice: { fputs("mkportable pack: note: \($0)\n", stderr) })
    }

    /// Plain, with verity sidecars, or a DDI for `--arch` (default: this
    /// machine's).
    static func outputForm(_ r: Request) throws -> ImageOutput.Form {
        if r.ddi {
            guard let types = r.arch.map(PartitionTypes.forSystem) ?? DDIFile.hostTypes() else {
                throw Failure(message: "--arch \(r.arch ?? "this machine's"): no discoverable partition types known for it; give one of \(PartitionTypes.byCPU.keys.sorted().joined(separator: ", "))")
            }
            return .ddi(types)
        }
        return r.verity ? .veritySidecars : .plain
    }

    /// SOURCE_DIR as the image root. SOURCE_DIR itself may be a symlink to
    /// the directory, as mksquashfs allows; links inside it are packed as
    /// links. The scan lists directories on `threads` threads.
    static func scanRoot(_ r: Request, leavingOut outputs: [String], threads: Int) throws -> Directory {
        // The files being written (the image and its sidecars) are no part
        // of the new image, should they lie inside SOURCE_DIR: left out by
        // their path there, so that a file elsewhere that shares their inode
        // (a hard link) is still packed. Temporary files come after the scan.
        let skip = Set(outputs.compactMap { pathInside(r.source, of: $0) })
        Trace.mark("scanning \(r.source)")
        guard case .directory(var root) = try scanSource(path: r.source, followingRoot: true, skipping: skip, threads: threads) else {
            throw Failure(message: "\(r.source): not a directory; pack takes a directory whose contents become the image root")
        }
        Trace.mark("scanned")
        root.mode = r.rootMode
        return root
    }

    /// `file`'s path below the directory `root` (both resolved through any
    /// symlinks to their directories), or nil when it lies elsewhere.
    static func pathInside(_ root: String, of file: String) -> [UInt8]? {
        let slash = file.lastIndex(of: "/")
        let directory = slash.map { $0 == file.startIndex ? "/" : String(file[..<$0]) } ?? "."
        let name = Array((slash.map { file[file.index(after: $0)...] } ?? file[...]).utf8)
        guard let dir = resolved(directory), let top = resolved(root) else { return nil }
        if dir == top { return name }
        let prefix = top == [UInt8(ascii: "/")] ? top : top + [UInt8(ascii: "/")]
        guard dir.starts(with: prefix) else { return nil }
        return Array(dir[prefix.count...]) + [UInt8(ascii: "/")] + name
    }

    private static func resolved(_ path: String) -> [UInt8]? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return Array(UnsafeRawBufferPointer(start: p, count: strlen(p)))
    }

    /// A setting the writer parses, its refusal in pack's terms: the
    /// option and the value as given, then the problem
    /// (`--comp "xz -Xfoo": unknown option -Xfoo for xz; accepted: …`).
    static func setting<T>(_ option: String, _ text: String,
                           _ parse: (String) throws(SquashFSError) -> T) throws -> T {
        try Settings.parsed(text, by: parse) { Failure(message: "\(option) \(quoted(text)): \($0)") }
    }

    /// The destination's failures in pack's terms (its option is --force).
    static func checkDestination(_ image: String, force: Bool) throws {
        do {
            try checkImageDestination(image, replace: force)
        } catch is DestinationExists {
            throw Failure(message: "\(image): already exists; pass --force to replace it")
        }
    }

    static func write(_ root: consuming Directory, to image: String, options: ImageOptions, publishing: Publishing,
                      fileSystem: ImageOutput.FileSystem = .squashfs, form: ImageOutput.Form) throws -> ImageOutput.Written {
        do {
            return try ImageOutput.write(root: consume root, image: image, options: options, publishing: publishing,
                                         fileSystem: fileSystem, form: form)
        } catch let e as SystemError where e.kind == .appeared {
            throw Failure(message: "\(e.path): appeared while packing; it was left as it is and the new image discarded (pass --force to replace it)")
        }
    }
}
