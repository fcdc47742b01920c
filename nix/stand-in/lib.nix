# The part of nixpkgs' lib that mkportable's Nix files use, from builtins,
# behaving as nixpkgs' does where it matters to them. Written for the
# stand-in; semantics follow nixpkgs' lib/customisation.nix,
# lib/trivial.nix, lib/strings.nix, lib/fileset and lib/systems as read
# there, not their code.
let
  inherit (builtins)
    attrNames
    concatStringsSep
    filter
    functionArgs
    head
    intersectAttrs
    isAttrs
    isFunction
    listToAttrs
    removeAttrs
    unsafeGetAttrPos
    ;
in
rec {
  genAttrs =
    names: f:
    listToAttrs (
      map (name: {
        inherit name;
        value = f name;
      }) names
    );

  optionalAttrs = cond: attrs: if cond then attrs else { };
  optional = cond: x: if cond then [ x ] else [ ];
  id = x: x;
  fix =
    f:
    let
      x = f x;
    in
    x;
  # nixpkgs' overlay composition: final -> prev -> attrs.
  extends =
    overlay: f: final:
    let
      prev = f final;
    in
    prev // overlay final prev;

  # Functions and functors (attribute sets with __functor) alike.
  isFunction' = f: isFunction f || (isAttrs f && f ? __functor && isFunction' (f.__functor f));
  functionArgs' = f: if f ? __functor then f.__functionArgs or (functionArgs' (f.__functor f)) else functionArgs f;
  setFunctionArgs = f: args: {
    __functor = _self: f;
    __functionArgs = args;
  };
  mirrorFunctionArgs = f: g: setFunctionArgs g (functionArgs' f);

  # f origArgs, with `override` (new arguments, or a function of the old
  # ones) on the result; on a function result, the result becomes a functor
  # with its arguments kept.
  makeOverridable =
    f:
    mirrorFunctionArgs f (
      origArgs:
      let
        result = f origArgs;
        overrideWith = newArgs: origArgs // (if isFunction' newArgs then newArgs origArgs else newArgs);
        overrideArgs = mirrorFunctionArgs f (newArgs: makeOverridable f (overrideWith newArgs));
        overrideResult = g: makeOverridable (mirrorFunctionArgs f (args: g (f args))) origArgs;
      in
      # As nixpkgs, an attribute set comes first, functors (such as
      # portableService) included: they keep __functor and gain override.
      if isAttrs result then
        result
        // {
          override = overrideArgs;
          overrideDerivation = _: throw "nixpkgs stand-in: lib.overrideDerivation is not part of the stand-in";
          ${if result ? overrideAttrs then "overrideAttrs" else null} = fdrv: overrideResult (x: x.overrideAttrs fdrv);
        }
      else if isFunction' result then
        setFunctionArgs result (functionArgs' result)
        // {
          override = overrideArgs;
        }
      else
        result
    );

  # As nixpkgs: the arguments a function names are taken from autoArgs
  # (only those it names), `args` win, and a required argument found in
  # neither stops evaluation, naming it and where the function is.
  callPackageWith =
    autoArgs: fn: args:
    let
      f = if isFunction' fn then fn else import fn;
      fargs = functionArgs' f;
      allArgs = intersectAttrs fargs autoArgs // args;
      missing = filter (n: !fargs.${n} && !(allArgs ? ${n})) (attrNames fargs);
      pos = unsafeGetAttrPos (head missing) fargs;
      where = if pos == null then "" else " at ${pos.file}:${toString pos.line}";
    in
    if missing != [ ] then
      abort "lib.customisation.callPackageWith: Function called without required argument \"${head missing}\"${where}"
    else
      makeOverridable f allArgs;

  # Attributes added to the derivation and to each of its outputs, the
  # derivation itself unchanged; `condition` is asserted when the
  # derivation's paths are used.
  extendDerivation =
    condition: passthru: drv:
    let
      outputs = drv.outputs or [ "out" ];
      commonAttrs = drv // listToAttrs outputsList // { all = map (x: x.value) outputsList; } // passthru;
      outputToAttrListElement = outputName: {
        name = outputName;
        value =
          commonAttrs
          // {
            inherit (drv.${outputName}) type outputName;
            outputSpecified = true;
            drvPath =
              assert condition;
              drv.${outputName}.drvPath;
            outPath =
              assert condition;
              drv.${outputName}.outPath;
          }
          // optionalAttrs (passthru ? overrideAttrs) {
            overrideAttrs = f: (passthru.overrideAttrs f).${outputName};
          };
      };
      outputsList = map outputToAttrListElement outputs;
    in
    commonAttrs
    // {
      drvPath =
        assert condition;
        drv.drvPath;
      outPath =
        assert condition;
        drv.outPath;
    };

  getName = x: if builtins.isString x then (builtins.parseDrvName x).name else x.pname or (builtins.parseDrvName x.name).name;
  getVersion = x: if builtins.isString x then (builtins.parseDrvName x).version else x.version or (builtins.parseDrvName x.name).version;
  versionAtLeast = v1: v2: builtins.compareVersions v1 v2 >= 0;
  versionOlder = v1: v2: builtins.compareVersions v2 v1 == 1;
  assertMsg = pred: msg: pred || throw msg;

  # As nixpkgs' lib.warn: builtins.warn where Nix has it (2.23 and later;
  # it honours abort-on-warn), else a trace in the same words that aborts
  # when NIX_ABORT_ON_WARN is 1, true or yes. A plain builtins.trace would
  # let a warning through where nixpkgs' CI stops.
  warn =
    builtins.warn or (
      msg: value:
      assert builtins.isString msg;
      builtins.trace "evaluation warning: ${msg}" (
        if builtins.elem (builtins.getEnv "NIX_ABORT_ON_WARN") [ "1" "true" "yes" ] then
          abort "NIX_ABORT_ON_WARN=true; warnings are treated as unrecoverable errors."
        else
          value
      )
    );
  warnIf = cond: msg: if cond then warn msg else id;

  platforms.linux = [
    "aarch64-linux"
    "armv5tel-linux"
    "armv6l-linux"
    "armv7a-linux"
    "armv7l-linux"
    "i686-linux"
    "loongarch64-linux"
    "m68k-linux"
    "microblaze-linux"
    "microblazeel-linux"
    "mips-linux"
    "mips64-linux"
    "mips64el-linux"
    "mipsel-linux"
    "powerpc-linux"
    "powerpc64-linux"
    "powerpc64le-linux"
    "riscv32-linux"
    "riscv64-linux"
    "s390-linux"
    "s390x-linux"
    "x86_64-linux"
  ];

  licenses.mit = {
    spdxId = "MIT";
    shortName = "mit";
    fullName = "MIT License";
    free = true;
  };

  # lib.fileset, for what nix/package.nix does: toSource of unions of
  # files, directories and maybeMissing paths under `root`.
  fileset = {
    unions = list: { _fileset = builtins.concatMap (x: x._fileset or [ x ]) list; };
    maybeMissing = path: { _fileset = if builtins.pathExists path then [ path ] else [ ]; };
    toSource =
      { root, fileset }:
      let
        members = map toString (fileset._fileset or [ fileset ]);
        r = toString root;
        within = a: b: a == b || builtins.substring 0 (builtins.stringLength a + 1) b == a + "/";
      in
      builtins.path {
        name = "source";
        path = root;
        filter = p: _type: builtins.any (m: within m p || within p m) members && within r p;
      };
  };

  inherit concatStringsSep removeAttrs;
}
