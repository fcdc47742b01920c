"""The README's view of a report: the part of a file between two marker
lines replaced by the report's targets and results tables (--readme)."""

import os
import re

from .common import REPO, die, log

README_BEGIN, README_END = "<!-- bench:begin -->", "<!-- bench:end -->"


def readme_excerpt(report, report_path):
    """The README's view of a report: when, where and the targets table
    without its (info) rows; each case's results table, notes and commands
    stay in the report, so the README stays short."""
    lines = report.splitlines()
    out = []
    produced = next((l for l in lines if l.startswith("Produced by")), "")
    machine = next((l[2:] for l in lines if l.startswith("- CPUs")), "")
    machine = re.sub(r"^CPUs \(`nproc`\): (\d+)", r"\1 CPUs (`nproc`)", machine)
    stamp = produced.split(" in ")[0] if produced else "Produced by scripts/bench"
    rel = os.path.relpath(os.path.abspath(report_path), REPO) if report_path and report_path != "-" else None
    out.append(f"{stamp}; medians of the runs, 2 jobs, warm page cache.")
    out.append(f"Machine: {machine}." + (f" Method, inputs, every command and the raw samples: [{rel}]({rel})." if rel else ""))
    out.append("")
    section = None
    rows = []
    for l in lines:
        if l.startswith("## "):
            section = l[3:].strip()
            continue
        if section == "Targets" and l.startswith("|") and "(info)" not in l:
            rows.append(l)
    out += compact_targets(rows)
    return "\n".join(out).strip() + "\n"


# The targets table's measures, shortened for the one-row-per-case view.
SHORT = [("CPU at 2 jobs vs at 1 job", "CPU 2 jobs/1 job"), ("wall at 2 jobs vs its CPU / 2", "wall/(CPU/2)"),
         ("wall vs", "wall"), ("CPU vs", "CPU"), ("image size vs", "size"), ("peak RSS", "peak RSS")]


def compact_targets(rows):
    """The targets table with one row per case: each measure as 'name value',
    a miss in bold with its target; the anchor of each case as the report
    names it (the full table with targets stays in the report)."""
    cases = {}
    for row in rows[2:]:  # the header and its rule
        cells = [c.strip() for c in row.strip("|").split("|")]
        if len(cells) != 5:
            continue
        case, measure, target, measured, result = cells
        name = next((s for k, s in SHORT if k in measure), measure)
        anchor = measure.split(" vs ", 1)[1] if name in ("wall", "CPU", "size") and " vs " in measure else None
        if anchor and anchor.startswith("the anchor (") and anchor.endswith(")"):
            anchor = anchor[len("the anchor ("):-1]
        entry = cases.setdefault(case, {"anchor": None, "items": []})
        entry["anchor"] = entry["anchor"] or anchor
        text = f"{name} {measured}"
        entry["items"].append(text if result == "pass" else f"**{text}** (target {target})")
    out = ["| case | against | results (a miss in bold, with its target) |", "|---|---|---|"]
    for case, entry in cases.items():
        out.append(f"| {case} | {entry['anchor'] or ''} | {'; '.join(entry['items'])} |")
    return out


def update_readme(path, report, report_path):
    with open(path) as f:
        text = f.read()
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < begin:
        die(f"{path}: no '{README_BEGIN}' ... '{README_END}' section to replace; add those two lines where the tables go")
    new = text[:begin + len(README_BEGIN)] + "\n" + readme_excerpt(report, report_path) + text[end:]
    with open(path, "w") as f:
        f.write(new)
    log(f"updated the benchmark section of {path}")
