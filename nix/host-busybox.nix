# A static busybox from the host, imported into the store as a directory
# holding bin/busybox (the name matters: busybox picks its applet from
# argv[0], and a store path named <hash>-busybox is not "busybox").
#
# Debian's busybox-static installs /usr/bin/busybox (also reachable as
# /bin/busybox). The store path depends only on the file's bytes.
{
  path ? "/usr/bin/busybox",
}:

let
  dir = dirOf path; # /usr/bin
  parent = dirOf dir; # /usr
in
if !builtins.pathExists path then
  throw "host busybox: ${path} does not exist; install Debian's busybox-static (apt-get install busybox-static), or evaluate with nixpkgs (pkgs argument)"
else
  builtins.path {
    name = "busybox";
    path = /. + parent;
    filter = p: _type: p == dir || p == path;
  }
