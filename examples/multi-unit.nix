# Several units and `contents`: a socket-activated template service, a
# timer with its oneshot service, and a documentation derivation that only
# `contents` brings in. The LICENSE file is the same in two store paths,
# so `nix-store --optimise` hard-links it (the image must not change).
{ portableService, lib }:

let
  license = ''
    Example licence text, shipped twice on purpose: once with the tools and
    once with the documentation. Identical files in different store paths
    are what nix-store --optimise turns into hard links.
  '';

  tools = lib.runCommand "demo-tools" { inherit license; } ''
    mkdir -p "$out/bin" "$out/share/doc/demo-tools"
    printf '%s\n' '#!${lib.busyboxExe} sh' 'echo "demo reply to $REMOTE_ADDR"' > "$out/bin/demo-reply"
    printf '%s\n' '#!${lib.busyboxExe} sh' 'echo "demo cleanup done"' > "$out/bin/demo-cleanup"
    chmod 0555 "$out/bin/demo-reply" "$out/bin/demo-cleanup"
    printf '%s' "$license" > "$out/share/doc/demo-tools/LICENSE"
  '';

  docs = lib.runCommand "demo-docs" { inherit license; } ''
    mkdir -p "$out/share/doc/demo"
    printf '%s' "$license" > "$out/share/doc/demo/LICENSE"
    printf '%s\n' 'demo: replies on /run/demo.sock and cleans up daily.' > "$out/share/doc/demo/README"
  '';
  templateUnits = lib.runCommand "demo-template-units" {
    unit = ''
      [Unit]
      Description=Demo reply for one connection

      [Service]
      ExecStart=${tools}/bin/demo-reply
      StandardInput=socket
    '';
  } ''
    mkdir -p "$out"
    printf '%s' "$unit" > "$out/demo@.service"
  '';
in
portableService {
  pname = "demo";
  version = "3.1";
  description = "Demo: socket, service, timer";
  homepage = "https://example.org/demo";
  units = [
    (lib.writeText "demo.socket" ''
      [Unit]
      Description=Demo socket

      [Socket]
      ListenStream=/run/demo.sock
      Accept=yes

      [Install]
      WantedBy=sockets.target
    '')
    # Store path names cannot contain '@', so a template unit cannot be a
    # derivation of its own: it is a file inside one, and the unit's name
    # is that file's name.
    "${templateUnits}/demo@.service"
    (lib.writeText "demo-cleanup.timer" ''
      [Unit]
      Description=Daily demo cleanup

      [Timer]
      OnCalendar=daily
      Unit=demo-cleanup.service

      [Install]
      WantedBy=timers.target
    '')
    (lib.writeText "demo-cleanup.service" ''
      [Unit]
      Description=Demo cleanup

      [Service]
      Type=oneshot
      ExecStart=${tools}/bin/demo-cleanup
    '')
  ];
  contents = [ docs ];
  squash-compression = "zstd -Xcompression-level 19";
  squash-block-size = "128K";
}
