/// What a mksquashfs user types, and how `mkportable pack` says it: the
/// pointer an unknown option gets, so that `-comp xz` or `-b 1M` is met
/// with the right spelling rather than a bare refusal. Options that name
/// what pack always does (`-noappend`, `-all-root`) say so; options for
/// what pack never does say that instead of pointing at nothing.
enum MksquashfsSpelling {
    /// The hint for `option` (as typed, with one dash), or nil when it is
    /// not a mksquashfs option pack knows of.
    static func hint(for option: String) -> String? {
        guard let entry = table[option] else { return nil }
        return "that is mksquashfs's spelling; mkportable pack \(entry)"
    }

    private static let table: [String: String] = [
        "-comp": "takes --comp STRING, e.g. --comp zstd or --comp \"xz -Xbcj x86\"",
        "-b": "takes --block-size SIZE, e.g. --block-size 128K",
        "-processors": "takes --jobs N",
        "-mem": "needs no memory setting: its memory grows with the number of entries, not with the data",
        "-noappend": "never appends: it writes a new image, and refuses an existing IMAGE unless --force is given",
        "-all-root": "always stores every file as owned by 0:0; drop the option",
        "-root-owned": "always stores every file as owned by 0:0; drop the option",
        "-force-uid": "always stores every file as owned by 0:0; drop the option",
        "-force-gid": "always stores every file as owned by 0:0; drop the option",
        "-no-xattrs": "never stores xattrs; drop the option",
        "-xattrs": "never stores xattrs (the image depends on names, modes, contents and link targets only)",
        "-root-mode": "takes --root-mode MODE, e.g. --root-mode 0755",
        "-mkfs-time": "takes --mtime SECONDS (every inode's and the superblock's time)",
        "-fstime": "takes --mtime SECONDS (every inode's and the superblock's time)",
        "-all-time": "takes --mtime SECONDS (every inode's and the superblock's time)",
        "-reproducible": "is always reproducible; drop the option",
        "-quiet": "takes --quiet",
        "-no-progress": "draws progress only when stderr is a terminal; --quiet also drops the summary line",
        "-info": "prints one summary line; MKPORTABLE_TRACE=1 prints each phase's time and memory",
        "-e": "packs all of SOURCE_DIR and excludes nothing; copy what the image should hold to a directory of its own",
        "-ef": "packs all of SOURCE_DIR and excludes nothing; copy what the image should hold to a directory of its own",
        "-wildcards": "packs all of SOURCE_DIR and excludes nothing; copy what the image should hold to a directory of its own",
        "-keep-as-directory": "packs SOURCE_DIR's contents as the image root; to keep the directory, put it in a parent and pack that",
        "-no-duplicates": "always shares the data of identical files; drop the option",
        "-no-fragments": "always packs small files and tails into fragments; drop the option",
        "-always-use-fragments": "always packs small files and tails into fragments; drop the option",
        "-Xcompression-level": "takes compressor options inside --comp, e.g. --comp \"zstd -Xcompression-level 19\"",
        "-Xdict-size": "takes compressor options inside --comp, e.g. --comp \"xz -Xdict-size 50%\"",
        "-Xbcj": "takes compressor options inside --comp, e.g. --comp \"xz -Xbcj x86\"",
        "-Xhc": "takes compressor options inside --comp, e.g. --comp \"lz4 -Xhc\"",
        "-Xalgorithm": "takes compressor options inside --comp, e.g. --comp \"lzo -Xalgorithm lzo1x_999\"",
    ]
}
