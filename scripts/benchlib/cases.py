"""The cases table: what runs on what, and the targets each case checks.
A new case is one row of make_cases()."""

import statistics

from .common import MB
from .blocks import case_block, erofs_vs_squashfs_block, scaling_block, verity_block
from .tools import ANCHOR, EROFS_BEST, EROFS_VS_SQUASHFS, MKSQUASHFS, title


class Bench:
    """What the phases hand on: the arguments, the inputs
    ({name: (path, stats, label)}, scaling steps, closure store paths) and
    the measurements ({(input, setting, tool): Measurement})."""

    def __init__(self, args, cases):
        self.args, self.cases = args, cases
        self.inputs, self.steps, self.store_info = {}, [], []
        self.ms = {}
        self.build_note = None

    def m(self, inp, setting, tool):
        """The measurement, if it has samples and did not fail; `tool` may be
        ANCHOR."""
        if tool == ANCHOR:
            tool = self.anchor(inp, setting)
        m = self.ms.get((inp, setting, tool))
        return m if m and m.samples and not m.error else None

    def anchor(self, inp, setting):
        """The faster (median wall) of the mksquashfs tools that ran on the
        input with the setting; Debian's if none did."""
        ran = [m for m in (self.m(inp, setting, t) for t in MKSQUASHFS) if m]
        return min(ran, key=lambda m: m.median("wall")).tool if ran else MKSQUASHFS[0]

    def step_mb(self, name):
        """The scaling step (MB) whose input is `name`."""
        return next(mb for mb, n, _ in self.steps if n == name)

    def inputs_of(self, case):
        """The input names a case runs on."""
        if case.input == "steps":
            return [name for _, name, _ in self.steps]
        return [case.input]


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


class Ratio:
    """Target: `tool`'s median `field` over `base`'s (a tool or ANCHOR) at
    most `limit`; for wall time, an (info) row with the median of the
    per-round ratios beside it."""

    def __init__(self, field, base, limit, what, tool="mkportable"):
        self.field, self.base, self.limit, self.what, self.tool = field, base, limit, what, tool

    def rows(self, case, bench):
        a, b = bench.m(case.input, case.setting, self.tool), bench.m(case.input, case.setting, self.base)
        r = ratio(a.median(self.field), b.median(self.field)) if a and b else None
        what = self.what
        if self.base == ANCHOR:
            what += f" ({title(bench.anchor(case.input, case.setting))})"
        out = [(case.name, what, f"≤ {self.limit:.2f}×", "—" if r is None else f"{r:.3f}×",
                None if r is None else r <= self.limit)]
        # Rounds run both tools back to back, so a slow spell of the
        # (shared) machine hits both runs of a round; the median of the
        # per-round ratios cancels most of it. Shown beside the target.
        if self.field == "wall" and a and b and len(a.samples) == len(b.samples) > 1:
            paired = statistics.median(x["wall"] / y["wall"] for x, y in zip(a.samples, b.samples))
            out.append((case.name + " (info)", "the same as the median of per-round ratios",
                        f"≤ {self.limit:.2f}×", f"{paired:.3f}×", paired <= self.limit))
        return out


class Parallel:
    """Targets of issue 23: at --jobs N (2 unless told), mkportable's CPU at
    most `limit` times its CPU at one job (when the case runs one job too),
    and its wall at most `limit` times its own CPU / N."""

    def __init__(self, limit=1.03, one_job=True):
        self.limit, self.one_job = limit, one_job

    def rows(self, case, bench):
        n = bench.args.jobs
        two, one = bench.m(case.input, case.setting, "mkportable"), bench.m(case.input, case.setting, "mkportable-1job")
        cpu = ratio(two.median("cpu"), one.median("cpu")) if two and one else None
        wall = ratio(two.median("wall"), two.median("cpu") / n) if two else None
        rows = [(f"CPU at {n} jobs vs at 1 job", cpu)] if self.one_job else []
        rows.append((f"wall at {n} jobs vs its CPU / {n}", wall))
        return [(case.name, what, f"≤ {self.limit:.2f}×", "—" if r is None else f"{r:.3f}×",
                 None if r is None else r <= self.limit)
                for what, r in rows]


class PeakRSS:
    """Target: the tool's largest peak RSS over the runs at most 100 MB."""
    limit = 100 * MB

    def __init__(self, tool="mkportable"):
        self.tool = tool

    def rows(self, case, bench):
        out = []
        for inp in bench.inputs_of(case):
            a = bench.m(inp, case.setting, self.tool)
            v = max(s["rss"] for s in a.samples) if a else None
            label = case.name if case.input != "steps" else f"{case.name} {bench.step_mb(inp):g} MB"
            out.append((label, f"{title(self.tool).replace(' pack', '')} peak RSS (largest run)", "≤ 100 MB",
                        "—" if v is None else f"{v / MB:.1f} MB", None if v is None else v <= self.limit))
        return out


class ScalingSpread:
    """Target: mkportable's s/MB the same at every step (±10%); (info) rows
    with each step's fastest run and with s/MB divided by the anchor's."""

    def rows(self, case, bench):
        def spread(values):
            mean = statistics.mean(values)
            return max(abs(v / mean - 1) for v in values)

        med, best, norm = [], [], []
        for _, name, _ in bench.steps:
            a, b = bench.m(name, "xz", "mkportable"), bench.m(name, "xz", ANCHOR)
            mbytes = bench.inputs[name][1]["bytes"] / MB
            if a:
                med.append(a.median("wall") / mbytes)
                best.append(min(s["wall"] for s in a.samples) / mbytes)
                if b:
                    norm.append(a.median("wall") / b.median("wall"))
        complete = len(med) == len(bench.steps) and med
        dev = spread(med) if complete else None
        out = [(case.name, "mkportable s/MB (medians): largest deviation from the mean of the steps",
                "≤ ±10%", "—" if dev is None else f"±{dev * 100:.1f}%", None if dev is None else dev <= 0.10)]
        runs = bench.args.runs
        if complete and runs > 1:
            dev = spread(best)
            out.append((case.name + " (info)", f"the same with each step's fastest of {runs} runs",
                        "≤ ±10%", f"±{dev * 100:.1f}%", dev <= 0.10))
        if complete and len(norm) == len(med):
            dev = spread(norm)
            out.append((case.name + " (info)", "the same divided by the anchor's s/MB (cancels content "
                        "differences between steps)", "≤ ±10%", f"±{dev * 100:.1f}%", dev <= 0.10))
        return out


class Case:
    """One case: `tools` on `input` ("closure", "small", "steps": the scaling
    subsets, or "pair") with compressor `setting`; ratios in its table are
    to `baseline` (a tool or ANCHOR); `targets` are checked; `block` writes
    its results section."""

    def __init__(self, name, help, input, setting, tools, baseline, title, targets, block=None):
        self.name, self.help, self.input, self.setting = name, help, input, setting
        self.tools, self.baseline, self.title, self.targets = tools, baseline, title, targets
        self.block = block or case_block


SQUASHFS_TOOLS = ["mkportable", *MKSQUASHFS, "gensquashfs"]


def verity_case(setting, tools):
    return Case(f"verity-{setting}",
                f"the closure, {setting} 1M: pack --verity{' and --ddi' if 'mkportable-ddi' in tools else ''} "
                "vs plain pack\n(same runs as closure-" + setting + "'s mkportable, if both are chosen)",
                "closure", setting, ["mkportable", *tools], "mkportable",
                f"verity-{setting}: what dm-verity costs, closure, {setting} 1M",
                [Ratio("wall", "mkportable", 1.03, f"{title(t)} wall vs plain pack", tool=t) for t in tools],
                block=verity_block)


def erofs_case(z, tools, small=False):
    """Issue 20's targets for the erofs writer on the closure (or the small
    files): against mkfs.erofs 1.9.3 with the same compressor, cluster size
    and workers and its best size options, wall ≤ 0.90×, size ≤ 1.00×, RSS
    ≤ 100 MB (Debian's 1.5, which has neither lzma nor workers, beside it
    for lz4hc; nor deflate or zstd). zstd and deflate at mkfs.erofs's
    default levels (3 and 1), which are the writer's too."""
    name, inp = (f"erofs-small-{z}", "small") if small else (f"erofs-{z}", "closure")
    what = "the small files" if small else "the closure"
    return Case(name, f"{what} as erofs, {z}, 64 KiB physical clusters: mkportable vs\n"
                f"mkfs.erofs 1.9.3 {EROFS_BEST}" + (" and Debian's 1.5 -Eztailpacking" if len(tools) > 2 else ""),
                inp, f"erofs-{z}", tools, "mkfs.erofs", f"{name}: {what.split()[-1]}, erofs {z} -C65536",
                [Ratio("wall", "mkfs.erofs", 0.90, "wall vs mkfs.erofs 1.9.3", tool="mkportable-erofs"),
                 Ratio("size", "mkfs.erofs", 1.00, "image size vs mkfs.erofs 1.9.3's best", tool="mkportable-erofs"),
                 PeakRSS("mkportable-erofs")])


def vs_anchor(size_limit):
    return [Ratio("wall", ANCHOR, 0.95, "wall vs the anchor"), Ratio("cpu", ANCHOR, 0.95, "CPU vs the anchor"),
            Ratio("size", ANCHOR, size_limit, "image size vs the anchor"), PeakRSS()]


def diff_case(comp):
    """Issue 19's target: `mkportable diff` in at most half sqfsdiff's wall
    time on two images of the closure that differ in one file."""
    return Case(f"diff-{comp}", f"two {comp} images (1M blocks, by mksquashfs) of the closure that differ in "
                "one file:\nmkportable diff vs sqfsdiff", f"pair-{comp}", comp, ["mkportable-diff", "sqfsdiff"],
                "sqfsdiff", f"diff-{comp}: two {comp} images differing in one file",
                [Ratio("wall", "sqfsdiff", 0.5, "mkportable diff wall vs sqfsdiff", tool="mkportable-diff"),
                 PeakRSS("mkportable-diff")])


def diff_erofs_case(comp):
    """Issue 20's reader: `mkportable diff` on two erofs images of the
    closure that differ in one file (no other tool diffs erofs images, so
    the row is its time and memory, to compare with diff-lz4's)."""
    return Case(f"diff-erofs-{comp}", f"two erofs images (mkfs.erofs 1.9.3, -z{comp} -Eall-fragments,dedupe,"
                "ztailpacking) of the closure that differ in one file:\nmkportable diff", f"pair-erofs-{comp}", comp,
                ["mkportable-diff"], "mkportable-diff", f"diff-erofs-{comp}: two erofs images differing in one file",
                [PeakRSS("mkportable-diff")])


# The threads cases: mkportable at 1 and 2 jobs, and both mksquashfs (at
# --jobs) in the same rotated rounds, so that each table carries issue 23's
# ratios against either version whether or not closure-xz/small-xz run too
# (cases on one input and setting share their measurements).
THREADS_TOOLS = ["mkportable", "mkportable-1job", *MKSQUASHFS]


def threads_targets():
    """Issue 23: at 2 jobs, wall and CPU at most 0.95x the anchor's, memory
    flat; and the 1-to-2-job targets of `Parallel`."""
    return [Parallel(), Ratio("wall", ANCHOR, 0.95, "wall vs the anchor"),
            Ratio("cpu", ANCHOR, 0.95, "CPU vs the anchor"), PeakRSS()]


def make_cases():
    return [
        Case("closure-xz", "closure (~395 MB, ~4,400 entries), xz -Xdict-size 100%, 1M blocks:\n"
             "mkportable, mksquashfs (Debian's and the anchors'), gensquashfs", "closure", "xz", SQUASHFS_TOOLS,
             ANCHOR, "closure-xz: closure, xz 1M", vs_anchor(0.98)),
        Case("closure-zstd", "the same closure with zstd (level 15), 1M blocks", "closure", "zstd", SQUASHFS_TOOLS,
             ANCHOR, "closure-zstd: closure, zstd 1M", [Parallel(one_job=False), *vs_anchor(1.0)]),
        Case("small-xz", "200,000 small files in nested directories, xz 1M", "small", "xz", SQUASHFS_TOOLS, ANCHOR,
             "small-xz: small files, xz 1M",
             [Ratio("wall", ANCHOR, 0.7, "wall vs the anchor"), Ratio("cpu", ANCHOR, 0.95, "CPU vs the anchor"),
              PeakRSS()]),
        Case("small-zstd", "the same small files with zstd (level 15), 1M blocks (issue 23's memory\n"
             "target holds for both compressors)", "small", "zstd", SQUASHFS_TOOLS, ANCHOR,
             "small-zstd: small files, zstd 1M",
             [Ratio("wall", ANCHOR, 0.95, "wall vs the anchor"), Ratio("cpu", ANCHOR, 0.95, "CPU vs the anchor"),
              PeakRSS()]),
        Case("threads-closure", "mkportable at 1 and 2 jobs on the closure, xz 1M, beside both mksquashfs\n"
             "at 2 jobs (issue 23's targets)", "closure", "xz", THREADS_TOOLS, "mkportable-1job",
             "threads-closure: 1 vs 2 jobs, closure, xz 1M", threads_targets()),
        Case("threads-small", "the same on the small files", "small", "xz", THREADS_TOOLS,
             "mkportable-1job", "threads-small: 1 vs 2 jobs, small files, xz 1M", threads_targets()),
        Case("scaling", "50/100/200/400 MB subsets of the closure, xz 1M: mkportable, both mksquashfs", "steps",
             "xz", ["mkportable", *MKSQUASHFS], ANCHOR, "scaling: closure subsets, xz 1M",
             [ScalingSpread(), PeakRSS()], block=scaling_block),
        Case("nixpkgs", "nixpkgs' portableService pipeline (cp -a of the closure + mksquashfs,\n"
             "timed together) vs mkportable, xz 1M", "closure", "xz", ["mkportable", "nixpkgs"], "nixpkgs",
             "nixpkgs: portableService pipeline vs mkportable, xz 1M",
             [Ratio("wall", "nixpkgs", 0.9, "mkportable wall vs nixpkgs pipeline wall")]),
        erofs_case("lz4hc", ["mkportable-erofs", "mkfs.erofs", "mkfs.erofs-debian"]),
        erofs_case("lzma", ["mkportable-erofs", "mkfs.erofs"]),
        erofs_case("zstd", ["mkportable-erofs", "mkfs.erofs"]),
        erofs_case("deflate", ["mkportable-erofs", "mkfs.erofs"]),
        erofs_case("lz4hc", ["mkportable-erofs", "mkfs.erofs"], small=True),
        erofs_case("lzma", ["mkportable-erofs", "mkfs.erofs"], small=True),
        erofs_case("none", ["mkportable-erofs", "mkfs.erofs"], small=True),
        Case("erofs-vs-squashfs", "the closure with each compressor, erofs (64 KiB pclusters) beside squashfs\n"
             "(1M blocks), both by mkportable: size, build time, cold read of the whole\n"
             "tree through the kernel (loop mount, caches dropped; needs root)", "closure", "erofs-vs-squashfs",
             [t for z, q in EROFS_VS_SQUASHFS for t in (f"table-erofs-{z}", f"table-squashfs-{q}")],
             "table-squashfs-lz4", "erofs-vs-squashfs: closure, each compressor", [], block=erofs_vs_squashfs_block),
        verity_case("zstd", ["mkportable-verity", "mkportable-ddi"]),
        verity_case("xz", ["mkportable-verity"]),
        diff_case("lz4"),
        diff_case("zstd"),
        diff_erofs_case("lz4hc"),
    ]
