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
# toolchain's own dynamically linked executables need.
#
# The host files that decide the executable's bytes, and through it the
# image bytes (a different libzstd compresses differently), are named in
# the derivation: `hostInputs` lists each with its sha256 (the
# compression libraries' and OpenSSL's libcrypto's (dm-verity hashes)
# static archives and version headers, glibc's
# libc.a, the Swift toolchain's version line and the static Swift runtime
# it links), so a change to any of them gives a new store path. The
# builder checks the files still have those hashes. Not covered: the
# rest of /usr (the linker, other headers) and the compiler binary itself
# beyond its version line.
#
# Evaluation reads those files from the host, so it must be impure
# (nix-build is; flakes need --impure).
{
  src, # the checkout (a path), or a store path holding Package.swift and Sources
  system ? builtins.currentSystem,
  swiftToolchain ? "/opt/swift",
  busybox ? import ./host-busybox.nix { inherit system; },
  # Where the host's static libraries and C headers are (Debian multiarch).
  libDir ?
    "/usr/lib/"
    + ({ aarch64-linux = "aarch64-linux-gnu"; }.${system} or "x86_64-linux-gnu"),
  includeDir ? "/usr/include",
}:

let
  inherit (builtins)
    concatStringsSep
    hashFile
    isPath
    match
    pathExists
    readFile
    ;

  # Only what `swift build` reads: a change to tests, examples or the Nix
  # files does not rebuild mkportable.
  root = toString src;
  wanted =
    path: type:
    let
      rel = builtins.substring (builtins.stringLength root + 1) (builtins.stringLength path) path;
    in
    rel == "Package.swift"
    || rel == "Sources"
    || (builtins.substring 0 8 rel == "Sources/" && match ".*/\\.[^/]*" rel == null);
  source =
    if isPath src then
      builtins.path {
        name = "mkportable-source";
        path = src;
        filter = wanted;
      }
    else
      src;
  bb = "${busybox}/bin/busybox";

  swiftStatic = "${swiftToolchain}/usr/lib/swift_static/linux";
  # A small module interface of the toolchain's, whose header names the
  # compiler that made it (the toolchain's own). The toolchain's own
  # architecture, whatever `system` says (flake checks evaluate every system).
  interfaces = map (arch: "${swiftStatic}/_Builtin_float.swiftmodule/${arch}-unknown-linux-gnu.swiftinterface") [
    "x86_64"
    "aarch64"
  ];
  found = builtins.filter pathExists interfaces;
  interface = if found == [ ] then builtins.head interfaces else builtins.head found;
  versionLine =
    let
      m = match ".*(// swift-compiler-version: [^\n]*).*" (readFile interface);
    in
    if pathExists interface && m != null then
      builtins.head m
    else
      throw "mkportable: cannot read the Swift toolchain's version from ${interface}; pass --argstr swiftToolchain DIR (the directory holding usr/bin/swift)";

  # The files whose bytes go into the executable.
  fingerprinted = [
    "${libDir}/libzstd.a"
    "${libDir}/liblzma.a"
    "${libDir}/libz.a"
    "${libDir}/liblz4.a"
    "${libDir}/liblzo2.a"
    "${libDir}/libcrypto.a"
    "${libDir}/libc.a"
    "${includeDir}/zstd.h"
    "${includeDir}/lzma/version.h"
    "${includeDir}/zlib.h"
    "${includeDir}/lz4.h"
    "${includeDir}/lzo/lzoconf.h"
    "${includeDir}/openssl/opensslv.h"
    "${swiftStatic}/libswiftCore.a"
    "${swiftStatic}/libdispatch.a"
  ];
  # "PATH sha256:HASH", or "PATH absent" (installing it changes the path).
  hostInputs = map (
    p: if pathExists p then "${p} sha256:${hashFile "sha256" p}" else "${p} absent"
  ) fingerprinted;
in
if !(builtins ? currentSystem) then
  throw "mkportable: host mode compiles with the Swift toolchain at ${swiftToolchain} and the libraries in /usr, which pure evaluation cannot read; run nix with --impure (e.g. nix flake check --impure)"
else if !pathExists "${swiftToolchain}/usr/bin/swift" then
  throw "mkportable: no Swift toolchain at ${swiftToolchain} (need ${swiftToolchain}/usr/bin/swift); pass --argstr swiftToolchain DIR, or evaluate with nixpkgs (pkgs argument)"
else
  builtins.derivation {
    name = "mkportable-host";
    inherit system hostInputs;
    toolchainVersion = versionLine;
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
        # The store path names these bytes; build with nothing else.
        ${concatStringsSep "\n" (
          map (
            line:
            let
              m = match "(.*) (sha256:([0-9a-f]+)|absent)" line;
              path = builtins.elemAt m 0;
              hash = builtins.elemAt m 2;
            in
            if hash == null then
              ''if ${bb} test -e "${path}"; then echo "mkportable-host: ${path} appeared after evaluation; evaluate again" >&2; exit 1; fi''
            else
              ''[ "$(${bb} sha256sum "${path}" | ${bb} cut -d' ' -f1)" = "${hash}" ] || { echo "mkportable-host: ${path} changed after evaluation; evaluate again" >&2; exit 1; }''
          ) hostInputs
        )}
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
