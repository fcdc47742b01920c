# Evaluates flake.nix's outputs offline, with a stand-in for nixpkgs made
# from builtins, so that the flake's plumbing (packages, lib, overlay,
# checks including the rebuild comparisons) is exercised on a machine
# without nixpkgs. The stand-in provides just what flake.nix and the
# examples use: lib.genAttrs, legacyPackages.<system>.{callPackage,
# runCommand, pkgsStatic.busybox, stdenv.hostPlatform.system}.
# `callPackage ./nix/package.nix` is answered with the host-toolchain build
# (nix/host-mkportable.nix), so nix/package.nix itself is not exercised.
#
#   nix-build nix/flake-stand-in.nix -A checks      # builds every check
{
  system ? builtins.currentSystem,
  swiftToolchain ? "/opt/swift",
}:

let
  repo = ../.;
  examplesLib = import ../examples/lib.nix { inherit system; };
  pkgs = {
    inherit system;
    stdenv.hostPlatform.system = system;
    pkgsStatic.busybox = examplesLib.busybox;
    callPackage =
      _path: _args:
      import ./host-mkportable.nix {
        src = repo;
        inherit system swiftToolchain;
      };
    runCommand = examplesLib.runCommand;
  };
  nixpkgs = {
    lib.genAttrs = names: f: builtins.listToAttrs (map (name: { inherit name; value = f name; }) names);
    legacyPackages = builtins.listToAttrs (
      map (s: { name = s; value = pkgs; }) [ "x86_64-linux" "aarch64-linux" ]
    );
  };
  flake = import ../flake.nix;
  self = flake.outputs { inherit self nixpkgs; };
  final = pkgs // self.overlays.default final pkgs;
in
{
  inherit flake self;
  checks = self.checks.${system};
  package = self.packages.${system}.default;
  # The overlay's portableService, and lib.portableService, on one unit.
  overlay = final.portableService {
    pname = "overlay";
    version = "1";
    units = [ (builtins.toFile "overlay.service" "[Service]\nExecStart=/bin/true\n") ];
  };
  lib = self.lib.portableService pkgs {
    pname = "lib";
    version = "1";
    units = [ (builtins.toFile "lib.service" "[Service]\nExecStart=/bin/true\n") ];
  };
}
