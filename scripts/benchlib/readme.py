"""The README's view of a report: the part of a file between two marker
lines replaced by the report's targets and results tables (--readme)."""

import os
import re

from .common import REPO, die, log

README_BEGIN, README_END = "<!-- bench:begin -->", "<!-- bench:end -->"


def report_facts(report, report_path):
    """One report's stamp, machine line, link and targets rows (without
    their (info) rows), grouped by case in the report's order."""
    lines = report.splitlines()
    produced = next((l for l in lines if l.startswith("Produced by")), "")
    machine = next((l[2:] for l in lines if l.startswith("- CPUs")), "")
    machine = re.sub(r"^CPUs \(`nproc`\): (\d+)", r"\1 CPUs (`nproc`)", machine)
    stamp = produced.split(" in ")[0] if produced else "Produced by scripts/bench"
    rel = os.path.relpath(os.path.abspath(report_path), REPO) if report_path and report_path != "-" else None
    section, by_case = None, {}
    for l in lines:
        if l.startswith("## "):
            section = l[3:].strip()
        elif section == "Targets" and l.startswith("|") and "(info)" not in l:
            cells = [c.strip() for c in l.strip("|").split("|")]
            if len(cells) == 5 and cells[0] not in ("case", "---"):
                by_case.setdefault(cells[0], []).append(l)
    return {"stamp": stamp, "machine": machine, "link": rel, "cases": by_case}


def readme_excerpt(report, report_path, kept=()):
    """The README's view of a report: when, where and the targets table
    without its (info) rows; each case's results table, notes and commands
    stay in the report, so the README stays short. `kept` are earlier
    reports (text, path): a case this run did not measure keeps its rows
    from the newest of them that has it, and the view says which run gave
    which cases."""
    runs = [report_facts(t, p) for t, p in kept] + [report_facts(report, report_path)]
    source, order = {}, []
    for i, run in enumerate(runs):
        for case in run["cases"]:
            if case not in source:
                order.append(case)
            source[case] = i
    out = []
    for i, run in enumerate(runs):
        mine = [c for c in order if source[c] == i]
        if not mine:
            continue
        which = "" if len(runs) == 1 else f"{', '.join(mine)}: "
        link = f" ([{run['link']}]({run['link']}))" if run["link"] and len(runs) > 1 else ""
        out.append(f"{which}{run['stamp']}{link}; medians of the runs, 2 jobs, warm page cache.")
        if len(runs) > 1:
            out.append("")
    newest = runs[-1]
    tail = (f" Method, inputs, every command and the raw samples: [{newest['link']}]({newest['link']})."
            if newest["link"] and len(runs) == 1 else "")
    out.append(f"Machine: {newest['machine']}.{tail}")
    out.append("")
    rows = ["| case | measure | target | measured | result |", "|---|---|---|---|---|"]
    rows += [r for c in order for r in runs[source[c]]["cases"][c]]
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


def update_readme(path, report, report_path, kept_paths=()):
    kept = []
    for p in kept_paths:
        try:
            with open(p) as f:
                kept.append((f.read(), p))
        except OSError as e:
            die(f"--readme-keep {p}: {e.strerror}; give the path of an earlier report")
    with open(path) as f:
        text = f.read()
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < begin:
        die(f"{path}: no '{README_BEGIN}' ... '{README_END}' section to replace; add those two lines where the tables go")
    new = text[:begin + len(README_BEGIN)] + "\n" + readme_excerpt(report, report_path, kept) + text[end:]
    with open(path, "w") as f:
        f.write(new)
    log(f"updated the benchmark section of {path}")
