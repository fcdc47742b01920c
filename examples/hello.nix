# Minimal: the unit is a builtins.toFile (it may refer to busybox, a
# source path), and the closure is the unit plus busybox.
{ portableService, lib }:

portableService {
  pname = "hello";
  version = "1.0";
  description = "Hello, a minimal portable service";
  homepage = "https://example.org/hello";
  units = [
    (builtins.toFile "hello.service" ''
      [Unit]
      Description=Say hello from a portable service

      [Service]
      Type=oneshot
      ExecStart=${lib.busyboxExe} echo hello from a portable service
    '')
  ];
}
