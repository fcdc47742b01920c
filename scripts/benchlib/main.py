"""The phases of a bench run, in order: build the tools, prepare the
inputs, measure, verify, report."""

import datetime
import json
import os
import shutil
import subprocess
import time

from .cases import Bench, make_cases
from .cli import parse_args
from .common import MB, REPO, die, log
from .inputs import prepare_inputs
from .measure import TIME, measure, plan_measurements
from .readme import update_readme
from .report import failed, report
from .tools import TOOLS, available, find_executables, title
from .verify import verify_all
from .verity import CHECKS


def build(bench):
    """Phase 1: the mkportable binary (--build-commit, --build or as given),
    and every other tool the chosen cases need."""
    args = bench.args
    if args.build_commit:
        rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--verify", args.build_commit + "^{commit}"],
                             capture_output=True, text=True)
        if rev.returncode != 0:
            die(f"--build-commit {args.build_commit}: not a commit")
        sha = rev.stdout.strip()
        src = os.path.join(args.workdir, f"src-{sha[:12]}")
        if not os.path.isdir(src):
            log(f"exporting {sha[:12]} to {src}")
            os.makedirs(src + ".tmp", exist_ok=True)
            archive = subprocess.Popen(["git", "-C", REPO, "archive", sha], stdout=subprocess.PIPE)
            subprocess.run(["tar", "-x", "-C", src + ".tmp"], stdin=archive.stdout, check=True)
            if archive.wait() != 0:
                die("git archive failed")
            os.replace(src + ".tmp", src)
        log(f"building {sha[:12]} (release) in {src}")
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", os.path.join(src, ".build-bench"),
                        "--product", "mkportable"], cwd=src, check=True)
        args.mkportable = os.path.join(src, ".build-bench", "release", "mkportable")
        bench.build_note = f"commit {sha[:12]}, built release from a clean `git archive` export"
    elif args.build:
        log("building mkportable (release)")
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", os.path.join(REPO, ".build-bench"),
                        "--product", "mkportable"], cwd=REPO, check=True)
    if not os.access(args.mkportable, os.X_OK):
        die(f"{args.mkportable} is missing; build it with `swift build -c release --scratch-path .build-bench "
            f"--product mkportable` or pass --build / --mkportable")
    args.mkportable = os.path.abspath(args.mkportable)
    find_executables(args)
    needed = ["mksquashfs", "unsquashfs", "cp"]
    tools = {t for c in bench.cases for t in c.tools}
    if tools & set(CHECKS):
        needed.append("veritysetup")
    if "mkportable-ddi" in tools:
        needed.append("sfdisk")
    for exe in needed:
        if not shutil.which(exe):
            hint = {"veritysetup": " (Debian: apt-get install cryptsetup-bin)", "sfdisk": " (Debian: fdisk)"}
            die(f"{exe} not found on PATH{hint.get(exe, '')}")
    if not os.access(TIME, os.X_OK):
        die(f"{TIME} (GNU time) is missing: apt-get install time")
    for t in sorted(tools):
        if not available(t, args):
            log(f"leaving out {title(t)}: {TOOLS[t].needs} not found"
                + (f" in {args.anchors} (build it with ../shared/anchors/build)" if "anchor" in TOOLS[t].needs else ""))


def save_raw(bench):
    raw = {m.key: {"tool": m.tool, "input": m.input_name, "setting": m.setting, "src": m.src,
                   "samples": m.samples, "sha256": m.hashes, "sidecars_sha256": m.sidecar_hashes,
                   "error": m.error, "verified": list(m.verified) if m.verified else None}
           for m in bench.ms.values()}
    with open(os.path.join(bench.args.workdir, "results.json"), "w") as f:
        json.dump(raw, f, indent=1)


def main():
    all_cases = make_cases()
    args = parse_args(all_cases)
    bench = Bench(args, [c for c in all_cases if c.name in args.chosen])
    build(bench)
    started, t_start = datetime.datetime.now(datetime.timezone.utc), time.monotonic()
    load_start = os.getloadavg()
    for d in ("images", "logs"):
        os.makedirs(os.path.join(args.workdir, d), exist_ok=True)
    prepare_inputs(bench)
    if args.prepare_only:
        for name, (d, st, label) in bench.inputs.items():
            print(f"{label}: {d}: {st['files']:,} files, {st['dirs']:,} dirs, {st['bytes'] / MB:.1f} MB")
        return 0
    plan_measurements(bench)
    measure(bench)
    verify_all(bench, CHECKS)
    save_raw(bench)
    text = report(bench, started, time.monotonic() - t_start, (load_start, os.getloadavg()))
    print(text)
    if args.output != "-":
        os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
        with open(args.output, "w") as f:
            f.write(text)
        log(f"wrote {args.output}")
    if args.readme:
        update_readme(args.readme, text, args.output, args.readme_keep)
    return 1 if failed(bench) else 0
