"""Measuring: one run of one tool (wall clock, user+sys CPU from wait4's
rusage, peak RSS from GNU time, other processes' CPU from /proc/stat), and
the rounds that run every measurement with the tool order rotating."""

import hashlib
import os
import shutil
import statistics
import subprocess
import time

from .common import MB, log, sha256_file
from .inputs import warm
from .tools import TOOLS, available, command_for, image_path, sidecar_paths

CLK_TCK = os.sysconf("SC_CLK_TCK")
TIME = "/usr/bin/time"
CPUS = os.cpu_count() or 1


class Measurement:
    """One tool on one input with one compressor setting."""

    def __init__(self, tool, input_name, setting, src):
        self.tool, self.input_name, self.setting, self.src = tool, input_name, setting, src
        self.samples = []    # dicts: wall, cpu, user, sys, rss, size, others
        self.hashes = []     # sha256 of the image, per run (mkportable only)
        self.sidecar_hashes = []  # sha256 over the sidecars, per run (--verity, --ddi)
        self.error = None
        self.verified = None  # None: not checked; else (ok, message)

    @property
    def key(self):
        return f"{self.input_name}.{self.setting}.{self.tool}"

    def median(self, field):
        vals = [s[field] for s in self.samples if s[field] is not None]
        return statistics.median(vals) if vals else None


def cpu_ticks():
    """(non-idle ticks of all CPUs) from /proc/stat, or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal ...
    return sum(fields[:3]) + sum(fields[5:8])


def background(samples):
    """Other processes' CPU use during each sample, % of all CPUs."""
    return [s["others"] / (s["wall"] * CPUS) * 100 for s in samples if s["others"] is not None]


def fresh_outputs(m, args):
    """Deletes what an earlier run wrote; the nixpkgs pipeline starts from an
    empty directory."""
    image = image_path(m, args)
    for p in [image, *sidecar_paths(m, image)]:
        if os.path.exists(p):
            os.unlink(p)
    if m.tool == "nixpkgs":
        build = os.path.join(args.workdir, "nixpkgs-build")
        if os.path.exists(build):
            shutil.rmtree(build)
        os.makedirs(build)
    return image


def timed_run(cmd, env, logf):
    """Runs cmd under GNU time: (exit status, wall s, rusage, other CPU s or
    None, peak RSS KiB or None)."""
    full_env = dict(os.environ)
    full_env.update(env)
    timef = logf + ".time"
    if os.path.exists(timef):
        os.unlink(timef)
    # GNU time measures the peak RSS: a child forked from this (large)
    # Python process would inherit its high-water mark through exec.
    timed = [TIME, "-f", "%M", "-o", timef, *cmd]
    with open(logf, "wb") as out:
        ticks0 = cpu_ticks()
        t0 = time.perf_counter()
        proc = subprocess.Popen(timed, env=full_env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        ticks1 = cpu_ticks()
    others = None
    if ticks0 is not None and ticks1 is not None:
        others = max(0.0, (ticks1 - ticks0) / CLK_TCK - (ru.ru_utime + ru.ru_stime))
    try:
        with open(timef) as f:
            rss_kib = int(f.read().split()[-1])
    except (OSError, ValueError, IndexError):
        rss_kib = None
    return os.waitstatus_to_exitcode(status), wall, ru, others, rss_kib


def cold_read(image, fstype, args):
    """Reads the whole tree of `image` back through the kernel, cold: mounts
    it (loop, read-only), syncs and drops the page, dentry and inode caches
    (the image file's pages too), then times `tar -c` of the mount point
    into a pipe (GNU tar reads no file data when it writes to /dev/null
    itself). (seconds, None) or (None, the problem); needs root."""
    mnt = os.path.join(args.workdir, "mnt")
    os.makedirs(mnt, exist_ok=True)
    r = subprocess.run(["mount", "-t", fstype, "-o", "loop,ro", image, mnt], capture_output=True, text=True)
    if r.returncode != 0:
        return None, f"mount -t {fstype} -o loop,ro failed: {r.stderr.strip()[-300:]}"
    try:
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        t0 = time.perf_counter()
        tar = subprocess.Popen(["tar", "-cf", "-", "-C", mnt, "."], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        total = 0
        while chunk := tar.stdout.read(1 << 20):
            total += len(chunk)
        err = tar.stderr.read().decode(errors="replace")
        code = tar.wait()
        elapsed = time.perf_counter() - t0
    except OSError as e:
        return None, f"{e} (the cold read needs root)"
    finally:
        subprocess.run(["umount", mnt], capture_output=True)
    if code != 0 or total == 0:
        return None, f"tar over the mounted image exited {code} after {total} bytes: {err.strip()[-300:]}"
    return elapsed, None


def run_once(m, args, run_index):
    image = fresh_outputs(m, args)
    cmd, env = command_for(m, args, image)
    logf = os.path.join(args.workdir, "logs", f"{m.key}.run{run_index}.log")
    code, wall, ru, others, rss_kib = timed_run(cmd, env, logf)
    if code not in TOOLS[m.tool].exit_ok:
        with open(logf, "rb") as f:
            tail = f.read()[-2000:].decode(errors="replace")
        m.error = f"exit status {code} on run {run_index + 1}: {tail.strip()}"
        log(f"FAILED {m.key}: {m.error}")
        return None
    if rss_kib is None:
        m.error = f"could not read the peak RSS from {logf}.time"
        return None
    writes = TOOLS[m.tool].image is not None
    m.samples.append({"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "user": ru.ru_utime, "sys": ru.ru_stime,
                      "rss": rss_kib * 1024, "size": os.path.getsize(image) if writes else None,
                      "others": others, "load1": os.getloadavg()[0]})
    if TOOLS[m.tool].cold_read:
        read, err = cold_read(image, TOOLS[m.tool].image, args)
        if err:
            m.error = f"cold read on run {run_index + 1}: {err}"
            log(f"FAILED {m.key}: {m.error}")
            return None
        m.samples[-1]["read"] = read
    if TOOLS[m.tool].mkportable and writes:
        m.hashes.append(sha256_file(image).hexdigest())
        sides = sidecar_paths(m, image)
        if sides:
            h = hashlib.sha256()
            for p in sides:
                if not os.path.exists(p):
                    m.error = f"run {run_index + 1} wrote no {os.path.basename(p)}"
                    return None
                sha256_file(p, h)
            m.sidecar_hashes.append(h.hexdigest())
    return image


def plan_measurements(bench):
    """Every (input, setting, tool) the chosen cases need, once: cases that
    share a run (closure-xz and nixpkgs both time mkportable on the closure
    with xz) share its measurement."""
    for case in bench.cases:
        for inp in bench.inputs_of(case):
            for tool in case.tools:
                k = (inp, case.setting, tool)
                if not available(tool, bench.args) or k in bench.ms:
                    continue
                bench.ms[k] = Measurement(tool, inp, case.setting, bench.inputs[inp][0])


def measure(bench):
    """Phase 3: --runs rounds; each round warms each input's files, then
    runs its measurements, the order rotating by one every round (A,B then
    B,A), so drift in the machine's load hits every tool alike."""
    args = bench.args
    by_input = {}
    for (inp, _, _), m in bench.ms.items():
        by_input.setdefault(inp, []).append(m)
    log(f"{len(bench.ms)} measurements x {args.runs} runs; workdir {args.workdir}")
    for r in range(args.runs):
        for inp, group in by_input.items():
            n = warm(bench.inputs[inp][0])
            log(f"round {r + 1}/{args.runs}: {inp}: warmed {n} files")
            order = group[r % len(group):] + group[:r % len(group)]
            for m in order:
                if m.error:
                    continue
                log(f"  {m.key} ...")
                image = run_once(m, args, r)
                if image and m.samples:
                    s = m.samples[-1]
                    size = f"{s['size']:,} bytes" if s["size"] is not None else "no image"
                    log(f"  {m.key}: wall {s['wall']:.2f} s, cpu {s['cpu']:.2f} s, rss {s['rss'] / MB:.1f} MB, {size}")
    build = os.path.join(args.workdir, "nixpkgs-build")
    if os.path.exists(build):
        shutil.rmtree(build)
