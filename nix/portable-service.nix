# portableService, the mkportable way. Builtins only: this file evaluates
# with or without nixpkgs.
#
# Instantiate with the builder, then call like nixpkgs' portableService:
#
#   portableService = import ./nix/portable-service.nix { mkportable = ...; };
#   portableService {
#     pname = "demo";
#     version = "1.0";
#     units = [ demo-service demo-socket ];
#     symlinks = [ { object = "${cacert}/etc/ssl"; symlink = "/etc/ssl"; } ];
#   }
#
# The arguments, their meanings and defaults are those of nixpkgs'
# pkgs/build-support/portable/portable-service.nix. The derivation runs
# `mkportable` directly as its builder, with __structuredAttrs = true, and
# writes $out/${pname}_${version}.raw.
{
  # The mkportable executable: a derivation with bin/mkportable, or a
  # string path to the executable (with its store context).
  mkportable,
  system ? builtins.currentSystem,
  # Merged into every image derivation. Checks use it to force a second,
  # independent build of the same image.
  extraAttrs ? { },
}:

let
  inherit (builtins)
    all
    any
    concatMap
    concatStringsSep
    elem
    filter
    getContext
    hasContext
    head
    isAttrs
    isList
    isString
    length
    match
    split
    storeDir
    stringLength
    substring
    toString
    trace
    unsafeDiscardStringContext
    ;

  builder = if isAttrs mkportable then "${mkportable}/bin/mkportable" else mkportable;

  # "${x}": derivations become their output path, path values are copied
  # into the store, strings stay as they are (context included).
  str = x: "${x}";

  storePrefix = storeDir + "/";
  inStore = s: substring 0 (stringLength storePrefix) s == storePrefix;

  # The store path that contains `s`, keeping `s`'s string context:
  # exportReferencesGraph takes whole store paths only (Nix rejects
  # "${cacert}/etc/ssl" there), and it needs the context to know the
  # path is an input of the derivation. `substring` keeps the context of
  # the string it cuts from, so cutting `s` down to its first store
  # component gives the store path with the right context. A store path
  # written without context (a literal string) gets one from
  # builtins.storePath, which works in impure evaluation only.
  storeRoot =
    s:
    let
      rest = unsafeDiscardStringContext (substring (stringLength storePrefix) (stringLength s) s);
      name = head (split "/" rest);
      root = substring 0 (stringLength storePrefix + stringLength name) s;
    in
    if hasContext root then root else builtins.storePath root;

  hashLength = 32;
  # The unit's file name in the image: the store path's name without the
  # hash (that is the unit derivation's name), or the last component of a
  # path inside a store path.
  unitName =
    path:
    let
      p = unsafeDiscardStringContext path;
      rest = substring (stringLength storePrefix) (stringLength p) p;
      isRoot = inStore p && match "[^/]+" rest != null;
    in
    if isRoot then substring (hashLength + 1) (stringLength rest) rest else baseNameOf p;

  suffixes = [
    ".service"
    ".socket"
    ".target"
    ".timer"
    ".path"
  ];
  hasSuffix =
    suffix: s:
    let
      ls = stringLength s;
      lx = stringLength suffix;
    in
    ls > lx && substring (ls - lx) lx s == suffix;

  # The rule portablectl applies when it copies units out of an image
  # (systemd's portable.c unit_match/prefix_match + unit_name_is_valid);
  # mkportable checks the same again. null when fine.
  unitNameProblem =
    pname: name:
    let
      lp = stringLength pname;
    in
    if stringLength name > 255 then
      "the name is longer than 255 bytes"
    else if !any (suffix: hasSuffix suffix name) suffixes then
      "the name must end in ${concatStringsSep ", " suffixes} (the unit types portablectl attaches)"
    else if match "[A-Za-z0-9:_.\\@-]+" name == null then
      "a unit name may contain only letters, digits and : - _ . \\ @"
    else if substring 0 1 name == "@" then
      "a template or instance needs a prefix before '@'"
    else if
      !(
        substring 0 lp name == pname
        && elem (substring lp 1 name) [
          "-"
          "."
          "@"
        ]
      )
    then
      "portablectl attaches only units whose name is the image prefix \"${pname}\" followed by '-', '.' or '@', e.g. \"${pname}.service\" or \"${pname}-worker.service\"; rename the unit's derivation"
    else
      null;

  fail = msg: throw "portableService: ${msg}";
in

{
  pname,
  version,
  units,
  description ? null,
  homepage ? null,
  symlinks ? [ ],
  contents ? [ ],
  # nixpkgs passes mksquashfs here. mkportable writes the image itself, so
  # these are accepted for compatibility and ignored.
  squashfsTools ? null,
  squashfs-tools ? null,
  squash-compression ? "xz -Xdict-size 100%",
  squash-block-size ? "1M",
}:

let
  unitPaths = map str units;
  contentPaths = map str contents;

  checkedSymlinks = map (
    s:
    if !(isAttrs s && s ? object && s ? symlink) then
      fail "each symlinks entry must be { object = ...; symlink = \"/path\"; }"
    else if !isString s.symlink then
      fail "symlinks: symlink must be a string path such as \"/bin/sh\""
    else
      {
        object = str s.object;
        symlink = s.symlink;
      }
  ) symlinks;

  unitChecks = map (
    path:
    let
      name = unitName path;
      problem = unitNameProblem pname name;
    in
    if !inStore path then
      fail "unit ${unsafeDiscardStringContext path} is not in the Nix store; give the derivation that produces the unit file"
    else if problem != null then
      fail "unit \"${name}\" (${unsafeDiscardStringContext path}): ${problem}"
    else
      true
  ) unitPaths;

  checks =
    if !isString pname || match "[A-Za-z0-9][A-Za-z0-9:_.-]*" pname == null then
      fail "pname \"${toString pname}\" must start with a letter or digit and contain only letters, digits and : - _ . (it is the image's unit prefix)"
    else if !isString version || version == "" || match ".*/.*" version != null then
      fail "version must be a non-empty string without '/' (the image is named \${pname}_\${version}.raw)"
    else if !isList units || units == [ ] then
      fail "units must be a non-empty list of unit file derivations"
    else if squashfsTools != null then
      trace "warning: portableService: squashfsTools is ignored; mkportable writes the squashfs image itself" true
    else if squashfs-tools != null then
      trace "warning: portableService: squashfs-tools is ignored; mkportable writes the squashfs image itself" true
    else
      true;

  # What the image's /nix/store holds: the closure of the units, the
  # contents and the symlink objects that live in the store.
  roots =
    map storeRoot unitPaths
    ++ map storeRoot contentPaths
    ++ map (s: storeRoot s.object) (filter (s: inStore s.object) checkedSymlinks);

  drv = builtins.derivation (
    {
      name = "${pname}-img-${version}";
      inherit
        system
        builder
        pname
        version
        description
        homepage
        ;
      __structuredAttrs = true;
      units = unitPaths;
      contents = contentPaths;
      symlinks = checkedSymlinks;
      squash-compression = squash-compression;
      squash-block-size = squash-block-size;
      exportReferencesGraph.closure = roots;
      # The image is cheap to make and large to download.
      allowSubstitutes = false;
      preferLocalBuild = true;
    }
    // extraAttrs
  );
in
assert checks;
assert all (x: x) unitChecks;
drv
// {
  inherit pname version;
  # Where the image is, for scripts and tests.
  imageFileName = "${pname}_${version}.raw";
}
