enum Usage {
    static let version = "0.1.0"

    static let text = """
    mkportable: build systemd portable service images (squashfs) reproducibly.

    Usage:
      mkportable pack [options] SOURCE_DIR IMAGE
          Pack the contents of SOURCE_DIR as the root of a squashfs image.
      mkportable build --attrs FILE --out DIR
          Run the Nix builder on a structured-attrs JSON file, outside Nix.
      mkportable
          Builder mode: run by Nix with NIX_ATTRS_JSON_FILE set.

    Run `mkportable pack --help` for the pack options.
    """
}
