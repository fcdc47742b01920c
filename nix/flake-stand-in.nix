# Evaluates flake.nix's outputs without flakes (for nix-build and tests),
# with the nixpkgs stand-in (nix/stand-in, the flake nix/flake.nix) as the
# `nixpkgs` input. The flake route is the same with real flakes:
#
#   nix flake check --impure --override-input nixpkgs path:$PWD/nix
#
# Besides the flake's checks this gives the overlay applied to the
# stand-in, natively and under pkgsCross, for the tests:
#
#   nix-build nix/flake-stand-in.nix -A checks      # builds every check
{
  system ? builtins.currentSystem,
  swiftToolchain ? "/opt/swift",
}:

let
  nixpkgs = import ./stand-in { inherit swiftToolchain; };
  flake = import ../flake.nix;
  self = flake.outputs { inherit self nixpkgs; };
  pkgs = nixpkgs.legacyPackages.${system};
  overlaid = pkgs.appendOverlays [ self.overlays.default ];
  unit =
    p: name:
    p.writeText "${name}.service" ''
      [Service]
      ExecStart=${p.busybox}/bin/busybox true
    '';
  demo =
    p: name:
    p.portableService {
      pname = name;
      version = "1";
      units = [ (unit p name) ];
    };
in
{
  inherit nixpkgs flake self;
  checks = self.checks.${system};
  package = self.packages.${system}.default;
  inherit overlaid;
  # pkgs.portableService from the overlay, natively and cross (built on
  # `system` by buildPackages.mkportable for an aarch64 host).
  overlay = demo overlaid "overlay";
  cross = demo overlaid.pkgsCross.aarch64-multiplatform "cross";
  # lib.portableService without the overlay.
  lib = self.lib.portableService pkgs {
    pname = "lib";
    version = "1";
    units = [ (unit pkgs "lib") ];
  };
}
