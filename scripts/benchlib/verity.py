"""The checks of pack --verity's sidecars and pack --ddi's disk image, by
independent tools: veritysetup (cryptsetup-bin) and sfdisk."""

import filecmp
import json
import os
import platform
import re
import shutil
import subprocess

from .common import sha256_file
from .verify import verify


def read_roothash(path):
    """The hex root hash of a .roothash file (one line of 64 hex digits), or None."""
    with open(path) as f:
        text = f.read()
    h = text[:-1] if text.endswith("\n") else text
    return h if len(h) == 64 and all(c in "0123456789abcdef" for c in h) else None


def verity_salt_uuid(verity):
    """Salt (hex) and UUID of a veritysetup superblock (cryptsetup's struct
    verity_sb: uuid at 16, salt_size at 80, salt at 88), read from the bytes."""
    with open(verity, "rb") as f:
        sb = f.read(512)
    if sb[:8] != b"verity\0\0":
        return None, None
    salt_size = int.from_bytes(sb[80:82], "little")
    u = sb[16:32].hex()
    return sb[88:88 + salt_size].hex(), f"{u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}"


def veritysetup_check(data, hash_file, roothash, scratch):
    """The hash tree must be what `veritysetup format` writes for its salt and
    UUID, with the same root hash; `veritysetup verify` must accept the data
    and refuse it with one byte flipped. (ok, message)."""
    salt, uuid = verity_salt_uuid(hash_file)
    if salt is None:
        return False, f"{os.path.basename(hash_file)} has no veritysetup superblock"
    ref = scratch + ".ref-verity"
    r = subprocess.run(["veritysetup", "format", f"--salt={salt}", f"--uuid={uuid}", "--data-block-size=4096",
                        "--hash-block-size=4096", data, ref], capture_output=True, text=True)
    if r.returncode != 0:
        return False, f"veritysetup format exited {r.returncode}: {r.stderr.strip()[-300:]}"
    theirs = re.search(r"Root hash:\s*([0-9a-f]{64})", r.stdout)
    same_tree = filecmp.cmp(ref, hash_file, shallow=False)
    os.unlink(ref)
    if not theirs or theirs.group(1) != roothash:
        return False, f"veritysetup format's root hash {theirs.group(1) if theirs else '?'} is not {roothash}"
    if not same_tree:
        return False, "the hash tree differs from veritysetup format's for the same salt and UUID"
    r = subprocess.run(["veritysetup", "verify", data, hash_file, roothash], capture_output=True, text=True)
    if r.returncode != 0:
        return False, f"veritysetup verify rejects it: {r.stderr.strip()[-300:]}"
    flipped = scratch + ".flipped"
    shutil.copyfile(data, flipped)
    with open(flipped, "r+b") as f:
        f.seek(os.path.getsize(flipped) // 2)
        b = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([b[0] ^ 0x40]))
    r = subprocess.run(["veritysetup", "verify", flipped, hash_file, roothash], capture_output=True, text=True)
    os.unlink(flipped)
    if r.returncode == 0:
        return False, "veritysetup verify accepts it with a byte flipped"
    return True, ("the hash tree and root hash are veritysetup format's for the same salt and UUID; "
                  "veritysetup verify accepts it, and refuses it with one byte flipped")


# GPT partition types of a portable DDI's root and root-verity (UAPI
# discoverable partitions specification), by `uname -m`.
DDI_TYPES = {
    "x86_64": ("4f68bce3-e8cd-4db1-96e7-fbcaf984b709", "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5"),
    "aarch64": ("b921b045-1df0-41c3-af44-4c6f280d3fae", "df3300ce-d69f-4c92-978c-9bfb0f38d820"),
}


def as_uuid(hexdigits):
    """16 bytes (hex) as a UUID string in byte order: the root hash's halves
    become the partition UUIDs as systemd's sd_id128 reads them (repart's
    derivation; sfdisk prints them the same way)."""
    u = hexdigits.lower()
    return f"{u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:32]}"


def copy_range(src, dst, offset, size):
    with open(src, "rb") as f, open(dst, "wb") as g:
        f.seek(offset)
        left = size
        while left > 0:
            chunk = f.read(min(left, 1 << 22))
            if not chunk:
                break
            g.write(chunk)
            left -= len(chunk)


def check_sidecars(m, image, plain, args):
    """pack --verity: the image is plain pack's, byte for byte; the hash
    tree and root hash pass veritysetup_check."""
    stem = image[:-len(".raw")]
    roothash = read_roothash(stem + ".roothash")
    if roothash is None:
        return False, f"{os.path.basename(stem)}.roothash is not one line of 64 hex digits"
    msgs = []
    if plain and plain.hashes:
        if m.hashes[0] != plain.hashes[0]:
            return False, "the image differs from plain pack's image of the same input"
        msgs.append("the image is plain pack's, byte for byte")
    else:
        ok, msg = verify(m, image, None, args)
        if not ok:
            return False, msg
        msgs.append(msg)
    ok, msg = veritysetup_check(image, stem + ".verity", roothash, os.path.join(args.workdir, "verity-check"))
    return ok, ", ".join(msgs + [msg])


def check_ddi(m, image, plain, args):
    """pack --ddi: sfdisk reads the GPT; root and root-verity have the
    spec's types and the root hash's halves as UUIDs; the root partition is
    plain pack's image, byte for byte; the verity partition passes
    veritysetup_check."""
    roothash = read_roothash(image[:-len(".raw")] + ".roothash")
    if roothash is None:
        return False, "the .roothash is not one line of 64 hex digits"
    r = subprocess.run(["sfdisk", "--json", image], capture_output=True, text=True)
    if r.returncode != 0:
        return False, f"sfdisk --json exited {r.returncode}: {r.stderr.strip()[-300:]}"
    table = json.loads(r.stdout)["partitiontable"]
    parts = table.get("partitions", [])
    if table.get("label") != "gpt" or len(parts) != 2:
        return False, f"sfdisk sees a {table.get('label')} table with {len(parts)} partitions, not GPT with 2"
    sector = table.get("sectorsize", 512)
    (root, verity) = parts
    types = DDI_TYPES.get(platform.machine())
    if types and (root["type"].lower(), verity["type"].lower()) != types:
        return False, f"partition types {root['type']}, {verity['type']} are not root and root-verity {types}"
    if (root["uuid"].lower(), verity["uuid"].lower()) != (as_uuid(roothash[:32]), as_uuid(roothash[32:])):
        return False, "the partition UUIDs are not the root hash's halves"
    scratch = os.path.join(args.workdir, "ddi-check")
    root_file, verity_file = scratch + ".root", scratch + ".verity"
    copy_range(image, root_file, root["start"] * sector, root["size"] * sector)
    copy_range(image, verity_file, verity["start"] * sector, verity["size"] * sector)
    try:
        msgs = ["sfdisk: GPT, root and root-verity with the spec's types and the root hash's halves as UUIDs"]
        if plain and plain.hashes:
            if sha256_file(root_file).hexdigest() != plain.hashes[0]:
                return False, "the root partition differs from plain pack's image of the same input"
            msgs.append("the root partition is plain pack's image, byte for byte")
        else:
            ok, msg = verify(m, root_file, None, args)
            if not ok:
                return False, "root partition: " + msg
            msgs.append("root partition: " + msg)
        ok, msg = veritysetup_check(root_file, verity_file, roothash, scratch)
        return ok, ", ".join(msgs + ["root + root-verity: " + msg])
    finally:
        for p in (root_file, verity_file):
            if os.path.exists(p):
                os.unlink(p)


CHECKS = {"mkportable-verity": check_sidecars, "mkportable-ddi": check_ddi}
