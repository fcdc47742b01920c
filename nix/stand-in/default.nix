# A stand-in for nixpkgs, made of builtins and the host's busybox, for a
# machine without nixpkgs. It has what mkportable's Nix files take from
# nixpkgs, shaped and as strict as nixpkgs where those files touch it:
#
#   lib              nix/stand-in/lib.nix (callPackageWith refuses missing
#                    arguments, makeOverridable, extendDerivation, ...)
#   legacyPackages.<system>, and the package set's own
#     stdenv.{hostPlatform,buildPlatform}, buildPackages, pkgsCross.<name>,
#     `system` (nixpkgs' deprecated alias: warns when read),
#     pkgsStatic, callPackage, newScope, appendOverlays, extend, busybox (a derivation), writeText,
#     writeScriptBin, runCommand, closureInfo, and the names
#     nix/package.nix asks for (swift, swiftpm, swiftPackages, pkg-config,
#     zstd, xz, zlib, lz4, lzo, openssl)
#
# Overlays apply to every package set, buildPackages and pkgsCross
# included, as nixpkgs applies them. Under pkgsCross the build platform is
# the stand-in's system and the host platform the cross system; every
# derivation is built on the build platform.
#
# swiftPackages.stdenv.mkDerivation answers only mkportable's
# nix/package.nix: it takes that file's `src` and builds it with the host
# Swift toolchain (nix/host-mkportable.nix), so
# package.nix's assertion and fileset run, its Swift build does not.
# `swift.version` is the host toolchain's. Reading the host (busybox, the
# toolchain) needs impure evaluation: `--impure` for flakes.
{
  busyboxPath ? "/usr/bin/busybox",
  swiftToolchain ? "/opt/swift",
  systems ? [
    "x86_64-linux"
    "aarch64-linux"
  ],
}:

let
  lib = import ./lib.nix;

  impure = builtins ? currentSystem;
  needImpure =
    what:
    throw "nixpkgs stand-in: ${what} comes from the host, which pure evaluation cannot read; run nix with --impure (e.g. nix flake check --impure --override-input nixpkgs path:...)";

  platform = system: {
    inherit system;
    config = { x86_64-linux = "x86_64-unknown-linux-gnu"; aarch64-linux = "aarch64-unknown-linux-gnu"; }.${system} or system;
    isLinux = true;
    isStatic = false;
  };

  # Something nix/package.nix names but that only nixpkgs could build.
  placeholder = name: version: {
    type = "derivation";
    inherit name version;
    pname = name;
    outPath = throw "nixpkgs stand-in: ${name} is a placeholder; only nixpkgs can build it";
    drvPath = throw "nixpkgs stand-in: ${name} is a placeholder; only nixpkgs can build it";
  };

  # The host toolchain's version, from the compiler-version line of its
  # Swift module interface.
  swiftVersion =
    let
      file = "${swiftToolchain}/usr/lib/swift_static/linux/_Builtin_float.swiftmodule/x86_64-unknown-linux-gnu.swiftinterface";
      m = builtins.match ".*// swift-compiler-version: Swift version ([0-9.]+).*" (builtins.readFile file);
    in
    if !impure then
      needImpure "the Swift toolchain (${swiftToolchain})"
    else if !builtins.pathExists file || m == null then
      throw "nixpkgs stand-in: no Swift toolchain at ${swiftToolchain} (need ${file}); pass swiftToolchain"
    else
      head m;
  inherit (builtins) head;

  packageSet =
    {
      localSystem,
      crossSystem ? localSystem,
      overlays ? [ ],
    }:
    let
      base =
        final:
        let
          buildSystem = localSystem;
          bb = final.busybox;
          bbExe = "${bb}/bin/busybox";
          # A derivation built by busybox sh -e running `script` with every
          # applet on PATH, on the build platform.
          # `meta` and `passthru` in env go on the result, as nixpkgs'
          # runCommand puts them (not into the build environment).
          runCommand =
            name: env: script:
            lib.extendDerivation true ({ meta = env.meta or { }; } // env.passthru or { }) (builtins.derivation (
              {
                inherit name;
                system = buildSystem;
                builder = bbExe;
                args = [
                  "sh"
                  "-e"
                  "-c"
                  ''
                    ${bbExe} mkdir -p "$NIX_BUILD_TOP/.bin"
                    ${bbExe} --install -s "$NIX_BUILD_TOP/.bin"
                    export PATH="$NIX_BUILD_TOP/.bin"
                    ${script}
                  ''
                ];
              }
              // removeAttrs env [
                "meta"
                "passthru"
              ]
            ));
        in
        {
          inherit lib;
          stdenv = {
            hostPlatform = platform crossSystem;
            buildPlatform = platform localSystem;
            targetPlatform = platform crossSystem;
          };
          callPackage = lib.callPackageWith final;
          # nixpkgs keeps `system` only as a deprecated alias of
          # stdenv.hostPlatform.system (since 2025-10-28), which warns when
          # read, and callPackage fills any function argument named
          # `system` from it.
          system = lib.warn "'system' has been renamed to/replaced by 'stdenv.hostPlatform.system'" crossSystem;
          # nixpkgs' pkgs.appendOverlays / pkgs.extend: the same set with
          # more overlays, buildPackages and pkgsCross included.
          appendOverlays =
            more:
            packageSet {
              inherit localSystem crossSystem;
              overlays = overlays ++ more;
            };
          extend = overlay: final.appendOverlays [ overlay ];
          newScope = extra: lib.callPackageWith (final // extra);

          buildPackages =
            if crossSystem == localSystem then
              final
            else
              packageSet {
                inherit localSystem overlays;
              };
          pkgsBuildHost = final.buildPackages;
          pkgsCross = {
            aarch64-multiplatform = packageSet {
              inherit localSystem overlays;
              crossSystem = "aarch64-linux";
            };
            gnu64 = packageSet {
              inherit localSystem overlays;
              crossSystem = "x86_64-linux";
            };
          };
          # Static already: the one busybox is the host's busybox-static.
          pkgsStatic = final;

          busybox =
            if !impure then
              needImpure "busybox (${busyboxPath})"
            else
              import ../host-busybox.nix {
                path = busyboxPath;
                system = buildSystem;
              };

          inherit runCommand;
          writeText =
            name: text:
            runCommand name {
              inherit text;
              passAsFile = [ "text" ];
            } ''cp "$textPath" "$out"'';
          writeScriptBin =
            name: text:
            runCommand name {
              inherit text;
              passAsFile = [ "text" ];
            } ''
              mkdir -p "$out/bin"
              cp "$textPath" "$out/bin/${name}"
              chmod 0555 "$out/bin/${name}"
            '';
          closureInfo = import ./closure-info.nix { inherit runCommand; };

          swift = placeholder "swift" swiftVersion // {
            version = swiftVersion;
          };
          swiftpm = placeholder "swiftpm" swiftVersion;
          swiftPackages = {
            inherit (final) swift swiftpm;
            stdenv.mkDerivation =
              attrs:
              if (attrs.pname or null) != "mkportable" then
                throw "nixpkgs stand-in: swiftPackages.stdenv.mkDerivation builds only mkportable's nix/package.nix"
              else if crossSystem != localSystem then
                # nixpkgs would cross-compile it: an executable for the host
                # platform, which cannot run as a builder on the build
                # platform. Using it fails here, at evaluation.
                let
                  refuse = throw "nixpkgs stand-in: this mkportable is cross-compiled for ${crossSystem} (the host platform) and cannot run on the build platform ${localSystem}; a builder must come from buildPackages";
                in
                {
                  type = "derivation";
                  name = "${attrs.pname}-${attrs.version}";
                  inherit (attrs) pname version;
                  meta = attrs.meta or { };
                  outPath = refuse;
                  drvPath = refuse;
                }
              else
                import ../host-mkportable.nix {
                  src = attrs.src;
                  system = buildSystem;
                  inherit swiftToolchain;
                  busybox = bb;
                }
                // {
                  inherit (attrs) pname version;
                  meta = attrs.meta or { };
                };
          };
          pkg-config = placeholder "pkg-config" "0.29.2";
          zstd = placeholder "zstd" "1.5.7";
          xz = placeholder "xz" "5.8.1";
          zlib = placeholder "zlib" "1.3.1";
          lz4 = placeholder "lz4" "1.10.0";
          lzo = placeholder "lzo" "2.10";
          openssl = placeholder "openssl" "3.6.0";
        };
    in
    lib.fix (builtins.foldl' (f: overlay: lib.extends overlay f) base overlays);
in
{
  inherit lib;
  legacyPackages = lib.genAttrs systems (system: packageSet { localSystem = system; });
  # nixpkgs' `import nixpkgs { overlays = ...; }`, as a function.
  inherit packageSet;
}
