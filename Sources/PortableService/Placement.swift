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
///   portablectl would attach it without the unit checks and follow the
///   link on the host; units belong in `units`;
/// - be the same path as another symlink, or lie inside another symlink
///   (a symlink cannot hold entries).
///
/// Paths inside scaffold directories (`/etc/ssl`, `/var/lib/foo`) are fine.
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

    static func checkSymlinks(
        _ links: [ImageSpec.Symlink], given: [String], units: [ImageSpec.Unit], storeDir: String
    ) throws(PortableServiceError) {
        let store = storeDir.split(separator: "/").map(String.init)
        let reserved = reserved(units: units)
        for (i, link) in links.enumerated() {
            let p = link.path
            let where_ = "symlinks[\(i)].symlink"
            let shown = quoted(given[i])
            let pretty = render(p)

            if p.starts(with: store) {
                throw .attribute(where_, "\(shown) is \(p.count == store.count ? "" : "inside ")the image's \(storeDir), which holds exactly the closure",
                                 fix: "put the link outside the store (e.g. \"/bin/\(p.last!)\") and point its object into the store")
            }
            if store.starts(with: p) {
                throw .attribute(where_, "\(shown) would replace \(pretty), the directory that holds the image's \(storeDir)",
                                 fix: "choose a path outside \(pretty)")
            }
            for r in reserved where r.path == p {
                throw .attribute(where_, "\(shown) is \(r.what)", fix: "choose another path for the link")
            }
            if p.count == Layout.unitDirectory.count + 1 && p.starts(with: Layout.unitDirectory),
               let suffix = UnitName.portableSuffixes.first(where: { p.last!.hasSuffix($0) }) {
                throw .attribute(where_, "\(shown) is a \(suffix) file in the unit directory, where portablectl would attach it without the unit checks and resolve the link on the host",
                                 fix: "pass the unit in `units` instead")
            }
            for r in reserved where !r.isDirectory && p.count > r.path.count && p.starts(with: r.path) {
                throw .attribute(where_, "\(shown) lies inside \(render(r.path)), which is \(r.what), a file",
                                 fix: "choose another path for the link")
            }
            for r in reserved where r.path.count > p.count && r.path.starts(with: p) {
                throw .attribute(where_, "\(shown) would replace the directory \(pretty), which holds \(render(r.path)) (\(r.what))",
                                 fix: "link individual entries inside \(pretty) instead")
            }
            for j in 0..<i {
                let q = links[j].path
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
