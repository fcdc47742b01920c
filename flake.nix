# mkportable as a flake.
#
#   packages.<system>.default   mkportable, built with nixpkgs' Swift
#   lib.portableService pkgs    nixpkgs-compatible portableService for pkgs
#   overlays.default            adds `mkportable` and replaces `portableService`
#   checks.<system>.*           the example images, plus a second independent
#                               build of each compared byte for byte
#
# Written against the flake schema and nixpkgs as documented; it cannot be
# evaluated on the development machine (no network, so no nixpkgs input).
# Without nixpkgs, use default.nix instead.
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

      mkportableFor = pkgs: pkgs.callPackage ./nix/package.nix { };

      portableServiceWith =
        extraAttrs: pkgs:
        import ./nix/portable-service.nix {
          mkportable = mkportableFor pkgs;
          inherit (pkgs.stdenv.hostPlatform) system;
          inherit extraAttrs;
        };
    in
    {
      packages = forAllSystems (pkgs: rec {
        mkportable = mkportableFor pkgs;
        default = mkportable;
      });

      lib.portableService = portableServiceWith { };

      overlays.default = final: prev: {
        mkportable = final.callPackage ./nix/package.nix { };
        portableService = import ./nix/portable-service.nix {
          inherit (final) mkportable;
          inherit (final.stdenv.hostPlatform) system;
        };
      };

      checks = forAllSystems (
        pkgs:
        let
          examplesWith =
            extraAttrs:
            import ./examples {
              portableService = portableServiceWith extraAttrs pkgs;
              lib = import ./examples/lib.nix { inherit pkgs; };
            };
          first = examplesWith { };
          # The same images built again as separate derivations (an extra
          # attribute changes the derivation hash, not the image): what
          # `nix-build --check` does, expressed as a check.
          second = examplesWith { mkportableRebuild = "2"; };
          names = builtins.filter (n: n != "recurseForDerivations") (builtins.attrNames first);
          rebuildCheck =
            name:
            pkgs.runCommand "mkportable-rebuild-${name}" { } ''
              a=${first.${name}}/${first.${name}.imageFileName}
              b=${second.${name}}/${second.${name}.imageFileName}
              if ! cmp "$a" "$b"; then
                echo "the two builds of example ${name} differ: $a $b" >&2
                exit 1
              fi
              touch "$out"
            '';
        in
        builtins.listToAttrs (
          map (name: {
            name = "example-${name}";
            value = first.${name};
          }) names
          ++ map (name: {
            name = "rebuild-${name}";
            value = rebuildCheck name;
          }) names
        )
        // {
          mkportable = mkportableFor pkgs;
        }
      );
    };
}
