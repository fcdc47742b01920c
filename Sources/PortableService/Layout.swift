#if canImport(Glibc)
import Glibc
#endif
import SquashFS

/// Turns an `ImageSpec` into the image's file tree, laid out as nixpkgs'
/// portableService lays it out:
///
///     /dev /proc /run /sys /tmp                  empty mount points (0755)
///     /var/{cache,lib,log,tmp}                   empty mount points (0755)
///     /etc/os-release                            generated (0444, as nixpkgs copies it from the store)
///     /etc/resolv.conf /etc/machine-id           empty, for the host's to be mounted over (0644)
///     /etc/systemd/system/<unit name>            each unit, read in place from the store
///     <symlink>                                  -> <object>, parents made 0755
///     /nix/store/<name>                          each store path of the closure, read in place
///
/// The root is 0755. Owners and times are not part of the tree: the writer
/// makes everything 0:0 and stamps one mtime.
///
/// Only the tree is made here; file contents are read when the writer
/// writes the image. `scan` is the writer's `scanSource` (injectable so the
/// layout can be tested without a store).
public enum Layout {
    /// The scaffold is nix/rules.json's (`ServiceRules`), shared with the
    /// Nix functions.
    public static let mountPoints = ServiceRules.mountPoints

    /// Where the units go.
    public static let unitDirectory = ServiceRules.unitDirectory

    /// The scaffold's directories (their parents are made as needed).
    public static var scaffoldDirectories: [[String]] { [unitDirectory] + mountPoints }

    /// The scaffold's generated files, with what they are (for messages).
    public static var scaffoldFiles: [(path: [String], what: String)] { ServiceRules.scaffoldFiles.map { ($0.path, $0.what) } }

    /// The image's tree, in five steps: the scaffold, the units, the
    /// check that every symlink object stays in the closure, the symlinks
    /// (after the scaffold, so that a clash with it is reported), the
    /// closure.
    public static func tree(
        for spec: ImageSpec,
        scan: (String) throws(SourceTreeError) -> Node = { path throws(SourceTreeError) in try scanSource(path: path) }
    ) throws(PortableServiceError) -> Directory {
        var root = Directory(mode: 0o755)
        try putScaffold(osRelease: spec.osRelease.render(), into: &root)
        let closure = ClosurePath.Closure(storeDir: spec.storeDir, paths: spec.storePaths)
        for (i, unit) in spec.units.enumerated() {
            let node = try unitNode(unit, index: i, closure: closure, scan: scan)
            try put(node, at: unitDirectory + [unit.name], what: "units[\(i)] (\(unit.name))", into: &root)
        }
        try checkSymlinkObjects(spec.symlinks, closure: closure)
        for (i, link) in spec.symlinks.enumerated() {
            try put(.symlink(target: Array(link.target.utf8), mode: 0o777), at: link.path, what: "symlinks[\(i)]", into: &root)
        }
        try putClosure(of: spec, scan: scan, into: &root)
        return root
    }

    static func put(_ node: Node, at path: [String], what: String, into root: inout Directory) throws(PortableServiceError) {
        do {
            try root.insert(node, at: path.map { Array($0.utf8) }, parentMode: 0o755)
        } catch {
            throw PortableServiceError("\(what): cannot place /\(path.joined(separator: "/")) in the image: \(error.message)")
        }
    }

    /// The mount points, the unit directory and the generated files.
    static func putScaffold(osRelease: [UInt8], into root: inout Directory) throws(PortableServiceError) {
        for p in scaffoldDirectories {
            try put(.directory(Directory(mode: 0o755)), at: p, what: "scaffold", into: &root)
        }
        for file in ServiceRules.scaffoldFiles {
            let bytes = file.path == ["etc", "os-release"] ? osRelease : []
            try put(.file(File(mode: file.mode, bytes: bytes)), at: file.path, what: "scaffold", into: &root)
        }
    }

    /// A unit: a copy of one regular file. A unit given as a symlink (a
    /// package's alias, say) is followed, as `cp` would, but only link by
    /// link inside the closure (see `ClosurePath`).
    static func unitNode(
        _ unit: ImageSpec.Unit, index i: Int, closure: ClosurePath.Closure,
        scan: (String) throws(SourceTreeError) -> Node
    ) throws(PortableServiceError) -> Node {
        let where_ = "units[\(i)]"
        let missingFix = "give the unit file itself, or a symlink to an existing unit file"
        let unreadableFix = "give the derivation or store path that holds the unit file, and build through Nix so that it exists"
        var node: Node
        switch ClosurePath.resolve(unit.path, in: closure) {
        case .outside(let why):
            throw .attribute(where_, "\(quoted(unit.path)) leads outside the closure: \(why)",
                             fix: "a unit must be a file inside a store path of the closure; give that file, or list the store path it links to in exportReferencesGraph")
        case .missing(_, let firstLink?):
            throw .attribute(where_, "\(quoted(unit.path)) is a symlink to \(quoted(firstLink)), which does not exist", fix: missingFix)
        case .missing(_, nil):
            // Not on disk: let the scanner say so (a test's scanner may also
            // know paths the disk does not).
            do {
                node = try scan(unit.path)
            } catch {
                throw .attribute(where_, "cannot read the unit file \(quoted(unit.path)): \(error.message)", fix: unreadableFix)
            }
            if case .symlink(let target, _) = node {
                throw .attribute(where_, "\(quoted(unit.path)) is a symlink to \(quoted(String(decoding: target, as: UTF8.self))), which does not exist",
                                 fix: missingFix)
            }
        case .inside(let resolved):
            do {
                node = try scan(resolved)
            } catch {
                let via = resolved == unit.path ? "" : " that \(quoted(unit.path)) links to"
                throw .attribute(where_, "cannot read the unit file \(quoted(resolved))\(via): \(error.message)", fix: unreadableFix)
            }
        }
        guard case .file = node else {
            throw .attribute(where_, "\(quoted(unit.path)) is a \(node.kindDescription); a unit must be one regular file",
                             fix: "give the unit file itself, e.g. \"${pkg}/lib/systemd/system/\(unit.name)\" rather than its directory")
        }
        return node
    }

    /// Symlink objects that lead into the store, however spelled, must lead
    /// into the closure too (`ImageLink`): the link is not read, but the
    /// image must not point at what the closure does not hold. One that
    /// leads nowhere (inside the closure) is kept: a dangling link, as
    /// `ln -s` would make.
    static func checkSymlinkObjects(_ links: [ImageSpec.Symlink], closure: ClosurePath.Closure) throws(PortableServiceError) {
        for (i, link) in links.enumerated() {
            if case .outside(let why)? = ImageLink.outcome(of: i, in: links, closure: closure) {
                throw .attribute("symlinks[\(i)].object", "\(quoted(link.target)) leads outside the closure: \(why)",
                                 fix: "point the link at a path inside a store path of the closure")
            }
        }
    }

    /// The store directory and every store path of the closure, read in place.
    static func putClosure(
        of spec: ImageSpec, scan: (String) throws(SourceTreeError) -> Node, into root: inout Directory
    ) throws(PortableServiceError) {
        let storeComponents = spec.storeDir.split(separator: "/").map(String.init)
        if root.lookup(storeComponents.map { Array($0.utf8) }) == nil {
            try put(.directory(Directory(mode: 0o755)), at: storeComponents, what: "scaffold", into: &root)
        }
        for path in spec.storePaths {
            guard let name = StorePath.name(ofRoot: path, storeDir: spec.storeDir) else {
                throw PortableServiceError("closure: \(quoted(path)) is not a store path in \(spec.storeDir)")
            }
            let node: Node
            do {
                node = try scan(path)
            } catch {
                // The store path itself is missing (not something inside it).
                if error.path == path, case .io(let e) = error.kind, e.code == ENOENT || e.code == ENOTDIR {
                    throw PortableServiceError("closure: cannot read store path: \(quoted(path)) is not on disk (\(e)); the reference graph lists it, so realise it first (nix-store --realise \(path)) or build through Nix")
                }
                throw PortableServiceError("closure: cannot read store path: \(error.message)")
            }
            try put(node, at: storeComponents + [name], what: "closure", into: &root)
        }
    }
}
