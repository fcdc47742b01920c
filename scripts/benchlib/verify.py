"""The check of every image mkportable writes, by independent readers:
squashfs images with unsquashfs (the listing against mksquashfs's image of
the same input, and the extracted tree against the source), erofs images
with fsck.erofs --extract (against the source). Runs after all timing."""

import filecmp
import os
import shutil
import subprocess

from .common import log
from .tools import TOOLS, image_path


def listing(image):
    """unsquashfs -lln as {path: (mode string, owner, size or None for dirs)}."""
    r = subprocess.run(["unsquashfs", "-lln", image], capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        return None, f"unsquashfs -lln exited {r.returncode}: {r.stderr.strip()[-500:]}"
    out = {}
    for line in r.stdout.splitlines():
        # drwxr-xr-x 0/0                43 1970-01-01 00:00 squashfs-root/a
        parts = line.split(None, 5)
        if len(parts) < 6 or not parts[5].startswith("squashfs-root"):
            continue
        mode, owner, size, _, _, path = parts
        path = path[len("squashfs-root"):] or "/"
        if mode.startswith("l") and " -> " in path:
            path = path.split(" -> ", 1)[0]
        out[path] = (mode, owner, None if mode.startswith("d") else size)
    return out, None


def compare_trees(src, extracted):
    """First difference between two trees (names, types, modes, contents), or None."""
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        other = os.path.normpath(os.path.join(extracted, rel))
        try:
            want = sorted(dirnames + filenames)
            got = sorted(os.listdir(other))
        except OSError as e:
            return f"{rel}: {e}"
        if want != got:
            missing = sorted(set(want) - set(got))[:3]
            extra = sorted(set(got) - set(want))[:3]
            return f"{rel}: entries differ (missing {missing}, extra {extra})"
        for name in dirnames + filenames:
            a, b = os.path.join(dirpath, name), os.path.join(other, name)
            sa, sb = os.lstat(a), os.lstat(b)
            if (sa.st_mode & 0o170777) != (sb.st_mode & 0o170777):
                return f"{os.path.join(rel, name)}: mode {oct(sa.st_mode)} != {oct(sb.st_mode)}"
            if name in dirnames and not os.path.islink(a):
                continue
            if os.path.islink(a):
                if os.readlink(a) != os.readlink(b):
                    return f"{os.path.join(rel, name)}: link target differs"
            elif not filecmp.cmp(a, b, shallow=False):
                return f"{os.path.join(rel, name)}: contents differ"
    return None


def verify(m, image, reference_image, args):
    """A squashfs image: (ok, message)."""
    lst, err = listing(image)
    if err:
        return False, err
    if len(lst) < 2:
        return False, "unsquashfs -lln lists no entries"
    msgs = [f"{len(lst)} entries listed"]
    if reference_image and os.path.exists(reference_image):
        ref, err = listing(reference_image)
        if err:
            msgs.append(f"(reference listing failed: {err})")
        else:
            ref.pop("/", None)
            mine = dict(lst)
            mine.pop("/", None)
            if ref != mine:
                diff = sorted(set(ref.items()) ^ set(mine.items()))[:3]
                return False, f"listing differs from mksquashfs's image: {diff}"
            msgs.append("same listing as mksquashfs")
    if args.verify == "data":
        err = extract_and_compare(m, args, lambda dest: ["unsquashfs", "-n", "-d", dest, image])
        if err:
            return False, err
        msgs.append("extracted contents equal the source")
    return True, ", ".join(msgs)


def extract_and_compare(m, args, extract):
    """Runs extract(dest) (a reader's command that extracts the image to
    dest); None if the extracted tree is the source's, else the problem."""
    dest = os.path.join(args.workdir, "verify")
    if os.path.exists(dest):
        shutil.rmtree(dest)
    cmd = extract(dest)
    r = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        return f"{os.path.basename(cmd[0])} exited {r.returncode}: {r.stderr.strip()[-500:]}"
    diff = compare_trees(m.src, dest)
    shutil.rmtree(dest)
    return f"extracted image differs from the source: {diff}" if diff else None


def verify_erofs(m, image, args):
    """An erofs image: fsck.erofs checks it and extracts it, and the tree must
    be the source's. (ok, message)."""
    fsck = args.exes.get("fsck.erofs")
    if not fsck:
        return False, "fsck.erofs is missing (build the reference tools: ../shared/anchors/build)"
    err = extract_and_compare(m, args, lambda dest: erofs_extract_command(fsck, image, dest))
    return (False, err) if err else (True, "fsck.erofs accepts it; extracted contents equal the source")


def erofs_extract_command(fsck, image, dest):
    """fsck.erofs 1.9.3 --extract; for an image with a packed inode
    (fragments: mkfs.erofs's best options and mkportable's default), which
    it cannot extract whole (it writes the packed inode where the root
    directory goes: erofs_is_packed_inode compares a pointer only
    mkfs.erofs sets), each entry of the root, as dump.erofs lists it, with
    --path, over that copy (--overwrite)."""
    with open(image, "rb") as f:
        f.seek(1024 + 80)
        incompat = int.from_bytes(f.read(4), "little")
    if not incompat & 0x20:
        return [fsck, f"--extract={dest}", image]
    dump = os.path.join(os.path.dirname(fsck), "dump.erofs")
    script = ('set -e; mkdir "$3"; "$4" --ls --path=/ "$2" > "$3.ls"; '
              'sed -n "/FILENAME/,\\$p" "$3.ls" | tail -n +2 | sed -E "s/^ *[0-9]+ +[0-9]+  //" | '
              'while IFS= read -r n; do case "$n" in .|..) continue;; esac; '
              '"$1" --extract="$3/$n" --overwrite --path="/$n" "$2" > /dev/null; done; rm "$3.ls"')
    return ["sh", "-c", script, "sh", fsck, image, dest, dump]


def reference_image(bench, inp, setting):
    """An image of mksquashfs's of the same input and setting, or None."""
    for tool in ("mksquashfs", "mksquashfs-anchor"):
        ref = bench.ms.get((inp, setting, tool))
        if ref and ref.samples and not ref.error:
            return image_path(ref, bench.args)
    return None


def verify_all(bench, checks):
    """Phase 4, after all timing so it cannot disturb it: each mkportable
    image once (verify, against mksquashfs's image of the same input where
    there is one; erofs images by verify_erofs); the outputs of tools in
    `checks` (--verity, --ddi) by their own check."""
    args = bench.args
    if args.verify == "none":
        return
    for (inp, setting, tool), m in bench.ms.items():
        if not TOOLS[tool].mkportable or TOOLS[tool].image is None or m.error or not m.samples:
            continue
        image = image_path(m, args)
        log(f"verifying {m.key}")
        if tool in checks:
            m.verified = checks[tool](m, image, bench.m(inp, setting, "mkportable"), args)
        elif TOOLS[tool].image == "erofs":
            m.verified = verify_erofs(m, image, args)
        else:
            m.verified = verify(m, image, reference_image(bench, inp, setting), args)
        if not m.verified[0]:
            log(f"VERIFY FAILED {m.key}: {m.verified[1]}")
