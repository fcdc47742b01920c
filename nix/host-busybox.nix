# A static busybox from the host, as a derivation with bin/busybox, the
# shape of nixpkgs' pkgsStatic.busybox: a derivation output, not a source
# path, so that an example which would break on nixpkgs (builtins.toFile
# text referring to busybox) breaks here too.
#
# Debian's busybox-static installs /usr/bin/busybox. It is imported into the
# store as a directory holding bin/busybox (the name matters: busybox picks
# its applet from argv[0], and a store path named <hash>-busybox is not
# "busybox"), and that copy is the builder that copies itself to $out. The
# store paths depend only on the file's bytes. Reading /usr needs impure
# evaluation (nix-build does that; flakes need --impure).
{
  path ? "/usr/bin/busybox",
  system ? builtins.currentSystem,
}:

let
  dir = dirOf path; # /usr/bin
  parent = dirOf dir; # /usr
  source = builtins.path {
    name = "busybox-host-source";
    path = /. + parent;
    filter = p: _type: p == dir || p == path;
  };
  sourceExe = "${source}/${baseNameOf dir}/busybox";
in
if !(builtins ? currentSystem) then
  throw "host busybox: reading ${path} from the host needs impure evaluation; run nix with --impure (e.g. nix flake check --impure), or use nixpkgs' busybox"
else if !builtins.pathExists path then
  throw "host busybox: ${path} does not exist; install Debian's busybox-static (apt-get install busybox-static), or evaluate with nixpkgs (pkgs argument)"
else
  builtins.derivation {
    name = "busybox";
    inherit system;
    builder = sourceExe;
    args = [
      "sh"
      "-c"
      "${sourceExe} mkdir -p $out/bin && ${sourceExe} cp ${sourceExe} $out/bin/busybox"
    ];
    allowSubstitutes = false;
    preferLocalBuild = true;
  }
