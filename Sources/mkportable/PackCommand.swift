#if canImport(Glibc)
import Glibc
#endif
import SquashFS
import Verity

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
                          "gzip", "xz", "zstd", "lz4", with -X options, e.g.
                          "xz -Xbcj x86", "zstd -Xcompression-level 19",
                          "gzip -Xcompression-level 6", "lz4 -Xhc".
                          Default: "xz -Xdict-size 100%".
      --block-size SIZE   data block size: a power of two from 4K to 1M,
                          written as bytes (131072) or with K/M (128K, 1M).
                          Default: 1M.
      --jobs N            compression threads. Default: $NIX_BUILD_CORES if
                          set and positive, else the number of CPUs. Never
                          changes the image.
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
      --force             replace IMAGE (and its sidecars) if it exists
                          (default: refuse).
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

    static func defaultJobs(_ environment: [String: String]) -> Int {
        if let s = environment["NIX_BUILD_CORES"], let n = Int(s), n > 0 { return n }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    static func parseMtime(_ s: String, what: String) throws -> UInt32 {
        guard let v = UInt32(s) else {
            throw Failure(message: "\(what) \"\(s)\": must be whole seconds since 1970 from 0 to 4294967295")
        }
        return v
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
            case "--jobs":
                let v = try value(a)
                guard let n = Int(v), n >= 1, n <= 1024 else {
                    throw Failure(message: "--jobs \"\(v)\": must be a whole number from 1 to 1024")
                }
                jobs = n
            case "--mtime": mtime = try parseMtime(try value(a), what: "--mtime")
            case "--root-mode":
                let v = try value(a)
                guard let m = UInt16(v, radix: 8), m <= 0o7777 else {
                    throw Failure(message: "--root-mode \"\(v)\": must be octal permission bits from 0 to 7777, e.g. 0755")
                }
                rootMode = m
            case "--force": force = true
            case "--exact-blocks": exactBlocks = true
            case "--verity": verity = true
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

        let blockSize = try parseBlockSize(blockSizeText)
        // The default "-Xdict-size 100%" cannot go below xz's 8 KiB minimum;
        // under 8 KiB blocks the default means plain xz (dictionary = block).
        if !compGiven && blockSize < 8192 { comp = "xz" }
        let compressor = try parseCompressor(comp, blockSize: blockSize)
        if mtime == nil, let epoch = environment["SOURCE_DATE_EPOCH"], !epoch.isEmpty {
            mtime = try parseMtime(epoch, what: "SOURCE_DATE_EPOCH")
        }

        let sidecars = verity ? try SidecarPaths(image: image) : nil
        for path in [image] + (sidecars.map { [$0.verity, $0.roothash] } ?? []) {
            var st = stat()
            if lstat(path, &st) == 0 {
                if (st.st_mode & S_IFMT) == S_IFDIR {
                    throw Failure(message: "\(path): is a directory; give the path of the image file to write")
                }
                if !force {
                    throw Failure(message: "\(path): already exists; pass --force to replace it")
                }
            }
        }

        Trace.mark("scanning \(source)")
        guard case .directory(var root) = try scanSource(path: source) else {
            throw Failure(message: "\(source): not a directory; pack takes a directory whose contents become the image root")
        }
        root.mode = rootMode

        let options = ImageOptions(compressor: compressor, blockSize: blockSize,
                                   jobs: jobs ?? defaultJobs(environment), mtime: mtime ?? 0,
                                   progress: isatty(2) != 0, adaptive: !exactBlocks)
        var observer: VeritySidecarWriter?
        if let sidecars {
            let seed = VeritySeed.seed(root: root, options: options)
            observer = VeritySidecarWriter(paths: sidecars, parameters: VerityParameters(seed: seed))
        }
        _ = try writeImage(root: consume root, to: image, options: options, observer: observer)
        if let observer {
            do {
                try observer.publish()
            } catch {
                // The image alone would pass for one without verity.
                if let sidecars { for p in [image, sidecars.verity, sidecars.roothash] { unlink(p) } }
                throw error
            }
        }
        return 0
    }
}
