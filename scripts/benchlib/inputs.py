"""The inputs the cases run on, built once under --workdir and reused while
unchanged: {name: (path, stats, label)}. Kinds: "closure" (closure.py; a
50 MB subset with --quick), "small" (smallfiles.py), "steps" (the scaling
subsets of the closure), and "pair-lz4", "pair-zstd" (two images of the
closure, with that compressor, that differ in one file, for the diff cases)."""

import os
import shutil
import subprocess

from .closure import ClosurePlan, build_closure, build_subset
from .common import LAYOUT_VERSION, log, reusable, write_marker
from .smallfiles import build_small


def warm(root):
    """Read every file under root (or the files a pair input names) once, so
    every tool starts on a warm cache."""
    paths = root if isinstance(root, tuple) else (root,)
    n = 0
    for top in paths:
        walked = [(os.path.dirname(top), [], [os.path.basename(top)])] if os.path.isfile(top) else os.walk(top)
        for dirpath, _, filenames in walked:
            for name in filenames:
                p = os.path.join(dirpath, name)
                if os.path.islink(p):
                    continue
                with open(p, "rb", buffering=0) as f:
                    while f.read(1 << 20):
                        pass
                n += 1
    return n


def prepare_inputs(bench):
    """Phase 2: the closure (or its --quick subset), the small-file tree and
    the scaling subsets the chosen cases run on, built or reused."""
    args, inputs = bench.args, bench.inputs
    kinds = {c.input for c in bench.cases}
    pairs = sorted(k for k in kinds if k.startswith("pair-"))
    plan = ClosurePlan(args) if kinds & {"closure", "steps"} or pairs else None
    full = []

    def full_closure():
        if not full:
            full.append(build_closure(args, plan))
        return full[0]

    budget = args.closure_budget
    if plan:
        bench.store_info = plan.store_info
        sub = build_subset(args, plan, budget) if budget else None
        closure, cstats = sub or full_closure()
        inputs["closure"] = (closure, cstats, "closure" + (f" ({budget:g} MB subset)" if sub else ""))
    if "small" in kinds:
        d, st = build_small(args, args.small_files)
        inputs["small"] = (d, st, f"{args.small_files:,} small files")
    if "steps" in kinds:
        for mb in args.step_list:
            sub = build_subset(args, plan, mb)
            d, st = sub or full_closure()
            if d == inputs["closure"][0]:
                name = "closure"
            else:
                name = f"step{mb:g}"
                inputs[name] = (d, st, f"{mb:g} MB subset of the closure" if sub else "whole closure")
            bench.steps.append((mb, name, sub is None))
    for kind in pairs:
        inputs[kind] = build_pair(args, *inputs["closure"][:2], kind[len("pair-"):])


def build_pair(args, tree, stats, comp):
    """Two images of `tree` made by mksquashfs (`comp`, 1M blocks; made by
    mksquashfs so that they do not change with the mkportable under test;
    by mkfs.erofs for `comp` "erofs-Z")
    that differ in one file: its largest file, whose last byte is flipped
    in a copy of the tree (hard links for everything else).
    ((A, B), stats, label)."""
    dest = os.path.join(args.workdir, f"pair-{comp}")
    marker = dest + ".json"
    want = {"layout": LAYOUT_VERSION, "tree": tree, "stats": stats, "comp": comp}
    images = (os.path.join(dest, "a.img"), os.path.join(dest, "b.img"))
    label = f"two {comp} images of the {os.path.basename(tree)} input differing in one file"
    if reusable(args, marker, want, *images):
        return images, stats, label
    log(f"making two images that differ in one file in {dest}")
    if os.path.exists(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)
    changed = os.path.join(dest, "changed")
    subprocess.run(["cp", "-al", tree, changed], check=True)
    sizes = [(os.path.getsize(os.path.join(d, f)), os.path.join(d, f)) for d, _, fs in os.walk(changed) for f in fs
             if not os.path.islink(os.path.join(d, f))]
    victim = max(sizes)[1]
    with open(victim, "rb") as f:
        data = bytearray(f.read())
    data[-1] ^= 0xFF
    os.unlink(victim)  # a new file, not the hard-linked original
    with open(victim, "wb") as f:
        f.write(data)
    for src, image in ((tree, images[0]), (changed, images[1])):
        if comp.startswith("erofs-"):
            # An erofs pair ("pair-erofs-Z"): mkfs.erofs 1.9.3 with its
            # smallest layout, so the reader's fragments, dedupe and
            # inline tails are all in the measurement.
            subprocess.run([args.exes["mkfs.erofs"], f"-z{comp[len('erofs-'):]}", "-Eall-fragments,dedupe,ztailpacking",
                            "--all-root", "-T0", "-Uclear", "--quiet", image, src], check=True)
            continue
        subprocess.run(["mksquashfs", src, image, "-noappend", "-all-root", "-comp", comp, "-b", "1M",
                        "-no-progress", "-quiet"], check=True, env=dict(os.environ, SOURCE_DATE_EPOCH="0"))
    shutil.rmtree(changed)
    write_marker(marker, {"key": want})
    log(f"pair-{comp}: " + ", ".join(f"{os.path.basename(i)} {os.path.getsize(i):,} bytes" for i in images))
    return images, stats, label
