# closureInfo { rootPaths } -> a derivation whose store-paths file lists the
# closure of rootPaths, sorted, one per line, as nixpkgs' closureInfo does
# (pkgs/build-support/closure-info.nix). nixpkgs' also writes
# `registration` and `total-nar-size` from the JSON graph; this one, made
# with busybox only, writes store-paths and a registration without hashes
# (path, deriver, references), the text form Nix exports.
{ runCommand }:

{ rootPaths }:

let
  keys = builtins.genList (i: "closure-${toString i}") (builtins.length rootPaths);
in
runCommand "closure-info"
  {
    exportReferencesGraph = builtins.concatLists (
      builtins.genList (i: [
        (builtins.elemAt keys i)
        (builtins.elemAt rootPaths i)
      ]) (builtins.length rootPaths)
    );
    inherit keys;
  }
  ''
    mkdir -p "$out"
    : > "$out/registration"
    for k in $keys; do cat "$k" >> "$out/registration"; done
    # Each entry: path, deriver, the number of references, the references.
    awk 'state == 0 { print; state = 1; next }
         state == 1 { state = 2; next }
         state == 2 { n = $1; state = (n > 0) ? 3 : 0; next }
         state == 3 { if (--n == 0) state = 0; next }' "$out/registration" | sort -u > "$out/store-paths"
  ''
