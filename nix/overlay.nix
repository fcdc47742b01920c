# The overlay (flake.nix's overlays.default), for nixpkgs with or without
# flakes:
#
#   import <nixpkgs> { overlays = [ (import ./path/to/mkportable/nix/overlay.nix) ]; }
#
# adds `mkportable` (nix/package.nix, nixpkgs' Swift) and replaces
# `portableService` with nix/portable-service.nix, callPackage'd (so it has
# .override). Images are data made on the build platform: the builder is
# buildPackages.mkportable, and callPackage's `stdenv` gives the
# derivation's system (the build platform's, also under pkgsCross) and the
# platform a DDI's partition types are for (the host platform's).
final: prev: {
  mkportable = final.callPackage ./package.nix { };
  portableService = final.callPackage ./portable-service.nix {
    inherit (final.buildPackages) mkportable;
  };
}
