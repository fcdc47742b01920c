import DiskImage
import EROFS
import SquashFS
import SystemIO

/// Reading the derivation's attributes: the JSON file Nix writes for
/// `__structuredAttrs = true` (`.attrs.json`), and the reference graphs
/// `exportReferencesGraph` asks Nix for.
///
/// The attributes this builder reads (nix/portable-service.nix sets them):
///
/// | attribute              | JSON type             | meaning |
/// |------------------------|-----------------------|---------|
/// | `pname`, `version`     | string                | image file `${pname}_${version}.raw` |
/// | `units`                | list of strings       | unit files (store paths) |
/// | `description`          | string or null        | PORTABLE_PRETTY_NAME |
/// | `homepage`             | string or null        | HOME_URL |
/// | `symlinks`             | list of `{object, symlink}` | links in the image |
/// | `contents`             | list of strings       | extra store paths (closure only) |
/// | `squash-compression`   | string                | default `xz -Xdict-size 100%` |
/// | `squash-block-size`    | string or number      | default `1M` |
/// | `filesystem`           | string or null        | `"squashfs"` (default) or `"erofs"` |
/// | `erofs-compression`    | string or null        | erofs only: mkfs.erofs's `-z` syntax, default `lz4hc,level=9` |
/// | `verity`               | boolean or null       | default false: `NAME.verity`, `NAME.roothash` too |
/// | `format`               | string or null        | `"raw"` (default) or `"ddi"` |
/// | `imageSystem`          | string                | a DDI's architecture (`aarch64-linux`); under cross not the builder's |
/// | `system`               | string                | a DDI's architecture when `imageSystem` is absent |
/// | `exportReferencesGraph`| `{KEY: [paths]}`      | which keys hold the closure |
/// | `KEY`                  | list of `{path, references, …}` | the closure, filled in by Nix |
/// | `outputs.out`          | string                | where the image goes |
///
/// The closure is the union of every graph named in `exportReferencesGraph`.
/// With structured attributes Nix stores each graph in the JSON under its
/// key. Without them, Nix writes a text file named after the key into the
/// build directory instead; when the JSON has no such key, the file
/// `KEY` next to the attributes file is read (see `parseGraphText`).
public enum Attrs {
    /// One store path of a reference graph.
    public struct GraphEntry: Sendable, Equatable {
        public var path: String
        public var references: [String]

        public init(path: String, references: [String]) {
            self.path = path
            self.references = references
        }
    }

    /// Reads and parses an attributes file; the top level must be an object.
    public static func load(path: String) throws(PortableServiceError) -> JSONObject {
        let bytes: [UInt8]
        switch FileIO.readFile(path) {
        case .bytes(let b): bytes = b
        case .missing:
            throw .file(path, "no such file", fix: "pass the attributes file Nix wrote for a __structuredAttrs derivation")
        case .failed(let why):
            throw .file(path, "cannot read the attributes file (\(why))", fix: "it must be a readable file: the JSON Nix writes for a __structuredAttrs derivation")
        }
        return try parse(bytes, origin: path)
    }

    public static func parse(_ bytes: [UInt8], origin: String) throws(PortableServiceError) -> JSONObject {
        let value: JSONValue
        do {
            value = try parseJSON(bytes)
        } catch {
            throw PortableServiceError("\(origin):\(error.line):\(error.column): invalid JSON: \(error.message); the attributes file must be the complete JSON Nix writes for a __structuredAttrs derivation (was it cut short or edited?)")
        }
        guard case .object(let object) = value else {
            throw .file(origin, "the top level is \(value.kindDescription); an attributes file holds an attribute set", fix: "pass the JSON Nix writes for a __structuredAttrs derivation")
        }
        return object
    }

    /// Reads the text-form reference graph for `key` from `directory`
    /// (where Nix writes it: the build directory), or nil if there is none.
    public static func readGraphFile(key: String, directory: String) throws(PortableServiceError) -> [UInt8]? {
        let k = Array(key.utf8)
        if k.isEmpty || k.contains(UInt8(ascii: "/")) || k == Array(".".utf8) || k == Array("..".utf8) || k.contains(0) {
            throw .attribute("exportReferencesGraph", "key \(quoted(key)) is not a plain file name, so no graph file can be named after it")
        }
        let path = directory + "/" + key
        switch FileIO.readFile(path) {
        case .bytes(let b): return b
        case .missing: return nil
        case .failed(let why): throw .file(path, "cannot read reference graph (\(why))")
        }
    }

    /// `outputs.out`, where the image directory goes.
    public static func outputPath(_ attrs: JSONObject) throws(PortableServiceError) -> String? {
        guard let outputs = attrs["outputs"] else { return nil }
        guard case .object(let o) = outputs else {
            throw .attribute("outputs", "expected an attribute set, found \(outputs.kindDescription)")
        }
        guard let out = o["out"] else { return nil }
        guard case .string(let s) = out else {
            throw .attribute("outputs.out", "expected a string, found \(out.kindDescription)")
        }
        if s.isEmpty {
            throw .attribute("outputs.out", "is empty; it is the output directory Nix makes for the image", fix: "let Nix fill it in, or pass --out DIR")
        }
        return s
    }

    /// Makes the image spec. `graphFile` returns the bytes of the text-form
    /// reference graph named by a key, or nil if there is none.
    public static func imageSpec(
        _ attrs: JSONObject,
        storeDir: String = StorePath.defaultStoreDir,
        graphFile: (String) throws(PortableServiceError) -> [UInt8]? = { _ in nil }
    ) throws(PortableServiceError) -> ImageSpec {
        guard StorePath.isValidStoreDir(storeDir) else {
            throw PortableServiceError("store directory \(quoted(storeDir)) (from NIX_STORE) is not an absolute path like /nix/store")
        }
        let reader = Reader(attrs: attrs)

        let pname = try reader.requiredString("pname")
        if let why = pnameProblem(pname) {
            throw .attribute("pname", "\(quoted(pname)) \(why)")
        }
        let version = try reader.requiredString("version")
        if let why = versionProblem(version, pname: pname) {
            throw .attribute("version", "\(quoted(version)) \(why)")
        }
        let description = try reader.optionalString("description")
        if let description, let why = OSRelease.valueProblem(description) ?? textProblem(description) {
            throw .attribute("description", why, fix: "it becomes PORTABLE_PRETTY_NAME in /etc/os-release")
        }
        let homepage = try reader.optionalString("homepage")
        if let homepage, let why = OSRelease.valueProblem(homepage) ?? textProblem(homepage) {
            throw .attribute("homepage", why, fix: "it becomes HOME_URL in /etc/os-release")
        }

        // The closure first: units, contents and symlink objects must be in it.
        let storePaths = try closure(attrs, storeDir: storeDir, graphFile: graphFile)
        let inClosure = Set(storePaths)

        let units = try unitList(reader, pname: pname, storeDir: storeDir, inClosure: inClosure)
        try checkContents(reader, storeDir: storeDir, inClosure: inClosure)
        let symlinks = try symlinkList(reader, units: units, storeDir: storeDir, inClosure: inClosure)

        let fileSystem = try fileSystem(reader)
        return ImageSpec(
            pname: pname, version: version, units: units,
            osRelease: OSRelease(pname: pname, version: version, description: description, homepage: homepage),
            symlinks: symlinks, storeDir: storeDir, storePaths: storePaths,
            squash: try squashSettings(reader, fileSystem: fileSystem), fileSystem: fileSystem,
            output: try outputForm(attrs, reader)
        )
    }

    /// `filesystem` and, for erofs, `erofs-compression`, refused where
    /// they are read (`attribute erofs-compression: "zstd": unknown …`).
    static func fileSystem(_ reader: Reader) throws(PortableServiceError) -> ImageFileSystem {
        let name = try reader.optionalString("filesystem") ?? ServiceRules.fileSystems[0]
        let compression = try reader.optionalString("erofs-compression")
        switch name {
        case "squashfs":
            if let compression {
                throw .attribute("erofs-compression", "\(quoted(compression)) applies to erofs images only", fix: "add filesystem = \"erofs\" or leave erofs-compression out")
            }
            return .squashfs
        case "erofs":
            let text = compression ?? ServiceRules.erofsDefaultCompression
            do {
                return .erofs(try Compression(parsing: text))
            } catch {
                throw .attribute("erofs-compression", "\(quoted(text)): \(error.message)")
            }
        default:
            throw .attribute("filesystem", "\(quoted(name)) is not a known file system", fix: "use \"squashfs\" (the default, as nixpkgs) or \"erofs\"")
        }
    }

    /// `squash-block-size`, then `squash-compression` for that block size,
    /// refused where they are read, in the attributes' terms
    /// (`attribute squash-compression: "xz -Xfoo": unknown option …`).
    /// With erofs they must be absent (nix/portable-service.nix leaves them
    /// out), and the defaults stand in.
    static func squashSettings(_ reader: Reader, fileSystem: ImageFileSystem) throws(PortableServiceError) -> SquashSettings {
        if fileSystem != .squashfs {
            if try reader.optionalString("squash-compression") != nil {
                throw .attribute("squash-compression", "applies to squashfs images only", fix: "with filesystem = \"erofs\" leave it out or set it to null, and give erofs-compression (mkfs.erofs's -z syntax, e.g. \"\(ServiceRules.erofsDefaultCompression)\")")
            }
            if try reader.blockSize() != nil {
                throw .attribute("squash-block-size", "applies to squashfs images only", fix: "erofs images always have 4 KiB blocks, so leave it out or set it to null")
            }
        }
        let sizeText = try reader.blockSize() ?? SquashSettings.defaultBlockSize
        let blockSize = try refusing("squash-block-size", sizeText) { () throws(SquashFSError) in try parseBlockSize(sizeText) }
        let compression = try reader.optionalString("squash-compression") ?? SquashSettings.defaultCompression
        return try refusing("squash-compression", compression) { () throws(SquashFSError) in
            try SquashSettings(compression: compression, blockSize: blockSize)
        }
    }

    /// The writer's refusal of a setting (the bare problem), worded as the
    /// attribute it came from.
    static func refusing<T>(_ attribute: String, _ text: String,
                            _ parse: () throws(SquashFSError) -> T) throws(PortableServiceError) -> T {
        do {
            return try parse()
        } catch {
            throw .attribute(attribute, "\(quoted(text)): \(error.message)")
        }
    }

    /// `units`: each a plain store path inside the closure, with a unit
    /// name of its own.
    static func unitList(_ reader: Reader, pname: String, storeDir: String,
                         inClosure: Set<String>) throws(PortableServiceError) -> [ImageSpec.Unit] {
        let unitPaths = try reader.stringList("units", required: true)
        if unitPaths.isEmpty {
            throw .attribute("units", "the list is empty", fix: "a portable service image needs at least one unit for portablectl to attach")
        }
        var units: [ImageSpec.Unit] = []
        var seenNames: [[UInt8]: Int] = [:]
        for (i, path) in unitPaths.enumerated() {
            let where_ = "units[\(i)]"
            if let why = plainPathProblem(path) {
                throw .attribute(where_, "\(quoted(path)) \(why)", fix: "give the unit file's store path as Nix writes it, e.g. \"${pkg}/lib/systemd/system/foo.service\"")
            }
            guard let root = StorePath.root(of: path, storeDir: storeDir) else {
                throw .attribute(where_, "\(quoted(path)) is not in the store \(storeDir)", fix: "give a derivation or store path whose output is the unit file")
            }
            guard inClosure.contains(root) else {
                throw .attribute(where_, "\(quoted(root)) is not in the closure", fix: "list it in exportReferencesGraph (nix/portable-service.nix does)")
            }
            let name = UnitName.fromPath(path, storeDir: storeDir)
            if let why = UnitName.problem(name, pname: pname) {
                throw .attribute(where_, "unit \(quoted(name)): \(why)")
            }
            if let other = seenNames[Array(name.utf8)] {
                throw .attribute(where_, "unit \(quoted(name)) is also units[\(other)]", fix: "each unit needs its own name under /etc/systemd/system")
            }
            seenNames[Array(name.utf8)] = i
            units.append(ImageSpec.Unit(name: name, path: path))
        }
        return units
    }

    /// `contents`: extra store paths, which only need to be in the closure.
    static func checkContents(_ reader: Reader, storeDir: String, inClosure: Set<String>) throws(PortableServiceError) {
        for (i, path) in try reader.stringList("contents", required: false).enumerated() {
            if let why = plainPathProblem(path) {
                throw .attribute("contents[\(i)]", "\(quoted(path)) \(why)", fix: "contents are derivations or store paths")
            }
            guard let root = StorePath.root(of: path, storeDir: storeDir) else {
                throw .attribute("contents[\(i)]", "\(quoted(path)) is not in the store \(storeDir)", fix: "contents are derivations or store paths")
            }
            guard inClosure.contains(root) else {
                throw .attribute("contents[\(i)]", "\(quoted(root)) is not in the closure", fix: "list it in exportReferencesGraph (nix/portable-service.nix does)")
            }
        }
    }

    /// `symlinks`: `{ object, symlink }` entries, checked against each
    /// other, the units and the scaffold (see `Placement`).
    static func symlinkList(_ reader: Reader, units: [ImageSpec.Unit], storeDir: String,
                            inClosure: Set<String>) throws(PortableServiceError) -> [ImageSpec.Symlink] {
        var symlinks: [ImageSpec.Symlink] = []
        var symlinkTexts: [String] = []
        for (i, item) in try reader.list("symlinks", required: false).enumerated() {
            let where_ = "symlinks[\(i)]"
            guard case .object(let o) = item else {
                throw .attribute(where_, "expected an attribute set { object, symlink }, found \(item.kindDescription)")
            }
            for key in o.keys where key != "object" && key != "symlink" {
                throw .attribute(where_, "unknown attribute \(quoted(key))", fix: "each entry is { object = ...; symlink = \"/path\"; }")
            }
            guard case .string(let object)? = o["object"] else {
                throw .attribute("\(where_).object", o["object"].map { "expected a string, found \($0.kindDescription)" } ?? "missing", fix: "object is what the link points to")
            }
            guard case .string(let link)? = o["symlink"] else {
                throw .attribute("\(where_).symlink", o["symlink"].map { "expected a string, found \($0.kindDescription)" } ?? "missing", fix: "symlink is where the link goes in the image, e.g. \"/bin/sh\"")
            }
            if object.isEmpty || object.utf8.contains(0) {
                throw .attribute("\(where_).object", "\(quoted(object)) is not a usable link target (empty or containing NUL)")
            }
            if let root = StorePath.root(of: object, storeDir: storeDir), !inClosure.contains(root) {
                throw .attribute("\(where_).object", "\(quoted(root)) is not in the closure", fix: "list it in exportReferencesGraph (nix/portable-service.nix does)")
            }
            if object.utf8.count > 4095 {
                throw .attribute("\(where_).object", "is \(object.utf8.count) bytes long; a symlink target holds at most 4095 bytes (PATH_MAX)")
            }
            let components = try symlinkComponents(link, where_: "\(where_).symlink")
            symlinks.append(ImageSpec.Symlink(path: components, target: object))
            symlinkTexts.append(link)
        }
        try Placement.checkSymlinks(symlinks, given: symlinkTexts, units: units, storeDir: storeDir)
        return symlinks
    }

    /// `verity`, `format` and the DDI's architecture (`imageSystem`, else
    /// `system`, else this machine's).
    static func outputForm(_ attrs: JSONObject, _ reader: Reader) throws(PortableServiceError) -> OutputForm {
        var verity = false
        switch attrs["verity"] {
        case nil, .null?: break
        case .bool(let b)?: verity = b
        case let v?: throw .attribute("verity", "expected true or false, found \(v.kindDescription)", fix: "verity = true writes NAME.verity and NAME.roothash beside the image")
        }
        switch try reader.optionalString("format") {
        case nil, "raw"?: return verity ? .veritySidecars : .plain
        case "ddi"?: return .ddi(try partitionTypes(attrs))
        case let f?:
            throw .attribute("format", "\(quoted(f)) is not a known format", fix: "use \"raw\" (the file system image alone) or \"ddi\" (a GPT disk image with dm-verity)")
        }
    }

    /// A DDI's partition types: for `imageSystem` (a cross build's host),
    /// else `system`, else this machine.
    static func partitionTypes(_ attrs: JSONObject) throws(PortableServiceError) -> PartitionTypes {
        let (attribute, system): (String, String?)
        if case .string(let s)? = attrs["imageSystem"] {
            (attribute, system) = ("imageSystem", s)
        } else if case .string(let s)? = attrs["system"] {
            (attribute, system) = ("system", s)
        } else {
            (attribute, system) = ("system", nil)
        }
        guard let types = PartitionTypes.forSystem(system ?? machineName()) else {
            throw .attribute(attribute, "\(quoted(system ?? "this machine")): no discoverable partition types are known for its architecture", fix: "format = \"ddi\" supports \(PartitionTypes.byCPU.keys.sorted().joined(separator: ", "))")
        }
        return types
    }

    /// Why `version` cannot be part of the image file name, or nil.
    ///
    /// systemd takes the image's name from the file name without `.raw`
    /// (`image_name_is_valid` in src/shared/discover-image.c: a valid file
    /// name, no control characters) and ignores what follows the first `_`,
    /// so systemd would take more than this does; but the derivation is
    /// named `${pname}-img-${version}`, and Nix allows only
    /// `ServiceRules.versionCharacters` there, so a version outside them
    /// never comes from Nix and is refused here as nix/portable-service.nix
    /// refuses it, before any file is read. White space and control
    /// characters get their own message. The whole file name must fit in
    /// 255 bytes (NAME_MAX).
    static func versionProblem(_ version: String, pname: String) -> String? {
        let fileName = "${pname}_${version}.raw"
        if version.isEmpty { return "is empty; the image is named \(fileName), e.g. \"1.0\"" }
        for u in version.unicodeScalars {
            if u == "/" { return "contains '/'; the image is named \(fileName), a single file name" }
            if u.value < 0x20 || u.value == 0x7F || (u.value >= 0x80 && u.value < 0xA0) || u.properties.isWhitespace || u.properties.generalCategory == .format {
                return "contains \(describeScalar(u)); the image is named \(fileName), so use a version without white space or control characters, e.g. \"1.0\""
            }
        }
        let length = pname.utf8.count + 1 + version.utf8.count + 4
        if length > ServiceRules.fileNameMaxBytes {
            return "makes the image file name \(length) bytes long (\(fileName)); file names hold at most \(ServiceRules.fileNameMaxBytes) bytes, so shorten the version"
        }
        // Nix's derivation-name characters (the derivation is named
        // ${pname}-img-${version}), by scalar and byte, never by Character:
        // "1.0\u{D4E}" ends in a mark that joins the ".raw" after it.
        for u in version.unicodeScalars where !(u.isASCII && ServiceRules.versionCharacters.utf8.contains(UInt8(u.value))) {
            return "contains \(describeScalar(u)), which Nix does not allow in the derivation name ${pname}-img-${version}; use letters, digits and + - . _ ? ="
        }
        return nil
    }

    /// Why a one-line text value (description, homepage) cannot be used,
    /// or nil: see `invisibleOrControl`.
    static func textProblem(_ value: String) -> String? {
        guard let u = invisibleOrControl(value) else { return nil }
        return "contains \(describeScalar(u)); os-release values are one line of visible text"
    }

    /// Why a path given for a file in the store (a unit, contents) is not
    /// written plainly, or nil: a trailing '/', an empty component, '.' or
    /// '..' (which could climb out of the store path it names), NUL.
    static func plainPathProblem(_ path: String) -> String? {
        let b = Array(path.utf8)
        if b.contains(0) { return "contains NUL, which no path can hold" }
        if b.count > 1 && b.last == UInt8(ascii: "/") { return "ends with '/'; a file's path has none" }
        for c in b.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropFirst() {
            if c.isEmpty { return "contains '//'; write the path with single slashes" }
            if Array(c) == Array("..".utf8) { return "contains '..'; write the path inside its store path plainly, without '..'" }
            if Array(c) == Array(".".utf8) { return "contains '.' as a component; write the path plainly" }
        }
        return nil
    }

    /// `/bin/sh` → `["bin", "sh"]`. A leading `/` is optional (nixpkgs
    /// writes `$out/${symlink}`, so both mean the same); repeated slashes
    /// and `.` components are dropped; `..` and the root itself are refused.
    static func symlinkComponents(_ link: String, where_: String) throws(PortableServiceError) -> [String] {
        if link.isEmpty {
            throw .attribute(where_, "is empty", fix: "give the link's path in the image, e.g. \"/bin/sh\"")
        }
        if link.utf8.contains(0) {
            throw .attribute(where_, "\(quoted(link)) contains NUL", fix: "give the link's path in the image, e.g. \"/bin/sh\"")
        }
        var components: [String] = []
        // Split bytes, not Characters: "/" followed by a combining mark is
        // one Character, and would not be cut.
        for part in Array(link.utf8).split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            let c = String(decoding: part, as: UTF8.self)
            if Array(part) == Array(".".utf8) { continue }
            if Array(part) == Array("..".utf8) {
                throw .attribute(where_, "\(quoted(link)) contains '..'", fix: "give the link's path from the image root, e.g. \"/bin/sh\"")
            }
            if c.utf8.count > 255 {
                throw .attribute(where_, "\(quoted(link)) has a component of \(c.utf8.count) bytes; a file name holds at most 255 bytes")
            }
            components.append(String(c))
        }
        if components.isEmpty {
            throw .attribute(where_, "\(quoted(link)) names the image root", fix: "give the link's path from the image root, e.g. \"/bin/sh\"")
        }
        return components
    }

    // MARK: closure

    /// The union of all reference graphs named in `exportReferencesGraph`,
    /// sorted (bytewise) and unique. Checks that every path is a store path
    /// and that the set is closed under references.
    static func closure(
        _ attrs: JSONObject, storeDir: String,
        graphFile: (String) throws(PortableServiceError) -> [UInt8]?
    ) throws(PortableServiceError) -> [String] {
        guard let erg = attrs["exportReferencesGraph"] else { return [] }
        guard case .object(let graphs) = erg else {
            throw .attribute("exportReferencesGraph", "expected an attribute set { KEY = [ paths ]; }, found \(erg.kindDescription)")
        }
        var entries: [(entry: GraphEntry, origin: String, key: String)] = []
        for key in graphs.keys {
            if let value = attrs[key] {
                guard case .array(let items) = value else {
                    throw .attribute(key, "expected the reference graph Nix writes for exportReferencesGraph (a list of { path, references, ... }), found \(value.kindDescription)", fix: graphFix(key))
                }
                for (i, item) in items.enumerated() {
                    entries.append((try graphEntry(item, where_: "\(key)[\(i)]", key: key), "attribute \(key)[\(i)]", key))
                }
            } else if let bytes = try graphFile(key) {
                for e in try parseGraphText(bytes, origin: key) {
                    entries.append((e, "reference graph file \(key)", key))
                }
            } else {
                throw .attribute(key, "missing: exportReferencesGraph names it, but neither the attributes nor the build directory hold that graph", fix: "build with __structuredAttrs = true (Nix fills it in), or put Nix's text graph in a file named \(quoted(key)) next to the attributes file")
            }
        }
        var paths = Set<String>()
        for e in entries { paths.insert(e.entry.path) }
        for (e, origin, key) in entries {
            guard StorePath.name(ofRoot: e.path, storeDir: storeDir) != nil else {
                let why: String
                if e.path.utf8.contains(0) {
                    why = "contains NUL, which no path can hold"
                } else if e.path.utf8.last == UInt8(ascii: "/"), StorePath.name(ofRoot: String(decoding: e.path.utf8.dropLast(), as: UTF8.self), storeDir: storeDir) != nil {
                    why = "ends with '/'; a reference graph lists store paths without one"
                } else {
                    why = "is not a store path in \(storeDir); a reference graph lists whole store paths"
                }
                throw PortableServiceError("\(origin): \(quoted(e.path)) \(why); \(graphFix(key))")
            }
            for r in e.references where !paths.contains(r) {
                throw PortableServiceError("\(origin): \(quoted(e.path)) references \(quoted(r)), which the graph does not list; the closure must be complete; \(graphFix(key))")
            }
        }
        return paths.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// How to fix a malformed reference graph.
    static func graphFix(_ key: String) -> String {
        "\(key) is the closure Nix writes for exportReferencesGraph.\(key); do not set an attribute of that name yourself (nix/portable-service.nix sets only exportReferencesGraph)"
    }

    static func graphEntry(_ value: JSONValue, where_: String, key: String) throws(PortableServiceError) -> GraphEntry {
        guard case .object(let o) = value else {
            throw .attribute(where_, "expected { path, references, ... }, found \(value.kindDescription)", fix: graphFix(key))
        }
        guard case .string(let path)? = o["path"] else {
            throw .attribute("\(where_).path", o["path"].map { "expected a string, found \($0.kindDescription)" } ?? "missing", fix: graphFix(key))
        }
        var references: [String] = []
        if let refs = o["references"] {
            guard case .array(let items) = refs else {
                throw .attribute("\(where_).references", "expected a list of store paths, found \(refs.kindDescription)", fix: graphFix(key))
            }
            for (i, r) in items.enumerated() {
                guard case .string(let s) = r else {
                    throw .attribute("\(where_).references[\(i)]", "expected a string, found \(r.kindDescription)", fix: graphFix(key))
                }
                references.append(s)
            }
        } else {
            throw .attribute("\(where_).references", "missing", fix: graphFix(key))
        }
        return GraphEntry(path: path, references: references)
    }

    /// Parses the text form of a reference graph, which Nix writes when the
    /// derivation does not use structured attributes. For each store path:
    ///
    ///     /nix/store/…-a        the path
    ///                           its deriver (empty: Nix leaves it out)
    ///     2                     the number of references
    ///     /nix/store/…-a        each reference, one a line
    ///     /nix/store/…-b
    ///
    /// Every line ends with a newline, the last one included.
    static let textGraphFix = "the file is the reference graph Nix writes for exportReferencesGraph without structured attributes; let Nix write it, do not edit it"

    public static func parseGraphText(_ bytes: [UInt8], origin: String) throws(PortableServiceError) -> [GraphEntry] {
        if let last = bytes.last, last != UInt8(ascii: "\n") {
            throw .file(origin, "does not end with a newline; not a reference graph as Nix writes it", fix: textGraphFix)
        }
        var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        if !lines.isEmpty { lines.removeLast() }  // after the final newline
        var entries: [GraphEntry] = []
        var i = 0
        func line(_ n: Int, _ what: String) throws(PortableServiceError) -> String {
            guard n < lines.count else {
                throw .file(origin, "ends at line \(lines.count) where \(what) (line \(n + 1)) should follow; not a complete reference graph", fix: textGraphFix)
            }
            return lines[n]
        }
        while i < lines.count {
            let path = lines[i]
            if path.isEmpty {
                throw .file(origin, "line \(i + 1) is empty where a store path should be", fix: textGraphFix)
            }
            _ = try line(i + 1, "the deriver line")
            let countText = try line(i + 2, "the number of references")
            guard let count = parseDigits(countText, maximum: UInt64(Int.max)).map(Int.init) else {
                throw .file(origin, "line \(i + 3): \(quoted(countText)) is not a number of references", fix: textGraphFix)
            }
            var refs: [String] = []
            for k in 0..<count {
                let r = try line(i + 3 + k, "reference \(k + 1) of \(count) of \(path)")
                if r.isEmpty {
                    throw .file(origin, "line \(i + 4 + k) is empty where a reference of \(path) should be", fix: textGraphFix)
                }
                refs.append(r)
            }
            entries.append(GraphEntry(path: path, references: refs))
            i += 3 + count
        }
        return entries
    }
}

/// Typed access to the attributes, with messages that name the attribute.
struct Reader {
    let attrs: JSONObject

    func requiredString(_ key: String) throws(PortableServiceError) -> String {
        guard let v = attrs[key] else {
            throw .attribute(key, "missing", fix: "portableService needs pname, version and units")
        }
        guard case .string(let s) = v else {
            throw .attribute(key, "expected a string, found \(v.kindDescription)")
        }
        return s
    }

    func optionalString(_ key: String) throws(PortableServiceError) -> String? {
        guard let v = attrs[key] else { return nil }
        switch v {
        case .null: return nil
        case .string(let s): return s
        default: throw .attribute(key, "expected a string or null, found \(v.kindDescription)")
        }
    }

    func list(_ key: String, required: Bool) throws(PortableServiceError) -> [JSONValue] {
        guard let v = attrs[key] else {
            if required { throw .attribute(key, "missing", fix: "portableService needs pname, version and units") }
            return []
        }
        guard case .array(let items) = v else {
            throw .attribute(key, "expected a list, found \(v.kindDescription)")
        }
        return items
    }

    func stringList(_ key: String, required: Bool) throws(PortableServiceError) -> [String] {
        var out: [String] = []
        for (i, item) in try list(key, required: required).enumerated() {
            guard case .string(let s) = item else {
                throw .attribute("\(key)[\(i)]", "expected a store path string, found \(item.kindDescription)")
            }
            out.append(s)
        }
        return out
    }

    /// `squash-block-size`: a string such as "1M", or a plain number.
    func blockSize() throws(PortableServiceError) -> String? {
        guard let v = attrs["squash-block-size"] else { return nil }
        switch v {
        case .null: return nil
        case .string(let s): return s
        case .number(let n): return n.text
        default: throw .attribute("squash-block-size", "expected a size such as \"1M\" or 131072, found \(v.kindDescription)")
        }
    }
}
