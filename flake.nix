# mkportable as a flake.
#
#   packages.<system>.default   mkportable, built with nixpkgs' Swift (>= 6.0)
#   lib.portableService pkgs    nixpkgs-compatible portableService for pkgs
#   overlays.default            adds `mkportable` and replaces `portableService`
#   checks.<system>.*           the example images, each image's
#                               passthru.tests.rebuild (a second independent
#                               build compared byte for byte), an image made
#                               through the overlay, and mkportable
#
# Offline, the flake is checked against the nixpkgs stand-in in nix/
# (nix/flake.nix): see nix/README.md.
{
  description = "Reproducible systemd portable service images from Nix closures";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});

      # portableService for `pkgs`, as the overlay makes it: the image is
      # built on the build platform (pkgs.stdenv's, which callPackage
      # passes) by the build platform's mkportable.
      portableServiceFor =
        pkgs: mkportable:
        pkgs.callPackage ./nix/portable-service.nix { inherit mkportable; };
    in
    {
      packages = forAllSystems (pkgs: rec {
        mkportable = pkgs.callPackage ./nix/package.nix { };
        default = mkportable;
      });

      lib.portableService =
        pkgs: portableServiceFor pkgs (pkgs.buildPackages.callPackage ./nix/package.nix { });

      overlays.default = import ./nix/overlay.nix;

      checks = forAllSystems (
        pkgs:
        let
          examples = import ./examples {
            portableService = self.lib.portableService pkgs;
            lib = import ./examples/lib.nix { inherit pkgs; };
          };
          names = builtins.filter (n: n != "recurseForDerivations") (builtins.attrNames examples);
          overlaid = pkgs.appendOverlays [ self.overlays.default ];
        in
        builtins.listToAttrs (
          map (name: {
            name = "example-${name}";
            value = examples.${name};
          }) names
          ++ map (name: {
            name = "rebuild-${name}";
            value = examples.${name}.tests.rebuild;
          }) names
        )
        // {
          mkportable = pkgs.callPackage ./nix/package.nix { };
          # pkgs.portableService through the overlay, on the hello example.
          overlay-hello = import ./examples/hello.nix {
            inherit (overlaid) portableService;
            lib = import ./examples/lib.nix { pkgs = overlaid; };
          };
        }
      );
    };
}
