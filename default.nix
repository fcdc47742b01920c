# mkportable for Nix users: `import ./. { }`.
#
# Without nixpkgs (the default, e.g. Debian's Nix with no channels),
# mkportable is compiled from this checkout with the host's Swift toolchain
# into a static executable (nix/host-mkportable.nix; needs the sandbox
# settings scripts/nix-setup writes). With nixpkgs, pass it:
# `import ./. { pkgs = import <nixpkgs> { }; }`, and nix/package.nix builds
# mkportable with nixpkgs' Swift. A ready static executable can be given
# instead: `--arg mkportableExe ./path/to/mkportable`.
#
#   nix-build -A examples                # all example images
#   nix-build -A examples.hello          # result/hello_1.0.raw
{
  pkgs ? null,
  system ? if pkgs != null then pkgs.stdenv.hostPlatform.system else builtins.currentSystem,
  swiftToolchain ? "/opt/swift",
  mkportableExe ? null,
}:

let
  mkportable =
    if mkportableExe != null then
      builtins.path {
        name = "mkportable";
        path = mkportableExe;
      }
    else if pkgs != null then
      pkgs.callPackage ./nix/package.nix { }
    else
      import ./nix/host-mkportable.nix {
        src = ./.;
        inherit system swiftToolchain;
      };

  # A prebuilt executable is a single file; a package has bin/mkportable.
  mkportableBin = if mkportableExe != null then "${mkportable}" else "${mkportable}/bin/mkportable";

  portableService = import ./nix/portable-service.nix {
    mkportable = mkportableBin;
    inherit system;
  };

  exampleLib = import ./examples/lib.nix { inherit pkgs system; };
in
{
  inherit mkportable portableService;
  examples = import ./examples {
    inherit portableService;
    lib = exampleLib;
  };
}
