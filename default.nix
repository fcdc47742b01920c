# mkportable for Nix users: `import ./. { }`.
#
# Without nixpkgs (the default, e.g. Debian's Nix with no channels),
# mkportable is compiled from this checkout with the host's Swift toolchain
# into a static executable (nix/host-mkportable.nix; needs the sandbox
# settings scripts/nix-setup writes), and portableService comes from
# builtins. With nixpkgs, pass it: `import ./. { pkgs = import <nixpkgs> { }; }`;
# then nix/package.nix builds mkportable with nixpkgs' Swift (on the build
# platform: pkgs.buildPackages), and portableService is
# pkgs.callPackage'd, as the overlay does. A ready static executable can be
# given instead: `--arg mkportableExe ./path/to/mkportable`.
#
#   nix-build -A examples                # all example images
#   nix-build -A examples.hello          # result/hello_1.0.raw
{
  pkgs ? null,
  system ? if pkgs != null then pkgs.stdenv.buildPlatform.system else builtins.currentSystem,
  swiftToolchain ? "/opt/swift",
  mkportableExe ? null,
}:

let
  exampleLib = import ./examples/lib.nix { inherit pkgs system; };

  mkportable =
    if mkportableExe != null then
      # A single file: portable-service.nix takes its path as the builder.
      "${
        builtins.path {
          name = "mkportable";
          path = mkportableExe;
        }
      }"
    else if pkgs != null then
      pkgs.buildPackages.callPackage ./nix/package.nix { }
    else
      import ./nix/host-mkportable.nix {
        src = ./.;
        inherit system swiftToolchain;
      };

  portableService =
    if pkgs != null then
      pkgs.callPackage ./nix/portable-service.nix { inherit mkportable system; }
    else
      import ./nix/portable-service.nix {
        inherit mkportable system;
        inherit (exampleLib) runCommand;
        closureInfo = import ./nix/stand-in/closure-info.nix { inherit (exampleLib) runCommand; };
      };
in
{
  inherit mkportable portableService;
  examples = import ./examples {
    inherit portableService;
    lib = exampleLib;
  };
}
