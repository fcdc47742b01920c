# symlinks: each { object, symlink } becomes a link at `symlink` pointing to
# `object`. Objects inside a store path ("${certs}/etc/ssl") are fine: the
# store path that holds them goes into the image. An object outside the
# store just makes a link.
{ portableService, lib }:

let
  certs = lib.runCommand "links-certs" { } ''
    mkdir -p "$out/etc/ssl/certs"
    printf '%s\n' '-----BEGIN CERTIFICATE-----' 'bWtwb3J0YWJsZSBleGFtcGxl' '-----END CERTIFICATE-----' \
      > "$out/etc/ssl/certs/ca-bundle.crt"
  '';
in
portableService {
  pname = "links";
  version = "2.0";
  description = "Links: /bin/sh and /etc/ssl from the store";
  units = [
    (lib.writeText "links.service" ''
      [Unit]
      Description=Show the CA bundle through the image's symlinks

      [Service]
      Type=oneshot
      ExecStart=/bin/sh -c '${lib.busyboxExe} cat /etc/ssl/certs/ca-bundle.crt; echo links ok'
    '')
  ];
  symlinks = [
    # A file inside a store path (busybox's output).
    {
      object = lib.busyboxExe;
      symlink = "/bin/sh";
    }
    # A directory inside a derivation's output.
    {
      object = "${certs}/etc/ssl";
      symlink = "/etc/ssl";
    }
    # Outside the store: only the link is made.
    {
      object = "/run";
      symlink = "/var/run";
    }
  ];
}
