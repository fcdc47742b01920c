# The overlay (flake.nix's overlays.default), for nixpkgs with or without
# flakes:
#
#   import <nixpkgs> { overlays = [ (import ./path/to/mkportable/nix/overlay.nix) ]; }
#
# adds `mkportable` (nix/package.nix, nixpkgs' Swift) and replaces
# `portableService` with nix/portable-service.nix, callPackage'd (so it has
# .override). Images are data made on the build platform: the builder is
# buildPackages.mkportable and the derivation's system the build
# platform's, also under pkgsCross; only a DDI's partition types are
# the host platform's.
final: prev: {
  mkportable = final.callPackage ./package.nix { };
  portableService = final.callPackage ./portable-service.nix {
    inherit (final.buildPackages) mkportable;
    system = final.stdenv.buildPlatform.system;
    # A DDI's partition types are the target's.
    hostSystem = final.stdenv.hostPlatform.system;
  };
}
