"""The small-file input: n small text-like files in nested directories,
from a fixed seed (the metadata-heavy case)."""

import os
import random

from .common import LAYOUT_VERSION, MB, built_tree

EXTENSIONS = [".py", ".c", ".h", ".txt", ".json", ".md", ".nix", ".rs", ".sh", ".html", ".yaml", ""]


def make_vocabulary(rng, n):
    letters = "etaoinshrdlcumwfgypbvkjxqz"
    letter_w = [12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4,
                2.2, 2.0, 2.0, 1.9, 1.5, 1.0, 0.8, 0.2, 0.2, 0.1, 0.1]
    words = set()
    out = []
    while len(out) < n:
        w = "".join(rng.choices(letters, weights=letter_w, k=rng.randint(2, 11)))
        if w not in words:
            words.add(w)
            out.append(w)
    return out


def make_corpus(rng, vocab, size):
    """Text-like bytes: Zipf-distributed words in indented lines of code-ish
    prose (all list operations, so 32 MB take a few seconds)."""
    cum = []
    acc = 0.0
    for rank in range(len(vocab)):
        acc += 1.0 / (rank + 1)
        cum.append(acc)
    n = size // 6
    words = rng.choices(vocab, cum_weights=cum, k=n)
    seps = [" ", ", ", ". ", " = ", "(", ") ", "_", ": ", "; ", "\n", "\n    ", "\n        "]
    sep_w = [40, 5, 4, 3, 3, 3, 3, 2, 2, 5, 4, 2]
    parts = [""] * (2 * n)
    parts[::2] = words
    parts[1::2] = rng.choices(seps, weights=sep_w, k=n)
    data = "".join(parts).encode()
    while len(data) < size:
        data += data
    return data[:size]


def unique_name(taken, base, variant):
    """base, or variant(2), variant(3), ... the first not in taken; added to it."""
    name, k = base, 1
    while name in taken:
        k += 1
        name = variant(k)
    taken.add(name)
    return name


def build_small(args, n_files):
    """n_files small files (0..4 KiB, mean 512 bytes) in nested dirs."""
    return built_tree(args, f"small-{n_files}", {"layout": LAYOUT_VERSION, "files": n_files, "seed": args.seed},
                      f"generating {n_files} small files (seed {args.seed})",
                      lambda dest: generate_small(dest, n_files, args.seed))


def generate_small(dest, n_files, seed):
    rng = random.Random(seed)
    vocab = make_vocabulary(rng, 5000)
    corpus = make_corpus(rng, vocab, 32 * MB)
    old_umask = os.umask(0o022)
    try:
        os.makedirs(dest)
        os.chmod(dest, 0o755)
        # A random recursive tree of directories, at most 7 deep: about 16
        # files per directory.
        n_dirs = max(1, n_files // 16)
        dirs = [("", 0)]
        children = {"": set()}
        for _ in range(n_dirs - 1):
            parent, depth = dirs[rng.randrange(len(dirs))]
            while depth >= 7:
                parent = os.path.dirname(parent)
                depth -= 1
            base = rng.choice(vocab)
            name = unique_name(children[parent], base, lambda k: f"{base}{k}")
            path = os.path.join(parent, name) if parent else name
            children[path] = set()
            dirs.append((path, depth + 1))
            os.mkdir(os.path.join(dest, path))
        span = len(corpus) - 4096
        for _ in range(n_files):
            parent = dirs[rng.randrange(len(dirs))][0]
            base = rng.choice(vocab) + rng.choice(EXTENSIONS)
            name = unique_name(children[parent], base, lambda k: f"{k}-{base}")
            size = min(4096, int(rng.expovariate(1 / 512)))
            off = rng.randrange(span)
            mode = 0o755 if rng.random() < 0.08 else 0o644
            fd = os.open(os.path.join(dest, parent, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            try:
                os.write(fd, corpus[off:off + size])
            finally:
                os.close(fd)
    finally:
        os.umask(old_umask)
