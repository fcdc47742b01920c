# The example services. Each is a portableService call that builds here,
# without nixpkgs (see lib.nix), and with it.
{
  portableService,
  lib,
}:

{
  # The smallest useful image: one unit whose ExecStart is a static
  # busybox imported into the store.
  hello = import ./hello.nix { inherit portableService lib; };

  # `symlinks`: /bin/sh to a file inside a store path, /etc/ssl to a
  # directory inside a derivation's output, and a link out of the store.
  symlinks = import ./symlinks.nix { inherit portableService lib; };

  # `contents` and several units: a socket with its template service, a
  # timer with its service; zstd and a 128K block size.
  multi-unit = import ./multi-unit.nix { inherit portableService lib; };

  recurseForDerivations = true;
}
