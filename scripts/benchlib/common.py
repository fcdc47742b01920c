"""What every part of the bench shares: where the repository is, units,
logging, the markers that let built inputs be reused, and tree walks."""

import hashlib
import json
import os
import shutil
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MB = 1_000_000
LAYOUT_VERSION = 6  # bump when the way inputs are built changes


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def die(msg):
    print(f"bench: error: {msg}", file=sys.stderr)
    sys.exit(2)


def read_marker(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def reusable(args, marker, key, *paths):
    """The marker's content if an input built earlier can be reused: same
    key, its paths still there, no --rebuild-inputs; else None."""
    have = read_marker(marker)
    if have and have.get("key") == key and all(os.path.exists(p) for p in paths) and not args.rebuild_inputs:
        return have
    return None


def built_tree(args, name, key, what, make):
    """WORKDIR/name, reused if built earlier with the same key, else made
    afresh by make(dest) after logging `what`: (dest, tree_stats)."""
    dest = os.path.join(args.workdir, name)
    marker = dest + ".json"
    have = reusable(args, marker, key, dest)
    if have:
        return dest, have["stats"]
    log(f"{what} in {dest}")
    if os.path.exists(dest):
        shutil.rmtree(dest)
    make(dest)
    stats = tree_stats(dest)
    write_marker(marker, {"key": key, "stats": stats})
    return dest, stats


def write_marker(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def tree_stats(root):
    files = dirs = links = 0
    size = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirs += len(dirnames)
        for name in filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if os.path.islink(os.path.join(dirpath, name)):
                links += 1
            else:
                files += 1
                size += st.st_size
    return {"files": files, "dirs": dirs, "symlinks": links, "bytes": size}


def sha256_file(path, h=None):
    h = h or hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h


def entries(stats):
    """Files, directories and symlinks of a tree_stats result."""
    return stats["files"] + stats["dirs"] + stats["symlinks"]
