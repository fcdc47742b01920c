"""The results sections of the report: each case's table of medians and
ratios, its notes (image checks, determinism, background load), and the
tables of the verity and scaling cases."""

import statistics

from .common import MB, entries
from .measure import background
from .tools import ANCHOR, EROFS_VS_SQUASHFS, MKSQUASHFS, SETTINGS, TOOLS, title


def fmt_s(v):
    return "—" if v is None else f"{v:.2f}"


def fmt_mb(v):
    return "—" if v is None else f"{v / MB:.1f}"


def fmt_bytes(v):
    return "—" if v is None else f"{int(v):,}"


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    return f"{a / b:.3f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def results_table(ms, baseline):
    lines = ["| tool | wall s | CPU s (user+sys) | peak RSS MB | image bytes "
             f"| wall × | CPU × | RSS × | image × | background CPU % |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in ms:
        if m.error or not m.samples:
            lines.append(f"| {title(m.tool)} | FAILED: {m.error or 'no samples'} |||||||||")
            continue
        b = baseline
        bg = background(m.samples)
        lines.append(
            f"| {title(m.tool)} | {fmt_s(m.median('wall'))} | {fmt_s(m.median('cpu'))} "
            f"| {fmt_mb(m.median('rss'))} | {fmt_bytes(m.median('size'))} "
            f"| {fmt_ratio(m.median('wall'), b.median('wall') if b else None)} "
            f"| {fmt_ratio(m.median('cpu'), b.median('cpu') if b else None)} "
            f"| {fmt_ratio(m.median('rss'), b.median('rss') if b else None)} "
            f"| {fmt_ratio(m.median('size'), b.median('size') if b else None)} "
            f"| {f'{statistics.median(bg):.0f}' if bg else '—'} |")
    return lines


def image_notes(m):
    """The check and determinism lines of one mkportable measurement."""
    name = title(m.tool).replace("mkportable pack", "mkportable")
    out = []
    if m.verified:
        out.append(f"- {name} image check: {'OK' if m.verified[0] else 'FAILED'} ({m.verified[1]}).")
    if len(set(m.hashes)) > 1 or len(set(m.sidecar_hashes)) > 1:
        sides = f" (sidecars: {len(set(m.sidecar_hashes))})" if m.sidecar_hashes else ""
        out.append(f"- {name} image NOT deterministic: {len(set(m.hashes))} different sha256{sides} over "
                   f"{len(m.hashes)} runs.")
    elif m.hashes:
        sides = " (and its sidecars)" if m.sidecar_hashes else ""
        out.append(f"- {name} image sha256 `{m.hashes[0][:16]}…`{sides}, identical in all {len(m.hashes)} run(s).")
    return out


def case_block(w, case, bench):
    inp, setting = case.input, case.setting
    ms, inputs = bench.ms, bench.inputs
    group = [ms[(inp, setting, t)] for t in case.tools if (inp, setting, t) in ms]
    if not group:
        return
    baseline = bench.anchor(inp, setting) if case.baseline == ANCHOR else case.baseline
    base = ms.get((inp, setting, baseline))
    base = base if base and base.samples else None
    w(f"### {case.title}")
    w("")
    w(f"Input: {inputs[inp][2]} ({inputs[inp][1]['bytes'] / MB:.1f} MB, "
      f"{entries(inputs[inp][1]):,} entries). "
      f"Setting: {SETTINGS[setting]['title']}. Ratios (×) are to {title(baseline)}"
      + (" (the anchor: the faster mksquashfs here)." if case.baseline == ANCHOR else "."))
    w("")
    for line in results_table(group, base):
        w(line)
    w("")
    for m in group:
        if TOOLS[m.tool].mkportable:
            for line in image_notes(m):
                w(line)
    for line in versus_mksquashfs(group):
        w(line)
    for line in parallel_use(group, bench.args.jobs):
        w(line)
    bgs = [b for m in group for b in background(m.samples)]
    if bgs and statistics.median(bgs) > 10:
        w(f"- Noisy: other processes used a median {statistics.median(bgs):.0f}% of the CPUs during these runs "
          "(up to {:.0f}%); the wall times and ratios are disturbed.".format(max(bgs)))
    w("- wall s per run: " + "; ".join(
        f"{title(m.tool)}: " + ", ".join(f"{s['wall']:.2f}" for s in m.samples) for m in group))
    w("")


def jobs_of(tool, jobs):
    """The --jobs a writer of mkportable's ran with (None: not a writer)."""
    if tool == "mkportable-1job":
        return 1
    return jobs if TOOLS[tool].mkportable else None


def parallel_use(group, jobs):
    """Issue 23's second number for each of mkportable's writers in the
    group: wall / (CPU / jobs), 1.000 when every job's core was busy the
    whole run, above it by the share of the run one or more cores idled
    (a serial start, a drain at the end); the ratio of medians, then each
    round's."""
    out = []
    for m in group:
        n = jobs_of(m.tool, jobs)
        if n is None or m.error or not m.samples:
            continue
        per = [s["wall"] / (s["cpu"] / n) for s in m.samples if s["cpu"] > 0]
        text = f"- {title(m.tool)}: wall / (CPU / {n}) {fmt_ratio(m.median('wall'), m.median('cpu') / n)}×"
        if len(per) > 1:
            text += f" (per round: median {statistics.median(per):.3f}×; " + ", ".join(f"{r:.3f}" for r in per) + ")"
        out.append(text + ".")
    return out


def versus_mksquashfs(group):
    """Each mkportable run of the group against each mksquashfs of it (4.5.1
    and the anchors' 4.7.5), in wall, CPU and peak RSS: the ratio of
    medians, then the median of the per-round ratios and each round's (the
    rounds rotate the tool order, so a slow spell of the host hits both runs
    of a round)."""
    ok = [m for m in group if m.samples and not m.error]
    out = []
    for a in (m for m in ok if TOOLS[m.tool].mkportable):
        for b in (m for m in ok if m.tool in MKSQUASHFS):
            parts = []
            for field, label in (("wall", "wall"), ("cpu", "CPU"), ("rss", "peak RSS")):
                text = f"{label} {fmt_ratio(a.median(field), b.median(field))}×"
                if len(a.samples) == len(b.samples) > 1:
                    per = [x[field] / y[field] for x, y in zip(a.samples, b.samples)]
                    text += f" (per round: median {statistics.median(per):.3f}×; " + ", ".join(
                        f"{r:.3f}" for r in per) + ")"
                parts.append(text)
            out.append(f"- {title(a.tool)} / {title(b.tool)}: " + "; ".join(parts) + ".")
    return out


def verity_block(w, case, bench):
    """case_block, then each --verity/--ddi run's ratios to the plain run of
    the same round (wall, CPU, peak RSS): a slow spell of the shared machine
    that lasts a round hits both."""
    case_block(w, case, bench)
    plain = bench.m(case.input, case.setting, "mkportable")
    if not plain:
        return
    for t in case.tools[1:]:
        m = bench.m(case.input, case.setting, t)
        if not m or len(m.samples) != len(plain.samples):
            continue
        parts = []
        for field, label in (("wall", "wall"), ("cpu", "CPU"), ("rss", "peak RSS")):
            per = [x[field] / y[field] for x, y in zip(m.samples, plain.samples)]
            parts.append(f"{label} {statistics.median(per):.3f}× (" + ", ".join(f"{r:.3f}" for r in per) + ")")
        w(f"- {title(t)} / plain pack, median of the per-round ratios (each round): " + "; ".join(parts) + ".")
    w("")


def scaling_block(w, case, bench):
    inputs = bench.inputs
    w(f"### {case.title}")
    w("")
    w("Each step smaller than the closure is a subset with the closure's mix of content: files grouped by "
      "store path and extension (.pyc, .py, .pm, .so, .a, .swiftmodule, …), each group filling its share of the budget "
      "with whole files, directory by directory in sha256(directory) order (so duplicates come in together "
      "and a step deduplicates like the closure); a file bigger than its group's share (libFoundation.a, "
      "lib_FoundationICU.so, …) comes in as a prefix of the step's fraction of its bytes, so every step "
      "weighs big and small files as the whole closure does. "
      + "The anchor's own s/MB (the faster mksquashfs at each step) is the control, and the targets also give "
      "the deviation of mkportable's s/MB divided by the anchor's. Per-run wall times are in parentheses.")
    w("")
    w("| step | input MB | entries | mkportable wall s (runs) | mkportable s/MB | vs mean | fastest s/MB "
      "| anchor | anchor wall s (runs) | anchor s/MB | wall × | image × | mkportable peak RSS MB "
      "| background CPU % |")
    w("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    per = {}
    for mb, name, _ in bench.steps:
        a = bench.m(name, "xz", "mkportable")
        if a:
            per[name] = a.median("wall") / (inputs[name][1]["bytes"] / MB)
    mean = statistics.mean(per.values()) if per else None

    def runs(m):
        if not m:
            return "—"
        each = ", ".join(f"{smp['wall']:.1f}" for smp in m.samples)
        return f"{m.median('wall'):.2f} ({each})"

    for mb, name, _ in bench.steps:
        st = inputs[name][1]
        a, b = bench.m(name, "xz", "mkportable"), bench.m(name, "xz", ANCHOR)
        mbytes = st["bytes"] / MB
        aw, bw = (a.median("wall") if a else None), (b.median("wall") if b else None)
        bg = [x for m in (a, b) if m for x in background(m.samples)]
        a_rate = f"{aw / mbytes:.4f}" if a else "—"
        a_dev = f"{per[name] / mean - 1:+.1%}" if a else "—"
        a_best = f"{min(smp['wall'] for smp in a.samples) / mbytes:.4f}" if a else "—"
        b_rate = f"{bw / mbytes:.4f}" if b else "—"
        bg_text = f"{statistics.median(bg):.0f} (max {max(bg):.0f})" if bg else "—"
        w(f"| {mb:g} MB | {mbytes:.1f} | {entries(st):,} "
          f"| {runs(a)} | {a_rate} | {a_dev} | {a_best} | {title(b.tool) if b else '—'} | {runs(b)} | {b_rate} "
          f"| {fmt_ratio(aw, bw)} "
          f"| {fmt_ratio(a.median('size') if a else None, b.median('size') if b else None)} "
          f"| {fmt_mb(a.median('rss') if a else None)} | {bg_text} |")
    for mb, name, _ in bench.steps:
        a = bench.ms.get((name, "xz", "mkportable"))
        if a and a.verified and not a.verified[0]:
            w(f"- {mb:g} MB: mkportable image check FAILED: {a.verified[1]}")
        if a and len(set(a.hashes)) > 1:
            w(f"- {mb:g} MB: mkportable image NOT deterministic across runs.")
    w("")


def erofs_vs_squashfs_block(w, case, bench):
    """Issue 20's table: for each compressor, the erofs image beside the
    squashfs one (both mkportable's): size, build wall and CPU, and the
    cold read of the whole tree through the kernel (medians over the
    runs); ratios erofs / squashfs."""
    inp = case.input
    w(f"### {case.title}")
    w("")
    w(f"Input: {bench.inputs[inp][2]} ({bench.inputs[inp][1]['bytes'] / MB:.1f} MB, "
      f"{entries(bench.inputs[inp][1]):,} entries). {SETTINGS[case.setting]['title']}; "
      f"{bench.args.jobs} jobs. Cold read: the image mounted read-only via loop, `sync; echo 3 > "
      "/proc/sys/vm/drop_caches`, then `tar -cf - -C MNT .` into a pipe, timed (the image is read from disk).")
    w("")
    w("| compressor | erofs bytes | squashfs bytes | size × | erofs build s | squashfs build s | build × "
      "| erofs CPU s | squashfs CPU s | erofs cold read s | squashfs cold read s | read × |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for z, q in EROFS_VS_SQUASHFS:
        e, s = bench.m(inp, case.setting, f"table-erofs-{z}"), bench.m(inp, case.setting, f"table-squashfs-{q}")
        if not e and not s:
            continue

        def med(m, field):
            return m.median(field) if m else None

        w(f"| erofs {z} / squashfs {q} | {fmt_bytes(med(e, 'size'))} | {fmt_bytes(med(s, 'size'))} "
          f"| {fmt_ratio(med(e, 'size'), med(s, 'size'))} | {fmt_s(med(e, 'wall'))} | {fmt_s(med(s, 'wall'))} "
          f"| {fmt_ratio(med(e, 'wall'), med(s, 'wall'))} | {fmt_s(med(e, 'cpu'))} | {fmt_s(med(s, 'cpu'))} "
          f"| {fmt_s(med(e, 'read'))} | {fmt_s(med(s, 'read'))} | {fmt_ratio(med(e, 'read'), med(s, 'read'))} |")
    w("")
    for t in case.tools:
        m = bench.ms.get((inp, case.setting, t))
        if m and m.error:
            w(f"- {title(t)}: FAILED: {m.error}")
        elif m:
            for line in image_notes(m):
                w(line)
    left = [z for z, _ in EROFS_VS_SQUASHFS if (inp, case.setting, f"table-erofs-{z}") not in bench.ms]
    if left:
        w(f"- Left out: erofs {', '.join(left)} (this mkportable's erofs writer does not take them).")
    w("")
