"""The command line: the cases to run, the inputs' sizes and sources, where
the tools are. Parsing has no side effects (--help runs nothing)."""

import argparse
import os

from .closure import default_perl_lib, default_python_lib
from .common import REPO, die
from .tools import DEFAULT_ANCHORS

DEFAULT_SWIFT_LIB = "/opt/swift/usr/lib/swift/linux"


def parse_args(cases):
    names = [c.name for c in cases]
    case_help = "\n".join(
        f"  {c.name:<13} " + c.help.replace("\n", "\n" + " " * 16) for c in cases)
    ap = argparse.ArgumentParser(
        prog="scripts/bench",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Benchmark `mkportable pack` against mksquashfs (Debian's and the newest, from the "
                    "reference tools; the faster is the anchor), gensquashfs and the nixpkgs "
                    "portableService pipeline (cp -a + mksquashfs) on a realistic fake Nix closure "
                    "and a metadata-heavy tree, itself at 1 and 2 jobs, and `pack --verity`/`--ddi` "
                    "against plain `pack`. Prints a Markdown report and writes it to --output.",
        epilog=f"""cases:
{case_help}

Every tool gets 2 compression jobs (--jobs), all-root, mtime 0, 1M blocks.
The closure is made of files every Debian 12 machine with scripts/install-deps'
packages and Swift in /opt/swift has: Debian's Python stdlib (compiled at
-O0/-O1/-O2), perl-modules, Swift's runtime and static libraries.
The anchors' mksquashfs comes from ../shared/anchors/build (--anchors).
Timings are medians over --runs rounds; tool order rotates between rounds;
each input is read once before each round (warm page cache, no cache drop).
Inputs are built once under --workdir and reused while unchanged.
The verity cases check every .verity and .roothash with veritysetup
(cryptsetup-bin) and every DDI with sfdisk.

examples:
  swift build -c release --scratch-path .build-bench --product mkportable
  scripts/bench --quick                      # smoke test: a few minutes on 2 idle cores
  scripts/bench --quick --cases closure-zstd,small-xz,nixpkgs   # CI: under a minute
  scripts/bench                              # everything, 3 runs (~30 min)
  scripts/bench --build-commit HEAD          # the same, for the committed code
  scripts/bench --cases verity-zstd,verity-xz --runs 5   # what verity costs
  scripts/bench --cases closure-xz,closure-zstd,small-xz,threads-closure,threads-small --runs 3
                                             # issue 23's cases (docs/performance.md)
  scripts/bench --cases closure-zstd,small-xz --runs 5 --output /tmp/b.md
""")
    ap.add_argument("--cases", default=",".join(names),
                    help=f"comma-separated cases to run (default: all: {','.join(names)})")
    ap.add_argument("--runs", type=int, default=None, help="timed runs per tool and case (default 3; 1 with --quick)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 1 run, a 50 MB closure, 20,000 small files, scaling steps 10,20,50 MB")
    ap.add_argument("--workdir", default="/tmp/mkportable-bench",
                    help="where inputs, images and logs go (default /tmp/mkportable-bench)")
    ap.add_argument("--output", default=None,
                    help="Markdown report file (default docs/benchmarks.md; with --quick: "
                         "WORKDIR/benchmarks-quick.md); '-' for stdout only")
    ap.add_argument("--mkportable", default=os.path.join(REPO, ".build-bench", "release", "mkportable"),
                    help="mkportable binary (default .build-bench/release/mkportable)")
    ap.add_argument("--build", action="store_true",
                    help="first run `swift build -c release --scratch-path .build-bench --product mkportable` "
                         "in the working tree")
    ap.add_argument("--build-commit", metavar="REV",
                    help="benchmark committed code: export REV (git archive) to WORKDIR/src-<commit>, build it "
                         "release there and use that binary; uncommitted edits in the checkout don't leak in")
    ap.add_argument("--jobs", type=int, default=2, help="compression threads for every tool (default 2)")
    ap.add_argument("--closure-mb", type=float, default=None,
                    help="use a subset of about this many MB instead of the whole closure (default: whole; 50 with --quick)")
    ap.add_argument("--steps", default=None, help="scaling steps in MB (default 50,100,200,400)")
    ap.add_argument("--small-files", type=int, default=None, help="files in the small-file tree (default 200000)")
    ap.add_argument("--seed", type=int, default=20240601, help="seed of the small-file tree (default 20240601)")
    ap.add_argument("--python-lib", default=None,
                    help="Python stdlib to stage and compile (default: Debian's, the newest /usr/lib/python3.N)")
    ap.add_argument("--perl-lib", default=None,
                    help="Perl modules to copy (default: perl-modules', /usr/share/perl/5.N.M)")
    ap.add_argument("--swift-lib", default=DEFAULT_SWIFT_LIB,
                    help=f"Swift runtime dir to copy; swift_static beside its parent too (default {DEFAULT_SWIFT_LIB})")
    ap.add_argument("--anchors", default=DEFAULT_ANCHORS,
                    help=f"the reference tools' bin directory, from ../shared/anchors/build PREFIX "
                         f"(default {DEFAULT_ANCHORS}); without it the anchors' mksquashfs is left out")
    ap.add_argument("--verify", choices=["data", "list", "none"], default="data",
                    help="check of each mkportable image (once per case): 'list' compares unsquashfs -lln with "
                         "mksquashfs's image; 'data' also extracts it and compares with the source (default)")
    ap.add_argument("--readme", metavar="FILE", default=None,
                    help="also replace the part of FILE (e.g. README.md) between the lines "
                         "'<!-- bench:begin -->' and '<!-- bench:end -->' with this run's summary and tables")
    ap.add_argument("--readme-keep", metavar="REPORT", action="append", default=[],
                    help="with --readme: cases this run does not measure keep their rows from REPORT (an earlier "
                         "report, e.g. a copy of docs/benchmarks.md); the summary says which run gave which cases")
    ap.add_argument("--prepare-only", action="store_true", help="build the inputs for the selected cases, then stop")
    ap.add_argument("--rebuild-inputs", action="store_true", help="rebuild the inputs even if they look current")
    args = ap.parse_args()

    chosen = [c.strip() for c in args.cases.split(",") if c.strip()]
    for c in chosen:
        if c not in names:
            die(f"unknown case {c!r}; choose from {','.join(names)}")
    if args.runs is None:
        args.runs = 1 if args.quick else 3
    if args.runs < 1:
        die("--runs must be at least 1")
    if args.steps is None:
        args.steps = "10,20,50" if args.quick else "50,100,200,400"
    try:
        args.step_list = [float(x) for x in args.steps.split(",") if x.strip()]
    except ValueError:
        die(f"--steps {args.steps!r}: comma-separated numbers of MB expected")
    if args.small_files is None:
        args.small_files = 20_000 if args.quick else 200_000
    args.closure_budget = args.closure_mb if args.closure_mb else (50 if args.quick else None)
    if args.output is None:
        args.output = (os.path.join(args.workdir, "benchmarks-quick.md") if args.quick
                       else os.path.join(REPO, "docs", "benchmarks.md"))
    args.workdir = os.path.abspath(args.workdir)
    args.python_lib = args.python_lib or default_python_lib()
    args.perl_lib = args.perl_lib or default_perl_lib()
    args.chosen = chosen
    return args
