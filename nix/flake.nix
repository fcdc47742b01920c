# The nixpkgs stand-in (stand-in/default.nix) as a flake: this directory,
# nix/, is the flake, so that the stand-in can reach host-busybox.nix and
# host-mkportable.nix (Nix copies only a path input's own directory).
#
#   nix flake check --impure --override-input nixpkgs path:$PWD/nix
#
# It is for testing mkportable's flake.nix offline; it is not nixpkgs.
{
  description = "A builtins-only stand-in for nixpkgs, for testing mkportable's flake offline";

  outputs = { self }: import ./stand-in { };
}
