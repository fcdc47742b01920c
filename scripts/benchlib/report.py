"""The Markdown report: the machine and tools, the method, the inputs, the
targets, each case's results (blocks.py), the commands as run and the
failures."""

import hashlib
import os
import platform
import shlex
import subprocess
import sys

from .common import MB, REPO
from .tools import command_for, image_path, show_command, title
from .verity import CHECKS


def tool_version(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        return f"unavailable ({e})"
    text = (r.stdout or r.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def machine_info():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "unknown"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or str(os.cpu_count())
    os_name = "unknown"
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    os_name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return {"nproc": nproc, "cpu": cpu, "kernel": f"{platform.system()} {platform.release()} {platform.machine()}",
            "memory": mem, "os": os_name}


def git_info():
    try:
        rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no", "--", "Sources",
                                "Package.swift"], capture_output=True, text=True).stdout.strip()
        return rev + (" with uncommitted changes in Sources/" if dirty else "")
    except OSError:
        return "unknown"


def report_head(w, bench, started, elapsed, loads):
    args, mi = bench.args, machine_info()
    w("# mkportable benchmarks")
    w("")
    w(f"Produced by `scripts/bench{(' ' + shlex.join(sys.argv[1:])) if sys.argv[1:] else ''}` on "
      f"{started.strftime('%Y-%m-%d %H:%M UTC')} in {elapsed / 60:.1f} minutes. "
      "Regenerate with the same command; see `scripts/bench --help`.")
    w("")
    w("## Machine")
    w("")
    w(f"- CPUs (`nproc`): {mi['nproc']}; CPU: {mi['cpu']}; memory: {mi['memory']}")
    w(f"- Kernel: {mi['kernel']}; OS: {mi['os']}")
    w(f"- Load average (1/5/15 min) at start: {' / '.join(f'{x:.2f}' for x in loads[0])}; "
      f"at end: {' / '.join(f'{x:.2f}' for x in loads[1])}. The machine is shared (other builds may run), so "
      "each table also gives the median CPU use of everything else during the runs, as a share of all "
      "CPUs (\"background CPU %\", from /proc/stat minus the tool's own CPU time).")
    w("")
    w("## Tools")
    w("")
    note = bench.build_note
    if note is None:
        note = (f"working tree at {git_info()}" if args.mkportable.startswith(REPO + os.sep)
                else "binary from outside this checkout")
    with open(args.mkportable, "rb") as f:
        bin_sha = hashlib.sha256(f.read()).hexdigest()
    w(f"- mkportable: `{tool_version([args.mkportable, '--version'])}`, {note} "
      f"(`{args.mkportable}`, sha256 `{bin_sha[:16]}…`)")
    w(f"- mksquashfs (Debian): `{tool_version([args.exes['mksquashfs'], '-version'])}`")
    anchor = args.exes.get("mksquashfs-anchor")
    w(f"- mksquashfs (anchors): `{tool_version([anchor, '-version'])}` (`{anchor}`)" if anchor else
      f"- mksquashfs (anchors): not found in `{args.anchors}` (build it with `../shared/anchors/build`, "
      "then pass --anchors PREFIX/bin)")
    w(f"- gensquashfs: `{tool_version(['gensquashfs', '--version']) if args.exes['gensquashfs'] else 'not installed'}`")
    w(f"- unsquashfs (verification): `{tool_version(['unsquashfs', '-version'])}`")
    if any(t in CHECKS for (_, _, t) in bench.ms):
        w(f"- veritysetup (verification): `{tool_version(['veritysetup', '--version'])}`")
    w(f"- cp: `{tool_version(['cp', '--version'])}`; Python {platform.python_version()}")
    w("")


def report_method(w, bench):
    args = bench.args
    w("## Method")
    w("")
    w(f"- Every tool: {args.jobs} compression jobs, 1M blocks, all files owned by root, timestamps 0. "
      "Settings: xz = `xz -Xdict-size 100%` (portableService's default), zstd = level 15 (each tool's default).")
    w(f"- {args.runs} timed run(s) per tool and input; tables give medians and the ratio of medians to "
      "the case's baseline (× columns; < 1 means mkportable is faster/smaller). The baseline of the "
      "mksquashfs cases is the anchor: the faster (median wall) of Debian's mksquashfs and the anchors' "
      "(`../shared/anchors/build`), measured side by side in the same rounds. Runs are interleaved round by round, "
      "tool order rotating, so drift in machine load hits every tool alike. The targets use the ratio of "
      "medians; an (info) row beside each wall target gives the median of the per-round ratios, which "
      "cancels slow spells of the shared host that last about one round.")
    w("- Page cache: not dropped (not possible reliably here). Instead every file of the input is read once "
      "before each round, so all tools start on a warm cache; images are written to the same file system "
      "(page cache, no fsync).")
    w(f"- Raw samples of this run: `{os.path.join(args.workdir, 'results.json')}`.")
    w("- Wall time: monotonic clock around the process. CPU time: user+sys from the child's rusage (wait4(2)). "
      "Peak RSS: GNU time's `%M` (each command runs under `/usr/bin/time -f %M`; a child forked straight from "
      "the Python driver would inherit its memory high-water mark). For the nixpkgs pipeline (one `sh -c`) "
      "CPU is the sum over cp and mksquashfs and peak RSS the largest of them. MB = 10^6 bytes.")
    w("- Correctness: each mkportable image must list (`unsquashfs -lln`) the same paths, modes, owners and "
      "file sizes as mksquashfs's image of the same input"
      + (", and extracting it must reproduce the source tree byte for byte" if args.verify == "data" else "")
      + ". Its sha256 must also be the same in every run (determinism).")
    if any(t in CHECKS for (_, _, t) in bench.ms):
        w("- Verity cases: ratios are to plain `pack` of the same input and setting. `pack --verity`'s image "
          "must be plain pack's byte for byte; its `.verity` must be byte for byte what `veritysetup format` "
          "writes for the salt and UUID in its superblock, with the root hash in `.roothash`; "
          "`veritysetup verify IMAGE IMAGE.verity ROOTHASH` must accept it and refuse a copy with one byte "
          "flipped. `pack --ddi`: `sfdisk --json` must read a GPT with root and root-verity partitions (the "
          "spec's types, UUIDs the root hash's halves), the root partition must be plain pack's image and the "
          "two partitions must pass the same veritysetup checks. Image and sidecars must be the same in every run.")
    w("")


def report_inputs(w, bench):
    args = bench.args
    w("## Inputs")
    w("")
    w("| input | directory | files | dirs | symlinks | bytes |")
    w("|---|---|---:|---:|---:|---:|")
    for name, (d, st, label) in bench.inputs.items():
        shown = " ".join(f"`{p}`" for p in d) if isinstance(d, tuple) else f"`{d}`"
        w(f"| {label} | {shown} | {st['files']:,} | {st['dirs']:,} | {st['symlinks']:,} | {st['bytes']:,} |")
    w("")
    if bench.store_info:
        w("Closure store paths (copied with `cp -a` under `nix/store`; names derived from the package name, "
          "Nix base32), from files every Debian 12 machine with scripts/install-deps' packages and Swift in "
          "/opt/swift has:")
        w("")
        for s in bench.store_info:
            w(f"- `{s['name']}`: {s['files']:,} files, {s['dirs']:,} dirs, {s['bytes'] / MB:.1f} MB, "
              f"from {s['source']}")
        w("")
    if "small" in bench.inputs:
        w(f"The small-file tree: seed {args.seed}; sizes 0–4096 bytes, exponentially distributed with mean 512 "
          "(median about 355), text-like content (Zipf-distributed pseudo-words in lines, sliced from a 32 MB "
          "generated corpus; xz compresses it about 3.5:1 at about the speed of Python source); about 16 files "
          "per directory in a random tree at most 8 levels deep; 8% of the "
          "files are executable.")
        w("")


def report_targets(w, bench):
    w("## Targets")
    w("")
    w("| case | measure | target | measured | result |")
    w("|---|---|---|---|---|")
    by_name = {c.name: c for c in bench.cases}
    for name in bench.args.chosen:  # in the order asked for
        for case_, what, target, measured, ok in (r for t in by_name[name].targets for r in t.rows(by_name[name], bench)):
            w(f"| {case_} | {what} | {target} | {measured} | "
              f"{'pass' if ok else ('miss' if ok is False else 'no data')} |")
    w("")


def report_commands_and_failures(w, bench):
    args = bench.args
    w("## Commands")
    w("")
    w("Exactly as run (image paths are deleted before each run; the nixpkgs pipeline starts from an empty "
      f"`{os.path.join(args.workdir, 'nixpkgs-build')}`):")
    w("")
    w("```sh")
    for (inp, setting, tool), m in bench.ms.items():
        cmd, env = command_for(m, args, image_path(m, args))
        w(f"# {bench.inputs[inp][2]}, {setting}: {title(tool)}")
        w(show_command(cmd, env))
    w("```")
    w("")
    failures = failed(bench)
    if failures:
        w("## Failures")
        w("")
        for m in failures:
            w(f"- `{m.key}`: {m.error or (m.verified[1] if m.verified and not m.verified[0] else 'non-deterministic image')}")
        w("")


def failed(bench):
    return [m for m in bench.ms.values() if m.error or (m.verified and not m.verified[0])
            or len(set(m.hashes)) > 1 or len(set(m.sidecar_hashes)) > 1]


def report(bench, started, elapsed, loads):
    """Phase 5: the Markdown report."""
    out = []
    w = out.append
    report_head(w, bench, started, elapsed, loads)
    report_method(w, bench)
    report_inputs(w, bench)
    report_targets(w, bench)
    w("## Results")
    w("")
    for case in bench.cases:  # in the table's order
        case.block(w, case, bench)
    report_commands_and_failures(w, bench)
    return "\n".join(out)
