# Minimal: one unit and busybox. The unit refers to busybox, so it is made
# with writeText, a derivation: nixpkgs' busybox is a derivation, and Nix
# refuses builtins.toFile text that refers to one ("must not contain a
# reference to a derivation").
{ portableService, lib }:

portableService {
  pname = "hello";
  version = "1.0";
  description = "Hello, a minimal portable service";
  homepage = "https://example.org/hello";
  units = [
    (lib.writeText "hello.service" ''
      [Unit]
      Description=Say hello from a portable service

      [Service]
      Type=oneshot
      ExecStart=${lib.busyboxExe} echo hello from a portable service
    '')
  ];
}
