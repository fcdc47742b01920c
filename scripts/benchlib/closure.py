"""The closure input: a fake Nix closure built from files that every
machine of this kind has (Debian 12 with scripts/install-deps' packages and
Swift in /opt/swift), and its subsets for the scaling case.

Store paths (each nix/store/<32 nix-base32 chars>-<name>, copied with cp -a):
  python3-<v>-stdlib    Debian's /usr/lib/python3.N (libpython3.N-stdlib
                        and -minimal, which python3 itself needs), without
                        the parts other packages add (distutils, lib2to3,
                        ensurepip, config-*, site- and dist-packages) and
                        without __pycache__, which Python writes on use; then
                        compiled at -O0, -O1 and -O2 as CPython's `make
                        install` and nixpkgs do, with unchecked-hash pycs
                        whose paths name the store path, so the bytes do
                        not depend on the work dir or on the time
  perl-<v>-modules      /usr/share/perl/5.N.M (perl-modules-5.N: pulled in
                        by install-deps' packages)
  swift-runtime-<v>     /opt/swift/usr/lib/swift/linux
  swift-static-<v>      /opt/swift/usr/lib/swift_static"""

import fnmatch
import glob
import hashlib
import os
import re
import shutil
import subprocess

from .common import LAYOUT_VERSION, MB, built_tree, die, log, reusable, write_marker

NIX32 = "0123456789abcdfghijklmnpqrsvwxyz"

# What /usr/lib/python3.N holds that other packages than the stdlib's add,
# or that Python writes as it runs.
PYTHON_SKIP_TOP = ("site-packages", "dist-packages", "distutils", "lib2to3", "ensurepip", "config-*")
PYTHON_SKIP_ANY = ("__pycache__",)


def nix_store_hash(name):
    """32 characters of Nix base32, derived from `name` only.

    sha256 of a fixed prefix plus the name, folded to 160 bits by XOR and
    printed the way Nix prints store path hashes (printHash32)."""
    digest = hashlib.sha256(("mkportable-bench:" + name).encode()).digest()
    folded = bytearray(20)
    for i, b in enumerate(digest):
        folded[i % 20] ^= b
    out = []
    for n in range(31, -1, -1):
        bit = n * 5
        i, j = divmod(bit, 8)
        c = folded[i] >> j
        if i + 1 < 20:
            c |= folded[i + 1] << (8 - j)
        out.append(NIX32[c & 0x1F])
    return "".join(out)


def skipped(rel_dir, name, skip_top, skip_any):
    """A name left out: anywhere if in skip_any, at the top if it matches skip_top."""
    if name in skip_any:
        return True
    return rel_dir == "." and any(fnmatch.fnmatch(name, p) for p in skip_top)


def walk(root, skip_top=(), skip_any=()):
    """os.walk in sorted order, leaving out the skipped directories and files:
    (dirpath, rel_dir, dirnames, filenames)."""
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = sorted(d for d in dirnames if not skipped(rel_dir, d, skip_top, skip_any))
        yield dirpath, rel_dir, dirnames, sorted(f for f in filenames if not skipped(rel_dir, f, skip_top, skip_any))


def tree_fingerprint(root, skip_top=(), skip_any=()):
    """Hash of (path, type, mode, size, mtime) of everything under root."""
    h = hashlib.sha256()
    for dirpath, rel_dir, dirnames, filenames in walk(root, skip_top, skip_any):
        for name in sorted(dirnames + filenames):
            st = os.lstat(os.path.join(dirpath, name))
            h.update(f"{os.path.join(rel_dir, name)}\0{st.st_mode}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def default_python_lib():
    """Debian's stdlib: the newest /usr/lib/python3.N with an os.py."""
    found = [d for d in glob.glob("/usr/lib/python3.*") if os.path.isfile(os.path.join(d, "os.py"))]
    found.sort(key=lambda d: [int(x) for x in re.findall(r"\d+", os.path.basename(d))])
    return found[-1] if found else "/usr/lib/python3"


def default_perl_lib():
    """perl-modules' /usr/share/perl/5.N.M (the directory, not its 5.N link)."""
    found = sorted(d for d in glob.glob("/usr/share/perl/5.*") if os.path.isdir(d) and not os.path.islink(d))
    return found[-1] if found else "/usr/share/perl/5"


def swift_version_of(lib):
    swift = os.path.normpath(os.path.join(lib, "..", "..", "..", "bin", "swift"))
    for exe in (swift, shutil.which("swift")):
        if exe and os.path.exists(exe):
            try:
                out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60).stdout
            except (OSError, subprocess.SubprocessError):
                continue
            m = re.search(r"Swift version (\d+(?:\.\d+)+)", out)
            if m:
                return m.group(1)
    return "unknown"


def store_name(name):
    return f"{nix_store_hash(name)}-{name}"


def stage_python(args, name):
    """The Python stdlib without the skipped parts, compiled as `make install`
    compiles it, in WORKDIR/sources/<name>; reused while its source and the
    interpreter are unchanged."""
    src = args.python_lib
    short = os.path.basename(os.path.normpath(src))  # python3.N
    python = os.path.join("/usr/bin", short)
    if not os.access(python, os.X_OK):
        die(f"{python} is missing: the pycs of {src} are compiled by its own interpreter (--python-lib)")
    dest = os.path.join(args.workdir, "sources", name)
    marker = dest + ".json"
    want = {"layout": LAYOUT_VERSION, "source": src, "python": python,
            "fingerprint": tree_fingerprint(src, PYTHON_SKIP_TOP, PYTHON_SKIP_ANY)}
    have = reusable(args, marker, want, dest)
    if have:
        return dest
    log(f"staging {src} in {dest} and compiling it at -O0, -O1, -O2")
    if os.path.exists(dest):
        shutil.rmtree(dest)
    for dirpath, rel_dir, dirnames, filenames in walk(src, PYTHON_SKIP_TOP, PYTHON_SKIP_ANY):
        target = os.path.normpath(os.path.join(dest, rel_dir))
        os.makedirs(target, exist_ok=True)
        for f in filenames:
            p = os.path.join(dirpath, f)
            if os.path.islink(p):
                os.symlink(os.readlink(p), os.path.join(target, f))
            else:
                shutil.copy2(p, os.path.join(target, f))
    store_dir = os.path.join("/nix/store", store_name(name), "lib", short)
    r = subprocess.run([python, "-m", "compileall", "-q", "-o", "0", "-o", "1", "-o", "2",
                        "--invalidation-mode", "unchecked-hash", "-s", dest, "-p", store_dir, dest],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        log(f"compileall could not compile everything (kept what it did): {r.stdout.strip()[-300:]}")
    for dirpath, rel_dir, dirnames, _ in walk(src, PYTHON_SKIP_TOP, PYTHON_SKIP_ANY):
        shutil.copystat(dirpath, os.path.normpath(os.path.join(dest, rel_dir)))
    write_marker(marker, {"key": want})
    return dest


def closure_store_paths(args):
    """[(store name, source dir, dest subpath inside the store path, where from)]"""
    py = os.path.basename(os.path.normpath(args.python_lib)).replace("python", "")
    perl = os.path.basename(os.path.normpath(args.perl_lib))
    sw = swift_version_of(args.swift_lib)
    static = os.path.normpath(os.path.join(args.swift_lib, "..", "..", "swift_static"))
    for d, opt in ((args.python_lib, "--python-lib"), (args.perl_lib, "--perl-lib"),
                   (args.swift_lib, "--swift-lib"), (static, "--swift-lib")):
        if not os.path.isdir(d):
            die(f"closure source {d} does not exist (see {opt})")
    py_name = f"python3-{py}-stdlib"
    skips = ", ".join(PYTHON_SKIP_TOP + PYTHON_SKIP_ANY)
    return [
        (store_name(py_name), stage_python(args, py_name), os.path.join("lib", f"python{py}"),
         f"{args.python_lib} without {skips}, compiled at -O0/-O1/-O2 (unchecked-hash pycs)"),
        (store_name(f"perl-{perl}-modules"), args.perl_lib, os.path.join("share", "perl", perl), args.perl_lib),
        (store_name(f"swift-runtime-{sw}"), args.swift_lib, os.path.join("lib", "swift", "linux"), args.swift_lib),
        (store_name(f"swift-static-{sw}"), static, os.path.join("lib", "swift_static"), static),
    ]


class ClosurePlan:
    """The closure's store paths and files, read from the sources: what
    build_closure copies and what subsets are chosen from."""

    def __init__(self, args):
        self.paths = closure_store_paths(args)
        self.key = {
            "layout": LAYOUT_VERSION,
            "paths": [[n, s, sub] for n, s, sub, _ in self.paths],
            "fingerprints": [tree_fingerprint(s) for _, s, _, _ in self.paths],
        }
        self.files = []    # (path in the closure, source path, size)
        self.dir_src = {}  # directory in the closure -> source directory (None: made up)
        self.store_info = []
        for name, src, sub, origin in self.paths:
            self._add(name, src, sub, origin)

    def _add(self, name, src, sub, origin):
        base = os.path.join("nix", "store", name, sub)
        d = base
        while d:
            self.dir_src.setdefault(d, None)
            d = os.path.dirname(d)
        n_files = n_bytes = 0
        n_dirs = len(sub.split(os.sep))
        for dirpath, rel_dir, dirnames, filenames in walk(src):
            n_dirs += len(dirnames)
            here = os.path.normpath(os.path.join(base, rel_dir))
            self.dir_src[here] = dirpath
            for f in filenames:
                p = os.path.join(dirpath, f)
                size = 0 if os.path.islink(p) else os.lstat(p).st_size
                self.files.append((os.path.join(here, f), p, size))
                n_files += 1
                n_bytes += size
        self.store_info.append({"name": name, "source": origin, "files": n_files, "dirs": n_dirs, "bytes": n_bytes})


def build_closure(args, plan):
    def make(dest):
        store = os.path.join(dest, "nix", "store")
        os.makedirs(store)
        for name, src, sub, _ in plan.paths:
            target = os.path.join(store, name, sub)
            os.makedirs(target)
            entries = sorted(os.listdir(src))
            if entries:
                subprocess.run(["cp", "-a", "--", *[os.path.join(src, e) for e in entries], target + "/"],
                               check=True)
            shutil.copystat(src, target)
        for d in [dest, os.path.join(dest, "nix"), store] + made_up_dirs(plan, dest):
            os.chmod(d, 0o755)
    return built_tree(args, "closure", plan.key, "copying the closure (cp -a)", make)


def made_up_dirs(plan, dest):
    """The store paths' own directories down to each source (lib, lib/swift, ...)."""
    return [os.path.join(dest, rel) for rel, src in plan.dir_src.items() if src is None and rel.count(os.sep) > 1]


def select_subset(files, budget):
    """About `budget` bytes with the closure's mix of content, as
    {relative path: bytes to copy}. Files are grouped by store path and
    extension (.pyc, .py, .so, .a, .pm, ...) and each group gets its share
    of the budget. A file bigger than its group's share (libFoundation.a,
    lib_FoundationICU.so, ...) comes in as a prefix of budget/total of its
    bytes, so big, fast-compressing files weigh in every step as in the
    whole closure; the rest fill their group's share as whole files,
    directory by directory in the order of sha256(directory) (so the
    identical .pyc variants of one __pycache__ come in together and a step
    deduplicates like the whole closure), skipping files that no longer
    fit. Deterministic."""
    order = sorted(files, key=lambda e: (hashlib.sha256(os.path.dirname(e[0]).encode()).digest(), e[0]))

    def group(rel):
        parts = rel.split(os.sep)
        store = parts[2] if len(parts) > 3 and parts[:2] == ["nix", "store"] else ""
        base = parts[-1]
        return store, base.rsplit(".", 1)[1] if "." in base.lstrip(".") else ""

    group_bytes = {}
    for rel, size in files:
        g = group(rel)
        group_bytes[g] = group_bytes.get(g, 0) + size
    total_bytes = sum(group_bytes.values()) or 1
    fraction = min(1.0, budget / total_bytes)
    share = {g: budget * b / total_bytes for g, b in group_bytes.items()}
    used = {g: 0 for g in share}
    taken = {}
    for rel, size in order:
        g = group(rel)
        if size > share[g]:
            part = int(size * fraction)
            if part > 0:
                taken[rel] = part
                used[g] += part
    for rel, size in order:
        g = group(rel)
        if rel not in taken and used[g] + size <= share[g]:
            used[g] += size
            taken[rel] = size
    return taken


def build_subset(args, plan, budget_mb):
    """About `budget_mb` MB of the closure with the closure's mix of content
    (select_subset), copied straight from the sources. None when the whole
    closure fits in the budget."""
    budget = int(budget_mb * MB)
    take = select_subset([(rel, size) for rel, _, size in plan.files], budget)
    if len(take) == len(plan.files) and all(take[rel] == size for rel, _, size in plan.files):
        return None
    tag = f"{budget_mb:g}"

    def make(dest):
        os.makedirs(dest)
        copy_subset(plan, take, dest)
    return built_tree(args, f"subset-{tag}", {"layout": LAYOUT_VERSION, "closure": plan.key, "budget": budget},
                      f"building the {tag} MB subset", make)


def copy_subset(plan, take, dest):
    source = {rel: src for rel, src, _ in plan.files}
    sizes = {rel: size for rel, _, size in plan.files}
    dirs = set()
    for rel in sorted(take):
        src, dst = source[rel], os.path.join(dest, rel)
        parent = os.path.dirname(rel)
        while parent and parent not in dirs:
            dirs.add(parent)
            parent = os.path.dirname(parent)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
        elif take[rel] < sizes[rel]:
            with open(src, "rb") as f, open(dst, "wb") as g:  # a prefix of a big file
                g.write(f.read(take[rel]))
            shutil.copystat(src, dst)
        else:
            shutil.copy2(src, dst)
    for rel in sorted(dirs, reverse=True):  # modes and times once the contents are in
        if plan.dir_src.get(rel):
            shutil.copystat(plan.dir_src[rel], os.path.join(dest, rel))
        else:
            os.chmod(os.path.join(dest, rel), 0o755)
    os.chmod(dest, 0o755)
