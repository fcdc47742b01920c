# Helpers for the examples. With nixpkgs (pkgs given) they are nixpkgs' own:
# pkgs.runCommand, pkgs.writeText, pkgs.writeScriptBin and
# pkgs.pkgsStatic.busybox. Without, the same functions from builtins:
# builtins.derivation with a static busybox as the builder, the host's
# busybox-static imported into the store (nix/host-busybox.nix).
{
  pkgs ? null,
  system ? if pkgs != null then pkgs.stdenv.hostPlatform.system else builtins.currentSystem,
}:

let
  own = rec {
  # A store path with a statically linked bin/busybox: the only program
  # the example services run.
  busybox =
    if pkgs != null then pkgs.pkgsStatic.busybox else import ../nix/host-busybox.nix { };

  busyboxExe = "${busybox}/bin/busybox";

  # runCommand NAME ATTRS SCRIPT: a derivation built by `busybox sh -e`
  # running SCRIPT with every busybox applet on PATH. ATTRS become
  # environment variables, as with builtins.derivation.
  runCommand =
    name: attrs: script:
    builtins.derivation (
      {
        inherit name system;
        builder = busyboxExe;
        args = [
          "sh"
          "-e"
          "-c"
          ''
            ${busyboxExe} mkdir -p "$NIX_BUILD_TOP/.bin"
            ${busyboxExe} --install -s "$NIX_BUILD_TOP/.bin"
            export PATH="$NIX_BUILD_TOP/.bin"
            ${script}
          ''
        ];
      }
      // attrs
    );

  # A file whose contents are TEXT. Unlike builtins.toFile, TEXT may refer
  # to derivation outputs. The store path's name is NAME, so a unit made
  # with writeText "demo.service" is named demo.service in the image.
  writeText =
    name: text:
    runCommand name { inherit text; } ''
      printf '%s' "$text" > "$out"
    '';

  # An executable $out/bin/NAME whose contents are TEXT.
  writeScriptBin =
    name: text:
    runCommand name { inherit text; } ''
      mkdir -p "$out/bin"
      printf '%s' "$text" > "$out/bin/${name}"
      chmod 0555 "$out/bin/${name}"
    '';
};
in
if pkgs != null then
  {
    inherit (own) busybox busyboxExe;
    inherit (pkgs) runCommand writeText writeScriptBin;
  }
else
  own
