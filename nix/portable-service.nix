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
# or, in nixpkgs style, `pkgs.callPackage ./nix/portable-service.nix
# { mkportable = pkgs.buildPackages.mkportable; }` (the overlay does that),
# which fills `lib`, `stdenv`, `closureInfo` and `runCommand` from pkgs and
# gives the function `.override`.
#
# The arguments, their meanings and defaults are those of nixpkgs'
# pkgs/build-support/portable-service/default.nix. The derivation runs
# `mkportable` directly as its builder, with __structuredAttrs = true, and
# writes $out/${pname}_${version}.raw.
#
# The result is shaped like a nixpkgs build helper's: pname
# "${pname}-img", meta, passthru (imageFileName, closureRoots, closure,
# tests) and overrideAttrs; see `passthruFor` and `metaFor` below.
{
  # The mkportable executable, run on the build platform: a derivation
  # with bin/mkportable, or a string path to the executable (with its
  # store context).
  mkportable,
  # nixpkgs' stdenv (callPackage gives it): its build platform is where the
  # image derivation is built, its host platform what the image is for.
  stdenv ? null,
  # Merged into every image derivation. Checks use it to force a second,
  # independent build of the same image.
  extraAttrs ? { },
  # nixpkgs' lib. With it, the result gets lib.extendDerivation's shape and
  # meta.platforms, and the squashfsTools warning is lib.warn's; without,
  # the same from builtins.
  lib ? null,
  # nixpkgs' closureInfo ({ rootPaths } -> derivation with store-paths);
  # gives passthru.closure. Without it passthru.closure is null.
  closureInfo ? null,
  # nixpkgs' runCommand (name -> env -> script); gives passthru.tests.
  # Without it passthru.tests is { }.
  runCommand ? null,
  # Also taken, but not declared, so that callPackage does not fill them
  # from pkgs (nixpkgs' pkgs.system is a deprecated alias, warning when
  # read, of the *host* platform's system):
  #   system      the system the image derivation is built on (default: the
  #               stdenv's build platform, else builtins.currentSystem);
  #   hostSystem  the system the image is for, a DDI's partition types
  #               (default: the stdenv's host platform, else `system`);
  #   pkgs        nixpkgs' own portableService takes `pkgs`, so
  #               `.override { pkgs = ...; }` is accepted; its `lib`,
  #               `closureInfo` and `runCommand` are used where those are
  #               not given themselves (nixpkgs takes its mksquashfs and
  #               closureInfo from it).
  # Any other argument is refused by name.
  ...
}@functionArgs:

let
  knownFunctionArgs = [
    "mkportable"
    "stdenv"
    "extraAttrs"
    "lib"
    "closureInfo"
    "runCommand"
    "system"
    "hostSystem"
    "pkgs"
  ];
  unknownFunctionArgs = builtins.attrNames (removeAttrs functionArgs knownFunctionArgs);

  pkgsArg = functionArgs.pkgs or null;
  lib = if functionArgs.lib or null != null then functionArgs.lib else pkgsArg.lib or null;
  closureInfo = if functionArgs.closureInfo or null != null then functionArgs.closureInfo else pkgsArg.closureInfo or null;
  runCommand = if functionArgs.runCommand or null != null then functionArgs.runCommand else pkgsArg.runCommand or null;

  system =
    functionArgs.system or (if stdenv != null then stdenv.buildPlatform.system else builtins.currentSystem);
  hostSystem = functionArgs.hostSystem or (if stdenv != null then stdenv.hostPlatform.system else system);

  # nixpkgs' lib.warn when lib is given (it honours abort-on-warn and
  # NIX_ABORT_ON_WARN); else builtins.warn (Nix 2.23 and later), else a
  # trace in the same words that also aborts under NIX_ABORT_ON_WARN.
  warn =
    if lib != null then
      lib.warn
    else
      builtins.warn or (
        msg: value:
        builtins.trace "evaluation warning: ${msg}" (
          if
            builtins.elem (builtins.getEnv "NIX_ABORT_ON_WARN") [
              "1"
              "true"
              "yes"
            ]
          then
            abort "NIX_ABORT_ON_WARN=true; warnings are treated as unrecoverable errors."
          else
            value
        )
      );

  inherit (builtins)
    all
    any
    concatMap
    concatStringsSep
    elem
    filter
    foldl'
    genList
    elemAt
    getContext
    hasContext
    head
    isAttrs
    isBool
    isList
    isString
    typeOf
    length
    match
    replaceStrings
    split
    storeDir
    stringLength
    substring
    toString
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

  # The rules written once (nix/rules.json; the Swift builder's
  # Sources/PortableService/ServiceRules.swift is generated from it).
  ruleSet = import ./rules.nix;
  inherit (ruleSet) rules;
  suffixes = rules.unitName.suffixes;
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
      matching = filter (suffix: hasSuffix suffix name) suffixes;
      suffix = head matching;
      bad = firstOutside rules.unitName.characters name;
    in
    if stringLength name > rules.unitName.maxBytes then
      "the name is ${toString (stringLength name)} bytes long; systemd allows at most ${toString rules.unitName.maxBytes}"
    else if matching == [ ] then
      "the name must end in ${concatStringsSep ", " suffixes} (the unit types portablectl attaches; it ignores any other file there, so nixpkgs' image would carry this one unused)"
    else if bad != null then
      "the name contains ${describeChar bad}; a unit name may contain only letters, digits and : - _ . \\ @"
    else if substring 0 1 name == "@" then
      "the name starts with '@'; a template or instance needs a prefix before '@'"
    else if
      !(
        substring 0 lp name == pname
        && elem (substring lp 1 name) rules.unitName.prefixSeparators
      )
    then
      "portablectl attaches only units whose name is the image prefix \"${pname}\" followed by '-', '.' or '@', e.g. \"${pname}${suffix}\" or \"${pname}-worker${suffix}\"; rename the unit's derivation"
    else
      null;

  fail = msg: throw "portableService: ${msg}";

  # A value's type for a message, as mkportable describes JSON values.
  describeType =
    v:
    let
      t = typeOf v;
    in
    if t == "string" then
      "a string"
    else if t == "int" || t == "float" then
      "a number"
    else if t == "bool" then
      "a boolean"
    else if t == "set" then
      "an attribute set"
    else if t == "list" then
      "a list"
    else if t == "null" then
      "null"
    else
      "a ${t}";

  # CPUs (of a Nix system) with discoverable partition types for a DDI
  # (Sources/DiskImage/PartitionType.swift).
  ddiCPUs = [
    "x86_64"
    "aarch64"
    "i686"
    "armv7l"
    "armv7a"
    "armv6l"
    "riscv64"
    "loongarch64"
    "powerpc64le"
    "s390x"
  ];

  # A character for a message, as mkportable describes it.
  describeChar =
    c:
    if c == " " then
      "a space"
    else if c == "\t" then
      "a tab"
    else if c == "\n" then
      "a newline"
    else if match "[!-~]" c != null then
      "'${c}'"
    else
      "a control or non-ASCII character";

  # The first character of `s` outside the character class `allowed`
  # (a regex bracket expression body), or null.
  firstOutside =
    allowed: s:
    let
      m = match "[${allowed}]*([^${allowed}]).*" s;
    in
    if m == null then null else head m;

  # The checks mkportable's builder makes (Sources/PortableService), with
  # the same wording, so that a mistake is reported at evaluation time.
  # Each returns null when fine, else the message.

  # pname: the prefix portablectl derives from the image file name (the
  # name up to the first '_', only letters, digits, '-' and '.').
  pnameProblem =
    pname:
    let
      bad = firstOutside rules.pname.characters pname;
    in
    if !isString pname then
      "pname must be a string"
    else if pname == "" then
      "pname is empty; it names the image file \${pname}_\${version}.raw and is the prefix of every unit name, e.g. \"demo\""
    else if stringLength pname > rules.pname.maxBytes then
      "pname \"${pname}\" is ${toString (stringLength pname)} bytes long; keep it under ${toString rules.pname.maxBytes} so unit names stay within systemd's ${toString rules.unitName.maxBytes}"
    else if bad == "_" then
      "pname \"${pname}\" contains '_'; portablectl takes the image file name up to the first '_' as the unit prefix, so use '-' instead (e.g. \"${replaceStrings [ "_" ] [ "-" ] pname}\")"
    else if bad == ":" then
      "pname \"${pname}\" contains ':'; portablectl accepts only letters, digits, '-' and '.' in an image's prefix"
    else if bad == "/" then
      "pname \"${pname}\" contains '/'; it names a single image file \${pname}_\${version}.raw; use only letters, digits, '-' and '.'"
    else if bad != null then
      "pname \"${pname}\" contains ${describeChar bad}; portablectl accepts only letters, digits, '-' and '.' in an image's prefix"
    else if match "[A-Za-z0-9].*" pname == null then
      "pname \"${pname}\" must start with a letter or digit (it is the image's unit prefix and names the image file)"
    else
      null;

  # version: part of the image file name, and of the derivation name
  # (${pname}-img-${version}), which Nix restricts further.
  versionProblem =
    pname: version:
    let
      fileName = "\${pname}_\${version}.raw";
      ws = match "[^[:space:][:cntrl:]]*([[:space:][:cntrl:]]).*" version;
      bad = firstOutside rules.version.characters version;
    in
    if !isString version then
      "version must be a string"
    else if version == "" then
      "version is empty; the image is named ${fileName}, e.g. \"1.0\""
    else if match ".*/.*" version != null then
      "version \"${version}\" contains '/'; the image is named ${fileName}, a single file name"
    else if ws != null then
      "version \"${version}\" contains ${describeChar (head ws)}; the image is named ${fileName}, so use a version without white space or control characters, e.g. \"1.0\""
    else if stringLength pname + stringLength version + 5 > rules.version.fileNameMaxBytes then
      "version \"${version}\" makes the image file name ${toString (stringLength pname + stringLength version + 5)} bytes long (${fileName}); file names hold at most 255 bytes, so shorten the version"
    else if bad != null then
      "version \"${version}\" contains ${describeChar bad}, which Nix does not allow in the derivation name \${pname}-img-\${version}; use letters, digits and + - . _ ? ="
    else
      null;

  # "/etc//ssl/" -> [ "etc" "ssl" ]; null when there is a ".." component.
  pathComponents =
    s:
    let
      parts = filter (c: isString c && c != "" && c != ".") (split "/" s);
    in
    if elem ".." parts then null else parts;

  isPrefixOf =
    a: b: length a <= length b && all (i: elemAt a i == elemAt b i) (genList (i: i) (length a));

  render = p: "/" + concatStringsSep "/" p;

  storeComponents = filter (c: isString c && c != "") (split "/" storeDir);

  unitDirectory = ruleSet.pathOf rules.scaffold.unitDirectory;

  # Scaffold entries a symlink may not replace.
  scaffoldFiles = map (f: {
    path = ruleSet.pathOf f.path;
    inherit (f) what;
  }) rules.scaffold.files;
  scaffoldDirectories =
    [
      {
        path = unitDirectory;
        what = "the unit directory ${render unitDirectory}";
      }
    ]
    ++ map (p: {
      path = ruleSet.pathOf p;
      what = "the mount point /${p}, which must stay an empty directory";
    }) rules.scaffold.mountPoints;
  # Mount points systemd mounts over in every portable service.
  coveredMountPoints = map ruleSet.pathOf rules.scaffold.coveredMountPoints;

  firstOf = l: if l == [ ] then null else head l;

  # Where symlinks[i] may go; `links` are { symlink (as given), path
  # (components) }, `unitNames` the units' file names.
  symlinkProblem =
    unitNames: links: i:
    let
      link = elemAt links i;
      p = link.path;
      shown = "\"${link.symlink}\"";
      pretty = render p;
      at = "symlinks[${toString i}].symlink";
      files =
        scaffoldFiles
        ++ genList (k: {
          path = unitDirectory ++ [ (elemAt unitNames k) ];
          what = "the unit file of units[${toString k}] (${elemAt unitNames k})";
        }) (length unitNames);
      reserved = files ++ scaffoldDirectories;
      same = firstOf (filter (r: r.path == p) reserved);
      unitLike =
        if length p == length unitDirectory + 1 && isPrefixOf unitDirectory p then
          firstOf (filter (suffix: hasSuffix suffix (elemAt p (length p - 1))) suffixes)
        else
          null;
      covered = firstOf (filter (m: length p > length m && isPrefixOf m p) coveredMountPoints);
      insideFile = firstOf (filter (r: length p > length r.path && isPrefixOf r.path p) files);
      holds = firstOf (filter (r: length r.path > length p && isPrefixOf p r.path) reserved);
      earlier = genList (j: { index = j; } // elemAt links j) i;
      dup = firstOf (filter (o: o.path == p) earlier);
      inOther = firstOf (filter (o: isPrefixOf o.path p) earlier);
      parentOfOther = firstOf (filter (o: isPrefixOf p o.path) earlier);
    in
    if isPrefixOf storeComponents p then
      "${at}: ${shown} is ${
        if length p == length storeComponents then "" else "inside "
      }the image's ${storeDir}, which holds exactly the closure (nixpkgs' mksquashfs puts such a link at /nix_1 instead, beside the closure's /nix); put the link outside the store (e.g. \"/bin/${elemAt p (length p - 1)}\") and point its object into the store"
    else if isPrefixOf p storeComponents then
      "${at}: ${shown} would replace ${pretty}, the directory that holds the image's ${storeDir}; choose a path outside ${pretty}"
    else if same != null then
      "${at}: ${shown} is ${same.what}; choose another path for the link"
    else if covered != null then
      "${at}: ${shown} lies inside the mount point ${render covered}, which systemd mounts over when the service runs, hiding the link; put the link elsewhere, e.g. under /etc or /var/lib"
    else if unitLike != null then
      "${at}: ${shown} is a ${unitLike} file in the unit directory as a symlink, which portablectl does not attach (systemd 252 and 257 skip it, so nixpkgs' image attaches without it); pass the unit in `units` instead"
    else if insideFile != null then
      "${at}: ${shown} lies inside ${render insideFile.path}, which is ${insideFile.what}, a file; choose another path for the link"
    else if holds != null then
      "${at}: ${shown} would replace the directory ${pretty}, which holds ${render holds.path} (${holds.what}); link individual entries inside ${pretty} instead"
    else if dup != null then
      "${at}: ${shown} is also symlinks[${toString dup.index}].symlink (\"${dup.symlink}\"); each link needs its own path; drop one of them"
    else if inOther != null then
      "${at}: ${shown} lies inside symlinks[${toString inOther.index}].symlink \"${inOther.symlink}\", which is a symlink and cannot hold entries; drop one of them, or make symlinks[${toString inOther.index}] point to a directory that already holds this entry"
    else if parentOfOther != null then
      "${at}: ${shown} is a parent of symlinks[${toString parentOfOther.index}].symlink \"${parentOfOther.symlink}\"; a symlink cannot hold entries; drop one of them, or make symlinks[${toString i}] point to a directory that already holds that entry"
    else
      null;

  # What a derivation declares as its licence(s), as a list.
  licensesOf =
    x:
    if isAttrs x && x ? meta && isAttrs x.meta && x.meta ? license then
      (if isList x.meta.license then x.meta.license else [ x.meta.license ])
    else
      [ ];
  unique = foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];

  # lib.extendDerivation when nixpkgs' lib is given; otherwise the same
  # shape from builtins (the attributes on the result and on its `out`).
  extendDerivation =
    attrs: drv:
    if lib != null then
      lib.extendDerivation true attrs drv
    else
      let
        self =
          drv
          // attrs
          // {
            out = self // {
              outputSpecified = true;
            };
            all = [ self.out ];
          };
      in
      self;

  # The arguments portableService takes and their defaults: nixpkgs'
  # (pname ... squash-block-size), plus `meta` and `passthru`, merged into
  # the result's. overrideAttrs works on this same set; a new argument
  # (e.g. for another image format) goes here and into `derivationFor`.
  resolve =
    {
      pname,
      version,
      units,
      description ? null,
      homepage ? null,
      symlinks ? [ ],
      contents ? [ ],
      # nixpkgs' `squashfs-tools` chooses the mksquashfs it runs. mkportable
      # writes the image itself, so it is taken and ignored without a word:
      # a call written for nixpkgs evaluates as it is, also under
      # abort-on-warn. `squashfsTools`, which nixpkgs never took, warns.
      squashfsTools ? null,
      squashfs-tools ? null,
      squash-compression ? "xz -Xdict-size 100%",
      squash-block-size ? "1M",
      # mkportable's own: dm-verity sidecars (NAME.verity, NAME.roothash)
      # beside the image, or the image as a GPT disk image ("ddi", verity
      # included).
      verity ? false,
      format ? "raw",
      # mkportable's own: the file system the image holds ("squashfs", as
      # nixpkgs, or "erofs") and, for erofs, the compression in
      # mkfs.erofs's -z syntax (null: nix/rules.json's erofs default).
      filesystem ? "squashfs",
      erofs-compression ? null,
      meta ? { },
      passthru ? { },
    }:
    {
      inherit
        pname
        version
        units
        description
        homepage
        symlinks
        contents
        squashfsTools
        squashfs-tools
        squash-compression
        squash-block-size
        verity
        format
        filesystem
        erofs-compression
        meta
        passthru
        ;
    };

  # The checked image derivation for resolved arguments `args`, with
  # `extra` merged into its attributes. `roots` are what exportReferencesGraph
  # gets (also passthru.closureRoots).
  derivationFor =
    extra: args:
    let
      inherit (args)
        pname
        version
        units
        symlinks
        contents
        squashfsTools
        squashfs-tools
        verity
        format
        filesystem
        ;
      unitPaths = map str units;
      erofs = filesystem == "erofs";
      erofsCompression = if args.erofs-compression == null then ruleSet.rules.erofs.defaultCompression else args.erofs-compression;

      # The builder's squashfs settings, by its rule (nix/rules.nix).
      blockSizeGiven = if args.squash-block-size == null then "1M" else args.squash-block-size;
      blockSizeChecked =
        if isString blockSizeGiven || builtins.isInt blockSizeGiven then
          ruleSet.blockSize blockSizeGiven
        else
          { problem = "expected a size such as \"1M\" or 131072, found ${describeType blockSizeGiven}"; };
      compression = if args.squash-compression == null then "xz -Xdict-size 100%" else args.squash-compression;
      compressionChecked =
        if !isString compression then
          "expected a string or null, found ${describeType compression}"
        else
          ruleSet.compressionProblem compression blockSizeChecked.size;
      contentPaths = map str contents;

      checkedSymlinks = genList (
        i:
        let
          s = elemAt symlinks i;
          at = "symlinks[${toString i}]";
        in
        if !(isAttrs s && s ? object && s ? symlink) then
          fail "${at}: each symlinks entry must be { object = ...; symlink = \"/path\"; }"
        else if !isString s.symlink then
          fail "${at}.symlink: symlink must be a string path such as \"/bin/sh\""
        else if s.symlink == "" then
          fail "${at}.symlink: is empty; give the link's path in the image, e.g. \"/bin/sh\""
        else if pathComponents s.symlink == null then
          fail "${at}.symlink: \"${s.symlink}\" contains '..'; give the link's path from the image root, e.g. \"/bin/sh\""
        else if pathComponents s.symlink == [ ] then
          fail "${at}.symlink: \"${s.symlink}\" names the image root; give the link's path from the image root, e.g. \"/bin/sh\""
        else if str s.object == "" then
          fail "${at}.object: \"\" is not a usable link target (empty)"
        else
          {
            object = str s.object;
            symlink = s.symlink;
          }
      ) (if isList symlinks then length symlinks else throw "portableService: symlinks must be a list of { object, symlink }");

      symlinkPlaces = map (s: {
        inherit (s) symlink;
        path = pathComponents s.symlink;
      }) checkedSymlinks;

      symlinkChecks = genList (
        i:
        let
          problem = symlinkProblem (map unitName unitPaths) symlinkPlaces i;
        in
        if problem != null then fail problem else true
      ) (length symlinkPlaces);

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
        if pnameProblem pname != null then
          fail (pnameProblem pname)
        else if versionProblem pname version != null then
          fail (versionProblem pname version)
        else if !isList units then
          fail "units must be a list of unit file derivations"
        else if units == [ ] then
          fail "units: the list is empty; portablectl attaches an image only for its units (nixpkgs' image without units is refused: \"Couldn't find any matching unit files in image\"), so give at least one"
        else if !isBool verity then
          fail "verity: expected true or false, found ${describeType verity}; verity = true writes NAME.verity and NAME.roothash beside the image"
        else if format != null && !isString format then
          fail "format: expected a string or null, found ${describeType format}"
        else if
          format != null
          && !elem format [
            "raw"
            "ddi"
          ]
        then
          fail "format: \"${format}\" is not a known format; use \"raw\" (the file system image alone) or \"ddi\" (a GPT disk image with dm-verity)"
        else if format == "ddi" && !elem (head (split "-" hostSystem)) ddiCPUs then
          fail "hostSystem: \"${hostSystem}\": no discoverable partition types are known for its architecture; format = \"ddi\" supports aarch64, armv7l, i686, loongarch64, powerpc64le, riscv64, s390x, x86_64"
        else if filesystem != null && !isString filesystem then
          fail "filesystem: expected a string or null, found ${describeType filesystem}"
        else if filesystem != null && !elem filesystem rules.fileSystems then
          fail "filesystem: \"${filesystem}\" is not a known file system; use \"squashfs\" (the default, as nixpkgs) or \"erofs\""
        else if args.erofs-compression != null && !isString args.erofs-compression then
          fail "erofs-compression: expected a string or null, found ${describeType args.erofs-compression}"
        else if args.erofs-compression != null && !erofs then
          fail "erofs-compression: \"${args.erofs-compression}\" applies to erofs images only; add filesystem = \"erofs\" or leave erofs-compression out"
        else if erofs && ruleSet.erofsCompressionProblem erofsCompression != null then
          fail "erofs-compression: \"${erofsCompression}\": ${ruleSet.erofsCompressionProblem erofsCompression}"
        else if erofs && !elem args.squash-compression [ null "xz -Xdict-size 100%" ] then
          fail "squash-compression: applies to squashfs images only; with filesystem = \"erofs\" leave it out or set it to null, and give erofs-compression (mkfs.erofs's -z syntax, e.g. \"${ruleSet.rules.erofs.defaultCompression}\")"
        else if erofs && !elem args.squash-block-size [ null "1M" ] then
          fail "squash-block-size: applies to squashfs images only; erofs images always have 4 KiB blocks, so leave it out or set it to null"
        else if blockSizeChecked ? problem then
          fail "squash-block-size: ${if isString args.squash-block-size then "\"${args.squash-block-size}\": " else ""}${blockSizeChecked.problem}"
        else if compressionChecked != null then
          fail "squash-compression: \"${compression}\": ${compressionChecked}"
        else if squashfsTools != null then
          warn "portableService: squashfsTools is ignored; mkportable writes the squashfs image itself" true
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
          # nixpkgs: pname = "${pname}-img", so the same name.
          name = "${pname}-img-${version}";
          inherit
            system
            builder
            pname
            version
            ;
          inherit (args) description homepage;
          __structuredAttrs = true;
          units = unitPaths;
          contents = contentPaths;
          symlinks = checkedSymlinks;
          exportReferencesGraph.closure = roots;
          # The image is cheap to make and large to download.
          allowSubstitutes = false;
          preferLocalBuild = true;
        }
        # Only when asked for, so that existing images' derivations stay as
        # they were.
        # The squashfs settings, or (only when asked for) the erofs ones.
        // (
          if erofs then
            {
              inherit filesystem;
              erofs-compression = erofsCompression;
            }
          else
            {
              squash-compression = args.squash-compression;
              squash-block-size = args.squash-block-size;
            }
        )
        // (if verity then { verity = true; } else { })
        # A DDI's partition types name the architecture the image runs on,
        # which under cross is not the one building it.
        // (if format == "ddi" then { inherit format; imageSystem = hostSystem; } else { })
        // extraAttrs
        // extra
      );
    in
    assert checks;
    assert all (x: x) unitChecks;
    assert all (x: x) symlinkChecks;
    {
      inherit drv roots;
    };

  # meta: description and homepage as given; license: the licences the
  # units and contents declare in their own meta (the closure's other
  # store paths are not looked at: only derivations passed in are visible
  # at evaluation time); platforms: Linux (what portablectl runs on);
  # position: where the caller wrote `pname` (nixpkgs' mkDerivation takes
  # meta.position from its own `pname`, which for nixpkgs' portableService
  # is inside nixpkgs; `nix edit` and the like go here to the image's
  # definition instead). Then the caller's `meta` over it.
  metaFor =
    pos: args:
    let
      licenses = unique (concatMap licensesOf (args.units ++ args.contents));
    in
    (if args.description != null then { inherit (args) description; } else { })
    // (if args.homepage != null then { inherit (args) homepage; } else { })
    // (
      if licenses == [ ] then
        { }
      else
        {
          license = if length licenses == 1 then head licenses else licenses;
        }
    )
    // (if lib != null then { platforms = lib.platforms.linux; } else { })
    // (if pos != null then { position = "${pos.file}:${toString pos.line}"; } else { })
    // args.meta;

  # `rattrs` is final -> arguments (the overrideAttrs fixed point, as in
  # nixpkgs' mkDerivation); `extra` goes into the derivation attributes;
  # `pos` is meta.position's source (null: none).
  imageWith =
    pos: extra: rattrs:
    let
      args = rattrs args;
      made = derivationFor extra args;
      inherit (made) drv;
      imageFileName = "${args.pname}_${args.version}.raw";
      passthru = {
        inherit imageFileName;
        # The store paths whose closure is the image's /nix/store.
        closureRoots = made.roots;
        # That closure, as nixpkgs' closureInfo (store-paths, registration).
        closure = if closureInfo == null then null else closureInfo { rootPaths = made.roots; };
        # tests.rebuild: the image built a second time as a separate
        # derivation (one more attribute), compared byte for byte.
        tests =
          if runCommand == null then
            { }
          else
            {
              rebuild =
                let
                  again = (derivationFor (extra // { mkportableRebuild = "independent build"; }) args).drv;
                in
                runCommand "${args.pname}-img-${args.version}-rebuild" { } ''
                  a=${drv}/${imageFileName}
                  b=${again}/${imageFileName}
                  if ! cmp "$a" "$b"; then
                    echo "two builds of ${imageFileName} differ: $a $b" >&2
                    # Why, in the log: tree, encoding, first differing byte.
                    ${builder} diff "$a" "$b" >&2 || true
                    exit 1
                  fi
                  echo "$a" > "$out"
                '';
            };
      }
      // args.passthru;
    in
    extendDerivation (
      passthru
      // {
        pname = "${args.pname}-img";
        inherit (args) version;
        meta = metaFor pos args;
        # nixpkgs' image has these as derivation attributes: its
        # closureInfo (here that of the image's roots, which is what its
        # /nix/store holds; null without closureInfo) and the tools of its
        # build (here the builder itself).
        closureInfo = passthru.closure;
        nativeBuildInputs = if isAttrs mkportable then [ mkportable ] else [ ];
        inherit passthru;
        # f is attrs, prev -> attrs or final -> prev -> attrs, as in
        # nixpkgs (lib.toExtension); the attributes are portableService's
        # arguments (so `pname` is the service's name, not
        # "${pname}-img"). Unknown ones are refused.
        overrideAttrs =
          f0:
          let
            f =
              final: prev:
              let
                x = if builtins.isFunction f0 then f0 prev else f0;
              in
              if builtins.isFunction x then f0 final prev else x;
            known = builtins.functionArgs resolve;
          in
          imageWith pos extra (
            final:
            let
              prev = rattrs final;
              new = f final prev;
              unknown = filter (n: !(known ? ${n})) (builtins.attrNames new);
            in
            if unknown != [ ] then
              fail "overrideAttrs: ${head unknown} is not an argument of portableService; the image is made from ${concatStringsSep ", " (builtins.attrNames known)}"
            else
              resolve (prev // new)
          );
      }
    ) drv;

  portableService = args: imageWith (builtins.unsafeGetAttrPos "pname" args) { } (_final: resolve args);
in
# A functor that carries resolve's arguments, as lib.setFunctionArgs makes
# (nixpkgs' callPackage turns the function into the same shape).
{
  __functor =
    _self:
    if unknownFunctionArgs != [ ] then
      fail "${head unknownFunctionArgs} is not an argument of the portableService function (nix/portable-service.nix); it takes ${concatStringsSep ", " knownFunctionArgs}"
    else
      portableService;
  __functionArgs = builtins.functionArgs resolve;
}
