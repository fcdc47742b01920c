# mkportable built with nixpkgs' Swift toolchain, callPackage style:
#
#   mkportable = pkgs.callPackage ./nix/package.nix { };
#
# The usual nixpkgs shape for a SwiftPM executable: `swift` and `swiftpm`
# in nativeBuildInputs (swiftpm's setup hook supplies the build phase,
# `swift build -c release` plus $swiftpmFlags, and the `swiftpmBinPath`
# helper), the clang-based `swiftPackages.stdenv`, and an explicit install
# phase. The package has no SwiftPM dependencies, so there is no
# swiftpm2nix-generated configure phase. The C compression libraries are
# found through pkg-config (Package.swift's system library targets).
#
# Not built on the development machine (it has no nixpkgs); written against
# nixpkgs' Swift packaging as read in nixpkgs (the Swift 6.2.4 package set
# of NixOS/nixpkgs#557896): `swiftpm` propagates swiftpmHook, whose build
# phase runs `swift-build -c ${swiftpmBuildConfig-release}` with the
# `swiftpmFlags` array (concatTo, so a list under __structuredAttrs) and
# whose `swiftpmBinPath` prints the products directory; its default install
# phase is replaced below. The executable links the Swift runtime
# dynamically, as nixpkgs' own Swift packages do (the swift package's setup
# hook points its RPATH at the stdlib); the image derivation runs it with
# its closure in the sandbox. The
# sources use typed throws, so the toolchain must be Swift 6.0 or newer
# (and need nothing newer than 6.2, nixpkgs' newest; see nix/README.md);
# older nixpkgs (Swift 5.10.1, 5.8) fail the assertion below, which says
# which nixpkgs change brought Swift 6.
{
  lib,
  swiftPackages,
  swift,
  swiftpm,
  pkg-config,
  zstd,
  xz,
  zlib,
  lz4,
  lzo,
  openssl,
}:

let
  swiftVersion = lib.getVersion swift;
in
assert lib.assertMsg (lib.versionAtLeast swiftVersion "6.0")
  "mkportable needs Swift 6.0 or newer (Package.swift: swift-tools-version 6.0; the code uses typed throws), but this nixpkgs has Swift ${swiftVersion}. nixpkgs' Swift is 6 since NixOS/nixpkgs#557896 (swift: 5.10.1 -> 6.2.4, opened 2026-08-30, since merged); revisions before it have 5.10.1 or 5.8. Use a nixpkgs (e.g. nixos-unstable) from after that merge, or build mkportable without nixpkgs (default.nix, host Swift toolchain).";

swiftPackages.stdenv.mkDerivation {
  pname = "mkportable";
  version = "0.1.0";

  # What `swift build` reads; tests, examples and Nix files stay out, so
  # editing them does not rebuild mkportable (and a flake copy without
  # Tests/ still builds).
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../Package.swift
      ../Sources
    ];
  };

  # Package.swift declares test targets, and SwiftPM refuses a manifest
  # whose targets have no directory, even when building one product; the
  # tests are not built here, so each test target gets an empty directory
  # (as nix/host-mkportable.nix does).
  postPatch = ''
    for t in $(grep -o 'testTarget(name: *"[^"]*"' Package.swift | sed 's/.*"\(.*\)"/\1/'); do
      mkdir -p "Tests/$t"
    done
  '';

  strictDeps = true;
  __structuredAttrs = true;

  nativeBuildInputs = [
    swift
    swiftpm
    pkg-config
  ];

  buildInputs = [
    zstd
    xz
    zlib
    lz4
    lzo
    openssl # libcrypto: SHA-256 for dm-verity hash trees
  ];

  # Only the executable: the test targets need nix-build, squashfs readers
  # and root, none of which a Nix build has.
  swiftpmFlags = [
    "--product"
    "mkportable"
  ];

  installPhase = ''
    runHook preInstall
    install -Dm755 "$(swiftpmBinPath)/mkportable" "$out/bin/mkportable"
    runHook postInstall
  '';

  doCheck = false;

  doInstallCheck = true;
  installCheckPhase = ''
    runHook preInstallCheck
    "$out/bin/mkportable" --version
    runHook postInstallCheck
  '';

  meta = {
    description = "Builds systemd portable service images (squashfs) from Nix closures, reproducibly";
    mainProgram = "mkportable";
    platforms = lib.platforms.linux;
  };
}
