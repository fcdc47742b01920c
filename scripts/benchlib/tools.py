"""The tools table: how each tool is run, what it writes and how its
output is checked. A new tool is one row of TOOLS.

Debian's mksquashfs (4.5.1 on Debian 12) and the one from the reference
tools (`../shared/anchors/build`: mksquashfs 4.7.5) both run; in every case
the faster of the two is the anchor that ratios are taken to."""

import os
import shlex
import shutil
import subprocess
import tempfile

# Compressor settings, in each tool's own spelling. Block size 1M for all.
# zstd: all three tools default to level 15; it is left implicit everywhere.
SETTINGS = {
    "xz": {
        "title": "xz -Xdict-size 100%, 1M blocks",
        "mkportable": ["--comp", "xz -Xdict-size 100%"],
        "mksquashfs": ["-comp", "xz", "-Xdict-size", "100%"],
        # gensquashfs 1.2.0 rejects "dictsize=100%" despite its help text.
        "gensquashfs": ["-c", "xz", "-X", "dictsize=1048576"],
    },
    "zstd": {
        "title": "zstd (level 15, every tool's default), 1M blocks",
        "mkportable": ["--comp", "zstd"],
        "mksquashfs": ["-comp", "zstd"],
        "gensquashfs": ["-c", "zstd"],
    },
    # Only the diff-lz4 case's input (made by mksquashfs) uses it.
    "lz4": {
        "title": "lz4 (no options), 1M blocks",
        "mkportable": ["--comp", "lz4"],
        "mksquashfs": ["-comp", "lz4"],
        "gensquashfs": ["-c", "lz4"],
    },
}
BLOCK = "1M"
BLOCK_BYTES = 1 << 20

# erofs settings: the same compressor (mkfs.erofs's -z spelling) and physical
# cluster size for every erofs tool; mkfs.erofs with its best size options
# measured on the closure: -Efragments,dedupe,ztailpacking (lz4hc, 64 KiB:
# 102,379,520 bytes; issue 20's -Eall-fragments,dedupe,ztailpacking:
# 121,139,200, 18 % more; on a 36 MB slice 12,005,376 against 12,091,392).
# mkfs.erofs 1.9.3 warns
# "multi-threaded dedupe is NOT implemented for now" and then compresses on
# one thread whatever --workers says, so its wall is a one-worker wall.
EROFS_PCLUSTER = 65536
EROFS_BEST = "-Efragments,dedupe,ztailpacking"
SETTINGS.update({
    f"erofs-{z}": {"title": f"erofs, {z}, {EROFS_PCLUSTER // 1024} KiB physical clusters", "erofs": z}
    for z in ("lz4hc", "lzma", "zstd", "deflate", "none")
})

# The erofs-vs-squashfs table: each erofs compressor beside the squashfs one
# that plays its part (lz4hc and lz4 decode alike; lzma and xz are both
# LZMA), both written by mkportable; zstd and deflate only when this
# mkportable's erofs writer has them (probed, see find_executables).
EROFS_VS_SQUASHFS = [("lz4hc", "lz4"), ("lzma", "xz"), ("zstd", "zstd"), ("deflate", "gzip")]
SETTINGS["erofs-vs-squashfs"] = {
    "title": f"each compressor, erofs with {EROFS_PCLUSTER // 1024} KiB physical clusters, squashfs with 1M blocks"}

# Where the reference tools are when `../shared/anchors/build` ran with its
# default prefix.
DEFAULT_ANCHORS = "/var/cache/mkportable-anchors/bin"
# The tools whose faster one is a case's anchor.
MKSQUASHFS = ("mksquashfs", "mksquashfs-anchor")
# As a case's baseline: the faster of MKSQUASHFS on its input and setting.
ANCHOR = "anchor"


def mkportable_command(flags, jobs=None):
    def command(m, args, image):
        s = SETTINGS[m.setting]
        return [args.mkportable, "pack", *s["mkportable"], "--block-size", BLOCK, "--jobs", str(jobs or args.jobs),
                "--mtime", "0", *flags, m.src, image], {}
    return command


def mksquashfs_command(exe):
    def command(m, args, image):
        return ([args.exes[exe], m.src, image, "-noappend", "-all-root", "-processors", str(args.jobs),
                 *SETTINGS[m.setting]["mksquashfs"], "-b", BLOCK, "-no-progress", "-quiet"],
                {"SOURCE_DATE_EPOCH": "0"})
    return command


def gensquashfs_command(m, args, image):
    return (["gensquashfs", "-j", str(args.jobs), *SETTINGS[m.setting]["gensquashfs"], "-b", str(BLOCK_BYTES),
             "--all-root", "--defaults", "uid=0,gid=0,mode=0755,mtime=0", "-q", "-f", "-D", m.src, image], {})


def nixpkgs_command(m, args, image):
    # nixpkgs' portableService buildCommand, minus the rootfs scaffold:
    # copy every store path of the closure, then mksquashfs `nix`.
    build = os.path.join(args.workdir, "nixpkgs-build")
    script = (
        f"cd {shlex.quote(build)} && mkdir -p nix/store && "
        f"for i in {shlex.quote(os.path.join(m.src, 'nix', 'store'))}/*; do "
        f"cp -a \"$i\" nix/store/; done && "
        f"SOURCE_DATE_EPOCH=0 mksquashfs nix {shlex.quote(image)} -quiet -noappend -exit-on-error "
        f"-keep-as-directory -all-root -root-mode 755 -processors {args.jobs} -b {BLOCK} "
        f"{shlex.join(SETTINGS[m.setting]['mksquashfs'])} -no-progress"
    )
    return ["sh", "-c", script], {}


def diff_command(which):
    """A diff of the two images a "pair" input holds (m.src: (A, B))."""
    def command(m, args, image):
        a, b = m.src
        if which == "sqfsdiff":
            return [args.exes["sqfsdiff"], "--old", a, "--new", b], {}
        return [args.mkportable, "diff", a, b], {}
    return command


class Tool:
    """How one tool is run and what it writes.

    command(m, args, image) -> (argv, extra environment); suffix: the output
    file's suffix (pack --verity and --ddi need NAME.raw); sidecars: the
    suffixes of the files it writes beside NAME (NAME.raw's stem);
    mkportable: an image of mkportable's, hashed every run and checked;
    needs: an executable (a key of args.exes) without which the tool is left
    out; image: the format of what it writes, which picks the check
    ("squashfs"; "erofs" is checked with fsck.erofs; None: writes no image,
    as a diff); exit_ok: exit statuses that mean success (a diff tool says
    "different" with 1)."""

    def __init__(self, title, command, suffix=".img", sidecars=(), mkportable=False, needs=None,
                 image="squashfs", exit_ok=(0,), cold_read=False):
        self.title, self.command, self.suffix, self.sidecars = title, command, suffix, sidecars
        self.mkportable, self.needs, self.image, self.exit_ok = mkportable, needs, image, exit_ok
        self.cold_read = cold_read


TOOLS = {
    "mkportable": Tool("mkportable pack", mkportable_command([]), mkportable=True),
    "mkportable-1job": Tool("mkportable pack --jobs 1", mkportable_command([], jobs=1), mkportable=True),
    "mksquashfs": Tool("mksquashfs (Debian)", mksquashfs_command("mksquashfs")),
    "mksquashfs-anchor": Tool("mksquashfs (anchors)", mksquashfs_command("mksquashfs-anchor"),
                              needs="mksquashfs-anchor"),
    "gensquashfs": Tool("gensquashfs", gensquashfs_command, needs="gensquashfs"),
    "nixpkgs": Tool("nixpkgs pipeline (cp -a + mksquashfs)", nixpkgs_command),
    "mkportable-verity": Tool("mkportable pack --verity", mkportable_command(["--verity"]), suffix=".raw",
                              sidecars=(".verity", ".roothash"), mkportable=True),
    "mkportable-ddi": Tool("mkportable pack --ddi", mkportable_command(["--ddi"]), suffix=".raw",
                           sidecars=(".roothash",), mkportable=True),
    "mkportable-diff": Tool("mkportable diff", diff_command("mkportable"), image=None, exit_ok=(0, 1)),
    "sqfsdiff": Tool("sqfsdiff", diff_command("sqfsdiff"), needs="sqfsdiff", image=None, exit_ok=(0, 1)),
    "mkportable-erofs": Tool("mkportable pack --filesystem erofs", lambda m, args, image: mkportable_erofs_command(m, args, image),
                             mkportable=True, image="erofs"),
    "mkfs.erofs": Tool("mkfs.erofs 1.9.3 (anchors)", lambda m, args, image: mkfs_erofs_command(m, args, image),
                       needs="mkfs.erofs", image="erofs"),
    "mkfs.erofs-debian": Tool("mkfs.erofs 1.5 (Debian)", lambda m, args, image: mkfs_erofs_debian_command(m, args, image),
                              needs="mkfs.erofs-debian", image="erofs"),
}


def table_erofs_command(z):
    def command(m, args, image):
        return [args.mkportable, "pack", "--filesystem", "erofs", "--comp", z, "--pcluster-size", str(EROFS_PCLUSTER),
                "--jobs", str(args.jobs), "--mtime", "0", m.src, image], {}
    return command


def table_squashfs_command(comp):
    def command(m, args, image):
        return [args.mkportable, "pack", "--comp", comp, "--block-size", BLOCK, "--jobs", str(args.jobs),
                "--mtime", "0", m.src, image], {}
    return command


for _z, _q in EROFS_VS_SQUASHFS:
    TOOLS[f"table-erofs-{_z}"] = Tool(f"mkportable erofs {_z}", table_erofs_command(_z), mkportable=True,
                                      image="erofs", cold_read=True,
                                      needs=None if _z in ("lz4hc", "lzma") else f"erofs-{_z}")
    TOOLS[f"table-squashfs-{_q}"] = Tool(f"mkportable squashfs {_q}", table_squashfs_command(_q), mkportable=True,
                                         cold_read=True)


def mkportable_erofs_command(m, args, image):
    """mkportable's erofs writer with the setting's compressor and cluster size."""
    return [args.mkportable, "pack", "--filesystem", "erofs", "--comp", SETTINGS[m.setting]["erofs"],
            "--pcluster-size", str(EROFS_PCLUSTER), "--jobs", str(args.jobs), "--mtime", "0", m.src, image], {}


def mkfs_erofs_command(m, args, image):
    """mkfs.erofs 1.9.3 with the same compressor, cluster size and workers,
    its best size options (none of them for "none": mkfs.erofs's -E options
    are for compressed files), all-root, time 0, hard links not shared."""
    z = SETTINGS[m.setting]['erofs']
    packing = [] if z == "none" else [f"-z{z}", f"-C{EROFS_PCLUSTER}", EROFS_BEST]
    return ([args.exes["mkfs.erofs"], *packing,
             f"--workers={args.jobs}", "--all-root", "-T0", "--hard-dereference", "-b4096", image, m.src],
            {"SOURCE_DATE_EPOCH": "0"})


def mkfs_erofs_debian_command(m, args, image):
    """Debian 12's mkfs.erofs 1.5: no workers, no fragments or dedupe (1.6),
    no lzma (built without liblzma); its best is -Eztailpacking."""
    return ([args.exes["mkfs.erofs-debian"], f"-z{SETTINGS[m.setting]['erofs']}", f"-C{EROFS_PCLUSTER}",
             "-Eztailpacking", "--all-root", "-T0", image, m.src], {"SOURCE_DATE_EPOCH": "0"})


def title(tool):
    return TOOLS[tool].title


def find_executables(args):
    """args.exes: the path of every executable a row may need, or None."""
    anchors = args.anchors
    exes = {
        "mksquashfs": shutil.which("mksquashfs"),
        "mksquashfs-anchor": os.path.join(anchors, "mksquashfs"),
        "unsquashfs-anchor": os.path.join(anchors, "unsquashfs"),
        "mkfs.erofs": os.path.join(anchors, "mkfs.erofs"),
        "mkfs.erofs-debian": "/usr/bin/mkfs.erofs",
        "fsck.erofs": os.path.join(anchors, "fsck.erofs"),
        "gensquashfs": shutil.which("gensquashfs"),
        "sqfsdiff": shutil.which("sqfsdiff"),
    }
    args.exes = {k: (v if v and os.access(v, os.X_OK) else None) for k, v in exes.items()}
    for z in ("zstd", "deflate"):
        args.exes[f"erofs-{z}"] = args.mkportable if erofs_compressor_works(args, z) else None


def erofs_compressor_works(args, z):
    """Whether this mkportable's erofs writer takes `--comp z` (zstd and
    deflate came after lz4hc and lzma): it packs a one-file tree."""
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "t"))
        with open(os.path.join(d, "t", "f"), "w") as f:
            f.write("x" * 10000)
        r = subprocess.run([args.mkportable, "pack", "--filesystem", "erofs", "--comp", z, os.path.join(d, "t"),
                            os.path.join(d, "i.img")], capture_output=True)
        return r.returncode == 0


def available(tool, args):
    need = TOOLS[tool].needs
    return not need or args.exes.get(need) is not None


def image_path(m, args):
    return os.path.join(args.workdir, "images", m.key + TOOLS[m.tool].suffix)


def sidecar_paths(m, image):
    stem = image[:-len(TOOLS[m.tool].suffix)]
    return [stem + s for s in TOOLS[m.tool].sidecars]


def command_for(m, args, image):
    return TOOLS[m.tool].command(m, args, image)


def show_command(cmd, env):
    prefix = "".join(f"{k}={shlex.quote(v)} " for k, v in env.items())
    if cmd[:2] == ["sh", "-c"]:
        return prefix + cmd[2]
    return prefix + shlex.join(cmd)
