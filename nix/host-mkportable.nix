# mkportable built from this checkout with the host's Swift toolchain, for
# machines without nixpkgs (e.g. Debian's Nix). The result is one fully
# static executable, $out/bin/mkportable, that references nothing: image
# builds run it in the sandbox with nothing from the host.
#
# Compiling needs the host toolchain inside the build sandbox, so the Nix
# configuration must expose it (scripts/nix-setup writes this):
#
#   extra-sandbox-paths = /opt/swift /usr /lib /lib64
#
# /opt/swift is the toolchain; /usr holds the C headers, glibc's and the
# compression libraries' static archives, pkg-config, the linker; /lib64
# and /lib hold the ELF interpreter (and the symlink to it) that the
# toolchain's own dynamically linked executables need. The
# derivation does not capture the toolchain's contents, so it is "impure"
# in that one respect: a different toolchain gives a different binary for
# the same store path. Images built with it are unaffected, since the
# image bytes do not depend on how mkportable was compiled.
{
  src, # the checkout (a path)
  system ? builtins.currentSystem,
  swiftToolchain ? "/opt/swift",
  busybox ? import ./host-busybox.nix { },
}:

let
  root = toString src;
  # Only what `swift build` reads: a change to tests, examples or the Nix
  # files does not rebuild mkportable.
  wanted =
    path: type:
    let
      rel = builtins.substring (builtins.stringLength root + 1) (builtins.stringLength path) path;
    in
    rel == "Package.swift"
    || rel == "Sources"
    || (builtins.substring 0 8 rel == "Sources/" && builtins.match ".*/\\.[^/]*" rel == null);
  source = builtins.path {
    name = "mkportable-source";
    path = src;
    filter = wanted;
  };
  bb = "${busybox}/bin/busybox";
in
if !builtins.pathExists "${swiftToolchain}/usr/bin/swift" then
  throw "mkportable: no Swift toolchain at ${swiftToolchain} (need ${swiftToolchain}/usr/bin/swift); pass --argstr swiftToolchain DIR, or evaluate with nixpkgs (pkgs argument)"
else
  builtins.derivation {
    name = "mkportable-host";
    inherit system;
    builder = bb;
    args = [
      "sh"
      "-eu"
      "-c"
      ''
        missing=""
        for p in ${swiftToolchain}/usr/bin/swift /usr/bin/ld /usr/bin/pkg-config /usr/include/zstd.h /lib64/ld-linux-x86-64.so.2; do
          ${bb} test -e "$p" || missing="$missing $p"
        done
        if [ -n "$missing" ]; then
          echo "mkportable-host: not visible in the build sandbox:$missing" >&2
          echo "mkportable-host: add 'extra-sandbox-paths = ${swiftToolchain} /usr /lib /lib64' to /etc/nix/nix.conf (scripts/nix-setup does), or pass --option extra-sandbox-paths '${swiftToolchain} /usr /lib /lib64'" >&2
          exit 1
        fi
        export HOME="$NIX_BUILD_TOP"
        ${bb} cp -r ${source} "$NIX_BUILD_TOP/src"
        ${bb} chmod -R u+w "$NIX_BUILD_TOP/src"
        cd "$NIX_BUILD_TOP/src"
        # Package.swift declares test targets, and SwiftPM refuses a package
        # whose target directories are missing; the tests are not part of
        # the source here, so give each test target an empty directory.
        for t in $(${bb} grep -o 'testTarget(name: *"[^"]*"' Package.swift | ${bb} sed 's/.*"\(.*\)"/\1/'); do
          ${bb} mkdir -p "Tests/$t"
        done
        jobs=""
        if [ "''${NIX_BUILD_CORES:-0}" -gt 0 ]; then jobs="-j $NIX_BUILD_CORES"; fi
        ${swiftToolchain}/usr/bin/swift build -c release $jobs \
          --scratch-path "$NIX_BUILD_TOP/scratch" \
          --static-swift-stdlib -Xswiftc -static-executable \
          -Xlinker --strip-all \
          --product mkportable
        ${bb} mkdir -p "$out/bin"
        ${bb} cp "$NIX_BUILD_TOP/scratch/release/mkportable" "$out/bin/mkportable"
        # Fails here, not in the first image build, if it is not static.
        ${bb} env -i "$out/bin/mkportable" --version
      ''
    ];
    PATH = "${swiftToolchain}/usr/bin:/usr/bin";
    allowSubstitutes = false;
    preferLocalBuild = true;
  }
