enum Usage {
    static let version = "0.1.0"

    static let text = """
    mkportable: build systemd portable service images (squashfs) reproducibly.

    Usage:
      mkportable pack [options] SOURCE_DIR IMAGE
          Pack the contents of SOURCE_DIR as the root of a squashfs image.
      mkportable verify [--cert CERT.pem] IMAGE.raw
          Check an image against its dm-verity data (sidecars or DDI) and,
          with --cert, its signature, before attaching it.
      mkportable sign --key KEY.pem --cert CERT.pem --out DIR IMAGE.raw
          Copy a verity image into DIR with its root hash signed.
      mkportable inspect [--json] IMAGE
          Show an image's settings, os-release, units, closure, verity and
          (with --json) every entry with its sha256.
      mkportable diff [--json] A B
          Say why two images differ; exit 0 same bytes, 1 differ, 2 trouble.
      mkportable build --attrs FILE --out DIR
          Run the Nix builder on a structured-attrs JSON file, outside Nix.
      mkportable
          Builder mode: run by Nix with NIX_ATTRS_JSON_FILE set.

    Run `mkportable pack --help` for the pack options (--verity, --ddi),
    `mkportable verify --help`, `mkportable sign --help`,
    `mkportable build --help`, `mkportable inspect --help`,
    `mkportable diff --help`. Options take their value as the next word
    or after "=" (--comp=zstd).

    Exit status, in every command but diff: 0 success; 2 a usage error (an unknown
    option, a missing operand or option value); 1 any other failure.
    Errors are one line on stderr.
    """
}
