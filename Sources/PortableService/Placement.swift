/// Where the derivation's symlinks may go in the image, checked before any
/// file is read so that a clash is reported against the attribute that
/// causes it, with the fix, rather than as a tree-insertion failure.
///
/// A symlink (`symlinks[i].symlink`, as components below the root) may not:
///
/// - lie in the store directory, be it, or be one of its parents (`/nix`):
///   the image's `/nix/store` holds exactly the closure, and a link there
///   would overlay or hide store paths;
/// - be a scaffold entry (`/etc/os-release`, `/etc/resolv.conf`,
///   `/etc/machine-id`, a mount point such as `/proc`, `/etc/systemd/system`)
///   or a unit file, lie inside a scaffold file, or replace a directory that
///   holds scaffold entries (`/etc`, `/var`);
/// - be a unit-named entry of `/etc/systemd/system` (`foo.service`):
///   portablectl skips a unit file that is a symlink (tried with systemd
///   252 and 257: nixpkgs' image attaches without it); units belong in
///   `units`;
/// - be the same path as another symlink, or lie inside another symlink
///   (a symlink cannot hold entries).
///
/// - lie inside a mount point systemd always mounts over (`/proc`, `/sys`,
///   `/dev`, `/run`, `/tmp`, `/var/tmp`: the API file systems and the
///   private temporary directories), where it would be hidden (`/dev/log`,
///   `/tmp/x`).
///
/// Paths inside other scaffold directories (`/etc/ssl`, `/var/lib/foo`:
/// systemd mounts only a unit's own StateDirectory= there) are fine.
///
/// Paths are compared as bytes: Swift's `String ==` takes canonically
/// equivalent names (NFC and NFD) for the same, and the image does not.
enum Placement {
    struct Reserved {
        var path: [String]
        var isDirectory: Bool
        /// Phrased to follow "is" / "holds": "the os-release file mkportable generates".
        var what: String
    }

    static func reserved(units: [ImageSpec.Unit]) -> [Reserved] {
        var r: [Reserved] = []
        for (path, what) in Layout.scaffoldFiles {
            r.append(Reserved(path: path, isDirectory: false, what: what))
        }
        for path in Layout.scaffoldDirectories {
            r.append(Reserved(path: path, isDirectory: true, what: path == Layout.unitDirectory
                ? "the unit directory /\(path.joined(separator: "/"))"
                : "the mount point /\(path.joined(separator: "/")), which must stay an empty directory"))
        }
        for (i, unit) in units.enumerated() {
            r.append(Reserved(path: Layout.unitDirectory + [unit.name], isDirectory: false,
                              what: "the unit file of units[\(i)] (\(unit.name))"))
        }
        return r
    }

    static func render(_ path: [String]) -> String { "/" + path.joined(separator: "/") }

    /// Mount points systemd mounts over in every portable service, so
    /// nothing may be put inside them.
    static let coveredMountPoints = ServiceRules.coveredMountPoints

    static func bytes(_ path: [String]) -> [[UInt8]] { path.map { Array($0.utf8) } }

    static func checkSymlinks(
        _ links: [ImageSpec.Symlink], given: [String], units: [ImageSpec.Unit], storeDir: String
    ) throws(PortableServiceError) {
        let store = bytes(storeDir.split(separator: "/").map(String.init))
        let reserved = reserved(units: units)
        let reservedPaths = reserved.map { bytes($0.path) }
        let linkPaths = links.map { bytes($0.path) }
        let unitDirectory = bytes(Layout.unitDirectory)
        for (i, link) in links.enumerated() {
            let p = linkPaths[i]
            let where_ = "symlinks[\(i)].symlink"
            let shown = quoted(given[i])
            let pretty = render(link.path)

            if p.starts(with: store) {
                throw .attribute(where_, "\(shown) is \(p.count == store.count ? "" : "inside ")the image's \(storeDir), which holds exactly the closure (nixpkgs' mksquashfs puts such a link at /nix_1 instead, beside the closure's /nix)",
                                 fix: "put the link outside the store (e.g. \"/bin/\(link.path.last!)\") and point its object into the store")
            }
            if store.starts(with: p) {
                throw .attribute(where_, "\(shown) would replace \(pretty), the directory that holds the image's \(storeDir)",
                                 fix: "choose a path outside \(pretty)")
            }
            for (r, rp) in zip(reserved, reservedPaths) where rp == p {
                throw .attribute(where_, "\(shown) is \(r.what)", fix: "choose another path for the link")
            }
            if let m = coveredMountPoints.first(where: { p.count > $0.count && p.starts(with: bytes($0)) }) {
                throw .attribute(where_, "\(shown) lies inside the mount point \(render(m)), which systemd mounts over when the service runs, hiding the link",
                                 fix: "put the link elsewhere, e.g. under /etc or /var/lib")
            }
            if p.count == unitDirectory.count + 1 && p.starts(with: unitDirectory),
               let suffix = UnitName.portableSuffixes.first(where: { p.last!.reversed().starts(with: $0.utf8.reversed()) }) {
                throw .attribute(where_, "\(shown) is a \(suffix) file in the unit directory as a symlink, which portablectl does not attach (systemd 252 and 257 skip it, so nixpkgs' image attaches without it)",
                                 fix: "pass the unit in `units` instead")
            }
            for (r, rp) in zip(reserved, reservedPaths) where !r.isDirectory && p.count > rp.count && p.starts(with: rp) {
                throw .attribute(where_, "\(shown) lies inside \(render(r.path)), which is \(r.what), a file",
                                 fix: "choose another path for the link")
            }
            for (r, rp) in zip(reserved, reservedPaths) where rp.count > p.count && rp.starts(with: p) {
                throw .attribute(where_, "\(shown) would replace the directory \(pretty), which holds \(render(r.path)) (\(r.what))",
                                 fix: "link individual entries inside \(pretty) instead")
            }
            for j in 0..<i {
                let q = linkPaths[j]
                if q == p {
                    throw .attribute(where_, "\(shown) is also symlinks[\(j)].symlink (\(quoted(given[j])))",
                                     fix: "each link needs its own path; drop one of them")
                }
                if p.starts(with: q) {
                    throw .attribute(where_, "\(shown) lies inside symlinks[\(j)].symlink \(quoted(given[j])), which is a symlink and cannot hold entries",
                                     fix: "drop one of them, or make symlinks[\(j)] point to a directory that already holds this entry")
                }
                if q.starts(with: p) {
                    throw .attribute(where_, "\(shown) is a parent of symlinks[\(j)].symlink \(quoted(given[j])); a symlink cannot hold entries",
                                     fix: "drop one of them, or make symlinks[\(i)] point to a directory that already holds that entry")
                }
            }
        }
    }
}
