import Foundation
import PortableService
import SquashFS
import XCTest
#if canImport(Glibc)
import Glibc
#endif

// Issue 4, "bad input and faults": every refusal of the builder (and of
// `pack`) must be ONE line saying what is wrong, where (the attribute or
// the path) and how to fix it, exit non-zero, and leave nothing in the
// output directory that looks like an image: neither the image nor the
// writer's temporary `.<name>.tmp-<pid>` file.
//
// This file: the attributes JSON, names, symlinks and compression options,
// through the real `mkportable` executable on a store made in a temporary
// directory (NIX_STORE points there). FaultTests.swift covers the file
// tree and the output; AttrsFuzzTests.swift mutates attributes files;
// NixEvalErrorTests.swift checks the same mistakes at evaluation time.

// MARK: - Shared helpers (also used by FaultTests, AttrsFuzzTests, RandomTreeTests)

/// How a failed run must look: `status`, exactly one line on stderr that
/// starts with `prefix` and contains every fragment, nothing on stdout,
/// no file at `images`, and nothing image-like (a `.raw` file or a
/// writer temporary) in `directories`.
func assertCleanFailure(
    _ r: CommandResult, status: Int32 = 1, prefix: String = "mkportable: error: ", _ fragments: [String],
    images: [RawPath] = [], directories: [RawPath] = [], label: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    let tag = label.isEmpty ? "" : "[\(label)] "
    XCTAssertEqual(r.status, status, "\(tag)exit status: \(r.summary)", file: file, line: line)
    let err = r.stderrText
    XCTAssertTrue(err.hasSuffix("\n") && !err.dropLast().contains("\n"),
                  "\(tag)stderr must be exactly one line: «\(err)»", file: file, line: line)
    XCTAssertTrue(err.hasPrefix(prefix), "\(tag)stderr must start with «\(prefix)»: «\(err)»", file: file, line: line)
    for f in fragments {
        XCTAssertTrue(err.contains(f), "\(tag)stderr «\(err.trimmingCharacters(in: .newlines))» lacks «\(f)»", file: file, line: line)
    }
    XCTAssertTrue(r.stdout.isEmpty, "\(tag)nothing on stdout: «\(r.stdoutText)»", file: file, line: line)
    for image in images {
        XCTAssertNil(try? Posix.lstatIfExists(image) ?? nil, "\(tag)\(image) was left behind", file: file, line: line)
    }
    for dir in directories {
        let leftovers = imageLikeFiles(in: dir)
        XCTAssertTrue(leftovers.isEmpty, "\(tag)left in \(dir): \(leftovers)", file: file, line: line)
    }
}

/// Names in `dir` (not recursive) that look like an image or a writer
/// temporary; empty if `dir` does not exist.
func imageLikeFiles(in dir: RawPath) -> [String] {
    guard let names = try? Posix.listDirectory(dir) else { return [] }
    return names.map { String(decoding: $0.bytes, as: UTF8.self) }.filter { $0.hasSuffix(".raw") || $0.contains(".tmp-") || $0.hasSuffix(".sqfs") || $0.hasSuffix(".img") }
}

/// Running mkportable as an unprivileged user (root reads everything, so
/// permission faults need one). Root runs it through
/// `setpriv --reuid=65534 --regid=65534 --clear-groups`, from a copy of the
/// binary that user can execute; a non-root test run is unprivileged
/// already. Paths it must reach need world-traversable directories
/// (`TemporaryDirectory` makes 0700 ones: chmod them).
enum Unprivileged {
    static let uid: uid_t = 65534

    /// Skips the test (with the reason printed) when there is no way to
    /// drop privileges.
    static func require() throws {
        if Posix.isRoot && Shell.which("setpriv") == nil {
            print("note: unprivileged-user test skipped: setpriv (util-linux) not found")
            throw XCTSkip("setpriv not found")
        }
    }

    /// The command line that runs mkportable `arguments` unprivileged.
    static func command(binaryCopyIn dir: RawPath, _ arguments: [String]) throws -> (String, [String]) {
        let bin = try MkportableBinary.path()
        guard Posix.isRoot else { return (bin, arguments) }
        let copy = dir.appending("mkportable")
        if try Posix.lstatIfExists(copy) == nil {
            try Posix.writeFile(copy, try Posix.readFile(RawPath(bin)), mode: 0o755)
            try Posix.chmod(copy, 0o755)
        }
        return (try Shell.require("setpriv"),
                ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--", copy.string] + arguments)
    }
}

/// A store in a temporary directory with one unit and one package, and an
/// attributes file made from JSON fragments, for running the builder
/// (`mkportable build --attrs FILE --out DIR`, or builder mode) on it.
final class BuilderFixture {
    let tmp: TemporaryDirectory
    let store: String
    /// `<store>/<hash>-demo.service`, a regular file.
    let unit: String
    /// `<store>/<hash>-pkg`: bin/tool, share/data.
    let pkg: String
    /// Where images go (`--out`); not created in advance.
    let out: RawPath
    let attrsFile: RawPath

    init(prefix: String = "bad-input") throws {
        tmp = try TemporaryDirectory(prefix: prefix)
        store = tmp.sub("store").string
        try Posix.mkdir(tmp.sub("store"))
        unit = "\(store)/\(fakeStoreName("demo.service", seed: 41))"
        pkg = "\(store)/\(fakeStoreName("pkg", seed: 42))"
        try Posix.writeFile(RawPath(unit), Array("[Service]\nExecStart=\(pkg)/bin/tool\n".utf8), mode: 0o444)
        let t = try TreeBuilder(root: RawPath(pkg))
        try t.file("bin/tool", "#!/bin/sh\necho tool\n", mode: 0o555)
        try t.file("share/data", TestData.text(10_000, seed: 43), mode: 0o444)
        out = tmp.sub("out")
        attrsFile = tmp.sub("attrs.json")
    }

    func remove() { tmp.remove() }

    /// A store path name in this store.
    func storePath(_ name: String, seed: Int) -> String { "\(store)/\(fakeStoreName(name, seed: seed))" }

    /// JSON string literal.
    static func js(_ s: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [s], options: [.fragmentsAllowed, .withoutEscapingSlashes])
        let text = String(decoding: data, as: UTF8.self)
        return String(text.dropFirst().dropLast())
    }

    /// The attribute fragments of a valid derivation.
    var baseFields: [String: String] {
        [
            "pname": #""demo""#,
            "version": #""1.0""#,
            "units": "[\(Self.js(unit))]",
            "description": #""Demo service""#,
            "homepage": "null",
            "symlinks": "[{\"object\": \(Self.js(pkg + "/bin/tool")), \"symlink\": \"/bin/tool\"}]",
            "contents": "[]",
            "squash-compression": #""gzip""#,
            "squash-block-size": #""4K""#,
            "exportReferencesGraph": "{\"closure\": [\(Self.js(unit)), \(Self.js(pkg))]}",
            "closure": "[{\"path\": \(Self.js(unit)), \"references\": [\(Self.js(pkg))]}, {\"path\": \(Self.js(pkg)), \"references\": []}]",
        ]
    }

    /// The attributes with `overrides` (nil drops the attribute).
    func json(_ overrides: [String: String?] = [:]) -> String {
        var f = baseFields
        for (k, v) in overrides { f[k] = v }
        return "{" + f.keys.sorted().map { "\(Self.js($0)): \(f[$0]!)" }.joined(separator: ",\n ") + "}\n"
    }

    /// The environment every run gets: this store, and nothing from the
    /// caller's environment that would change the builder's behaviour.
    func environment(_ extra: [String: String?] = [:]) -> [String: String?] {
        var e: [String: String?] = ["NIX_STORE": store, "NIX_BUILD_CORES": "1"]
        for k in ["NIX_ATTRS_JSON_FILE", "NIX_BUILD_TOP", "SOURCE_DATE_EPOCH", "out"] { e[k] = .some(nil) }
        for (k, v) in extra { e[k] = v }
        return e
    }

    func run(_ arguments: [String], env: [String: String?] = [:]) throws -> CommandResult {
        try runLimited(try MkportableBinary.path(), arguments, environment: environment(env), timeout: 120)
    }

    /// Writes the attributes (text as given) and runs `build --attrs --out`.
    func build(text: String, extraArguments: [String] = []) throws -> CommandResult {
        Posix.removeTree(attrsFile)
        try Posix.writeFile(attrsFile, Array(text.utf8))
        return try run(["build", "--attrs", attrsFile.string, "--out", out.string] + extraArguments)
    }

    func build(_ overrides: [String: String?] = [:]) throws -> CommandResult {
        try build(text: json(overrides))
    }

    func image(_ name: String = "demo_1.0.raw") -> RawPath { out.appending(RawPath(name)) }
}

// MARK: - The tests

final class BadInputTests: XCTestCase {
    var fx: BuilderFixture!

    override func setUpWithError() throws {
        fx = try BuilderFixture()
    }

    override func tearDown() {
        fx?.remove()
        fx = nil
        super.tearDown()
    }

    /// Runs the builder on `overrides` and checks it fails cleanly with
    /// every fragment in its message.
    func refuse(_ overrides: [String: String?], _ fragments: [String], label: String,
                file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try fx.build(overrides)
        assertCleanFailure(r, fragments, images: [fx.image()], directories: [fx.out], label: label, file: file, line: line)
    }

    /// The fixture itself builds; without this the refusals prove nothing.
    func testTheFixtureBuilds() throws {
        let r = try fx.build()
        XCTAssertEqual(r.status, 0, r.summary)
        XCTAssertTrue(r.stderrText.hasPrefix("mkportable: wrote \(fx.image())"), r.stderrText)
        let list = try Shell.check("unsquashfs", ["-lln", fx.image().string]).stdoutText
        XCTAssertTrue(list.contains("squashfs-root/etc/systemd/system/demo.service"), list)
        XCTAssertTrue(list.contains("squashfs-root/bin/tool -> \(fx.pkg)/bin/tool"), list)
        XCTAssertEqual(imageLikeFiles(in: fx.out), ["demo_1.0.raw"], "only the image, no temporary")
    }

    // MARK: the attributes file

    func testNoAttributesFile() throws {
        // Neither variable: not run by Nix at all (a usage error).
        let none = try fx.run([])
        assertCleanFailure(none, status: 2, ["no command given and not run by Nix", "mkportable build --attrs FILE --out DIR"], label: "no variables")

        // Run by Nix, but without __structuredAttrs: no .attrs.json.
        let top = fx.tmp.sub("build-top")
        try Posix.mkdir(top)
        let missing = fx.tmp.sub("nix-build-demo.drv-0/.attrs.json").string
        let r = try fx.run([], env: ["NIX_ATTRS_JSON_FILE": missing, "NIX_BUILD_TOP": top.string])
        assertCleanFailure(r, ["no attributes file at \(missing) or \(top)/.attrs.json", "__structuredAttrs = true"],
                           directories: [top], label: "builder mode")

        let gone = fx.tmp.sub("gone.json").string
        let b = try fx.run(["build", "--attrs", gone, "--out", fx.out.string])
        assertCleanFailure(b, ["\(gone): no such file", "pass the attributes file Nix wrote for a __structuredAttrs derivation"],
                           images: [fx.out], label: "build --attrs")
    }

    func testUnreadableAttributesFile() throws {
        let dir = fx.tmp.sub("attrs-dir")
        try Posix.mkdir(dir)
        let r = try fx.run(["build", "--attrs", dir.string, "--out", fx.out.string])
        assertCleanFailure(r, ["\(dir): cannot read the attributes file (is a directory, not a file)", "must be a readable file"],
                           images: [fx.out], label: "directory")

        try Unprivileged.require()
        try Posix.chmod(fx.tmp.path, 0o755)
        try Posix.writeFile(fx.attrsFile, Array(fx.json().utf8), mode: 0o600)
        try Posix.chmod(fx.attrsFile, 0o000)
        let (exe, args) = try Unprivileged.command(binaryCopyIn: fx.tmp.path, ["build", "--attrs", fx.attrsFile.string, "--out", fx.out.string])
        let u = try runLimited(exe, args, environment: fx.environment())
        assertCleanFailure(u, ["\(fx.attrsFile): cannot read the attributes file (Permission denied)", "must be a readable file"],
                           images: [fx.out], label: "mode 000, unprivileged")
    }

    func testEmptyTruncatedAndInvalidJSON() throws {
        let valid = fx.json()
        let bytes = Array(valid.utf8)
        var cases: [(String, [UInt8], [String])] = [
            ("empty", [], ["attrs.json:1:1: invalid JSON: empty input"]),
            ("white space only", Array(" \n\t".utf8), ["invalid JSON"]),
            ("trailing comma", Array("{\"pname\": \"demo\",}".utf8), ["attrs.json:1:18: invalid JSON"]),
            ("single quotes", Array("{'pname': 'demo'}".utf8), ["attrs.json:1:2: invalid JSON"]),
            ("NaN", Array("{\"pname\": NaN}".utf8), ["invalid JSON"]),
            ("byte order mark", [0xEF, 0xBB, 0xBF] + bytes, ["attrs.json:1:1: invalid JSON"]),
            ("invalid UTF-8", Array("{\"pname\": \"de".utf8) + [0xFF] + Array("mo\"}".utf8), ["invalid JSON"]),
            ("repeated key", Array("{\"pname\": \"a\", \"pname\": \"b\"}".utf8), ["invalid JSON"]),
            ("garbage after the value", bytes + Array("}".utf8), ["invalid JSON"]),
        ]
        for cut in [1, bytes.count / 3, bytes.count / 2, bytes.count - 3] {
            cases.append(("truncated to \(cut) bytes", Array(bytes[..<cut]), ["invalid JSON"]))
        }
        for (label, data, fragments) in cases {
            Posix.removeTree(fx.attrsFile)
            try Posix.writeFile(fx.attrsFile, data)
            let r = try fx.run(["build", "--attrs", fx.attrsFile.string, "--out", fx.out.string])
            assertCleanFailure(r, ["mkportable: error: \(fx.attrsFile):"] + fragments + ["was it cut short or edited?"],
                               images: [fx.out], label: label)
        }
        let list = try fx.build(text: "[1, 2]")
        assertCleanFailure(list, ["\(fx.attrsFile): the top level is a list; an attributes file holds an attribute set"],
                           images: [fx.out], label: "top-level list")
    }

    func testMissingRequiredAttributes() throws {
        for key in ["pname", "version", "units"] {
            try refuse([key: nil], ["attribute \(key): missing; portableService needs pname, version and units"], label: "no \(key)")
        }
    }

    func testWrongTypes() throws {
        let cases: [(String, String, String)] = [
            ("pname", "1", "attribute pname: expected a string, found a number"),
            ("pname", "null", "attribute pname: expected a string, found null"),
            ("version", "[\"1\"]", "attribute version: expected a string, found a list"),
            ("units", #""/nix/store/x-demo.service""#, "attribute units: expected a list, found a string"),
            ("units", "[1]", "attribute units[0]: expected a store path string, found a number"),
            ("symlinks", "{\"object\": \"/x\", \"symlink\": \"/y\"}", "attribute symlinks: expected a list, found an attribute set"),
            ("symlinks", #"["/bin/sh"]"#, "attribute symlinks[0]: expected an attribute set { object, symlink }, found a string"),
            ("symlinks", #"[{"object": 1, "symlink": "/x"}]"#, "attribute symlinks[0].object: expected a string, found a number"),
            ("symlinks", #"[{"object": "/x", "symlink": true}]"#, "attribute symlinks[0].symlink: expected a string, found a boolean"),
            ("description", "1", "attribute description: expected a string or null, found a number"),
            ("contents", #""x""#, "attribute contents: expected a list, found a string"),
            ("squash-compression", "5", "attribute squash-compression: expected a string or null, found a number"),
            ("squash-block-size", "[]", "attribute squash-block-size: expected a size such as \"1M\" or 131072, found a list"),
            ("exportReferencesGraph", "[]", "attribute exportReferencesGraph: expected an attribute set"),
        ]
        for (key, value, expected) in cases {
            try refuse([key: value], [expected], label: "\(key) = \(value)")
        }
    }

    func testEmptyUnits() throws {
        try refuse(["units": "[]"], ["attribute units: the list is empty; a portable service image needs at least one unit for portablectl to attach"], label: "units = []")
    }

    func testClosureKeyMissingOrMalformed() throws {
        let fix = "do not set an attribute of that name yourself"
        let other = fx.storePath("other", seed: 44)
        let cases: [([String: String?], [String])] = [
            (["closure": nil], ["attribute closure: missing: exportReferencesGraph names it", "build with __structuredAttrs = true"]),
            (["closure": #""x""#], ["attribute closure: expected the reference graph Nix writes for exportReferencesGraph", fix]),
            (["closure": "[\(BuilderFixture.js(fx.unit))]"], ["attribute closure[0]: expected { path, references, ... }, found a string", fix]),
            (["closure": #"[{"references": []}]"#], ["attribute closure[0].path: missing", fix]),
            (["closure": "[{\"path\": \(BuilderFixture.js(fx.unit))}]"], ["attribute closure[0].references: missing", fix]),
            (["closure": "[{\"path\": \(BuilderFixture.js(fx.unit)), \"references\": \"x\"}]"], ["attribute closure[0].references: expected a list of store paths", fix]),
            (["closure": #"[{"path": "/etc", "references": []}]"#], ["attribute closure[0]: \"/etc\" is not a store path in \(fx.store)", fix]),
            (["closure": "[{\"path\": \(BuilderFixture.js(fx.unit)), \"references\": [\(BuilderFixture.js(other))]}]"],
             ["references \"\(other)\", which the graph does not list; the closure must be complete", fix]),
            (["exportReferencesGraph": #""closure""#], ["attribute exportReferencesGraph: expected an attribute set"]),
        ]
        for (overrides, fragments) in cases {
            try refuse(overrides, fragments, label: "\(overrides)")
        }

        // The text form (no structured attrs), cut short.
        try Posix.writeFile(fx.tmp.sub("closure"), Array("\(fx.unit)\n\n1\n".utf8))
        let r = try fx.build(["closure": nil])
        assertCleanFailure(r, ["closure: ends at line 3 where reference 1 of 1 of \(fx.unit) (line 4) should follow", "let Nix write it, do not edit it"],
                           images: [fx.image()], directories: [fx.out], label: "text graph cut short")
    }

    func testClosurePathMissingOnDisk() throws {
        let gone = fx.storePath("gone", seed: 45)
        let closure = "[{\"path\": \(BuilderFixture.js(fx.unit)), \"references\": [\(BuilderFixture.js(fx.pkg))]}, {\"path\": \(BuilderFixture.js(fx.pkg)), \"references\": [\(BuilderFixture.js(gone))]}, {\"path\": \(BuilderFixture.js(gone)), \"references\": []}]"
        try refuse(["closure": closure],
                   ["closure: cannot read store path: \"\(gone)\" is not on disk", "realise it first (nix-store --realise \(gone)) or build through Nix"],
                   label: "closure path missing")
    }

    // MARK: names

    func testBadPnames() throws {
        let cases: [(String, [String])] = [
            ("", ["attribute pname: \"\" is empty; it names the image file ${pname}_${version}.raw and is the prefix of every unit name"]),
            ("de_mo", ["attribute pname: \"de_mo\" contains '_'; portablectl takes the image file name up to the first '_' as the unit prefix", "use '-' instead (e.g. \"de-mo\")"]),
            ("de:mo", ["attribute pname: \"de:mo\" contains ':'; portablectl accepts only letters, digits, '-' and '.'"]),
            ("de/mo", ["attribute pname: \"de/mo\" contains '/'"]),
            ("de mo", ["attribute pname: \"de mo\" contains a space"]),
            ("de\tmo", ["attribute pname: \"de\\tmo\" contains a tab"]),
            ("de\u{1}mo", ["attribute pname: \"de\\x01mo\" contains the control character U+0001"]),
            ("démo", ["attribute pname: \"démo\" contains 'é' (U+00E9)"]),
            ("de@mo", ["contains '@'"]),
            ("-demo", ["attribute pname: \"-demo\" must start with a letter or digit"]),
            (".demo", ["must start with a letter or digit"]),
            (String(repeating: "a", count: 201), ["is 201 bytes long; keep it under 200"]),
        ]
        for (pname, fragments) in cases {
            try refuse(["pname": BuilderFixture.js(pname)], fragments, label: "pname \(pname.debugDescription)")
        }
    }

    func testBadVersions() throws {
        let cases: [(String, [String])] = [
            ("", ["attribute version: \"\" is empty; the image is named ${pname}_${version}.raw"]),
            ("1/0", ["attribute version: \"1/0\" contains '/'"]),
            ("1 0", ["attribute version: \"1 0\" contains a space", "use a version without white space or control characters"]),
            ("1\n0", ["attribute version: \"1\\n0\" contains the control character U+000A"]),
            ("1\u{7F}", ["contains the control character U+007F"]),
            ("1\u{A0}0", ["contains the white space character U+00A0"]),
            (String(repeating: "9", count: 247), ["makes the image file name 256 bytes long", "file names hold at most 255 bytes"]),
        ]
        for (version, fragments) in cases {
            try refuse(["version": BuilderFixture.js(version)], fragments, label: "version \(version.prefix(20).debugDescription)")
        }
    }

    /// Names at the edge of the rules are accepted, and the image is named
    /// after them.
    func testUnusualButValidNames() throws {
        let unit = fx.storePath("my-app.v2-web.service", seed: 46)
        try Posix.writeFile(RawPath(unit), Array("[Service]\n".utf8))
        let version = "1.0-rc1+git_2" + String(repeating: "x", count: 255 - 4 - 10 - 13)
        let r = try fx.build([
            "pname": #""my-app.v2""#, "version": BuilderFixture.js(version), "units": "[\(BuilderFixture.js(unit))]",
            "closure": "[{\"path\": \(BuilderFixture.js(unit)), \"references\": []}, {\"path\": \(BuilderFixture.js(fx.pkg)), \"references\": []}]",
        ])
        XCTAssertEqual(r.status, 0, r.summary)
        let name = "my-app.v2_\(version).raw"
        XCTAssertEqual(name.utf8.count, 255)
        XCTAssertEqual(imageLikeFiles(in: fx.out), [name])
    }

    func testBadUnitNames() throws {
        let cases: [(String, [String])] = [
            ("demo.mount", ["attribute units[0]: unit \"demo.mount\": the name must end in .service, .socket, .target, .timer, .path (the unit types portablectl attaches; it ignores any other file there"]),
            ("demo", ["unit \"demo\": the name must end in .service"]),
            ("other.service", ["attribute units[0]: unit \"other.service\": portablectl attaches only units whose name is the image prefix \"demo\" followed by '-', '.' or '@'", "rename the unit's derivation"]),
            ("demox.service", ["unit \"demox.service\": portablectl attaches only units whose name is the image prefix \"demo\""]),
            ("demo=x.service", ["unit \"demo=x.service\": the name contains '='; a unit name may contain only letters, digits and : - _ . \\ @"]),
        ]
        for (name, fragments) in cases {
            let unit = fx.storePath(name, seed: 47)
            try Posix.writeFile(RawPath(unit), Array("[Service]\n".utf8))
            try refuse(["units": "[\(BuilderFixture.js(unit))]",
                        "closure": "[{\"path\": \(BuilderFixture.js(unit)), \"references\": []}, {\"path\": \(BuilderFixture.js(fx.pkg)), \"references\": []}]"],
                       fragments, label: "unit \(name)")
        }
        // Names a store path cannot carry, as files inside one.
        let dir = fx.storePath("units", seed: 48)
        try Posix.mkdir(RawPath(dir))
        for (name, fragment) in [(".service", "the name must end in .service"), ("demo worker.service", "contains a space"), ("@demo.service", "starts with '@'"), ("démo.service", "contains 'é' (U+00E9)")] {
            try Posix.writeFile(RawPath(dir + "/" + name), Array("[Service]\n".utf8))
            try refuse(["units": "[\(BuilderFixture.js(dir + "/" + name))]",
                        "closure": "[{\"path\": \(BuilderFixture.js(dir)), \"references\": []}, {\"path\": \(BuilderFixture.js(fx.pkg)), \"references\": []}]"],
                       ["attribute units[0]: unit \"\(name)\"", fragment], label: "unit file \(name)")
        }
    }

    func testUnitThatIsADirectoryOrADanglingSymlink() throws {
        func closure(_ unit: String) -> String {
            "[{\"path\": \(BuilderFixture.js(unit)), \"references\": []}, {\"path\": \(BuilderFixture.js(fx.pkg)), \"references\": []}]"
        }
        let dirUnit = fx.storePath("demo.service", seed: 49)
        try Posix.mkdir(RawPath(dirUnit))
        try Posix.writeFile(RawPath(dirUnit + "/demo.service"), Array("[Service]\n".utf8))
        try refuse(["units": "[\(BuilderFixture.js(dirUnit))]", "closure": closure(dirUnit)],
                   ["attribute units[0]: \"\(dirUnit)\" is a directory; a unit must be one regular file", "give the unit file itself"],
                   label: "directory")

        let dangling = fx.storePath("demo.service", seed: 50)
        try Posix.symlink(target: Array("\(fx.pkg)/nonexistent/demo.service".utf8), at: RawPath(dangling))
        try refuse(["units": "[\(BuilderFixture.js(dangling))]", "closure": closure(dangling)],
                   ["attribute units[0]: \"\(dangling)\" is a symlink to \"\(fx.pkg)/nonexistent/demo.service\", which does not exist",
                    "give the unit file itself, or a symlink to an existing unit file"],
                   label: "dangling symlink")

        // Out of the store it is refused without a look at the target
        // (HardeningTests has the other ways out).
        let outside = fx.storePath("demo.service", seed: 53)
        try Posix.symlink(target: Array("/nonexistent/demo.service".utf8), at: RawPath(outside))
        try refuse(["units": "[\(BuilderFixture.js(outside))]", "closure": closure(outside)],
                   ["attribute units[0]: \"\(outside)\" leads outside the closure: \"\(outside)\" is a symlink to \"/nonexistent/demo.service\", outside the store"],
                   label: "symlink out of the store")

        let absent = fx.storePath("demo.service", seed: 51)
        try refuse(["units": "[\(BuilderFixture.js(absent))]", "closure": closure(absent)],
                   ["attribute units[0]: cannot read the unit file \"\(absent)\"", "No such file or directory", "build through Nix so that it exists"],
                   label: "missing")

        // A symlink to a unit file is followed: the image holds the file.
        let alias = fx.storePath("demo.service", seed: 52)
        try Posix.symlink(target: Array(fx.unit.utf8), at: RawPath(alias))
        let r = try fx.build(["units": "[\(BuilderFixture.js(alias))]",
                              "closure": "[{\"path\": \(BuilderFixture.js(alias)), \"references\": [\(BuilderFixture.js(fx.unit))]}, {\"path\": \(BuilderFixture.js(fx.unit)), \"references\": []}, {\"path\": \(BuilderFixture.js(fx.pkg)), \"references\": []}]"])
        XCTAssertEqual(r.status, 0, r.summary)
        let text = try Shell.check("unsquashfs", ["-cat", fx.image().string, "etc/systemd/system/demo.service"]).stdoutText
        XCTAssertEqual(text, "[Service]\nExecStart=\(fx.pkg)/bin/tool\n")
    }

    // MARK: symlinks

    func links(_ paths: [String]) -> String {
        "[" + paths.map { "{\"object\": \(BuilderFixture.js(fx.pkg + "/bin/tool")), \"symlink\": \(BuilderFixture.js($0))}" }.joined(separator: ", ") + "]"
    }

    func testBadSymlinkPaths() throws {
        let store = fx.store
        let storeParent = directoryOf(store)
        let choose = "choose another path for the link"
        let cases: [([String], [String])] = [
            ([""], ["attribute symlinks[0].symlink: is empty; give the link's path in the image, e.g. \"/bin/sh\""]),
            (["/a/../b"], ["attribute symlinks[0].symlink: \"/a/../b\" contains '..'; give the link's path from the image root"]),
            (["/../etc/x"], ["\"/../etc/x\" contains '..'"]),
            (["/./"], ["attribute symlinks[0].symlink: \"/./\" names the image root"]),
            ([store + "/x"], ["attribute symlinks[0].symlink: \"\(store)/x\" is inside the image's \(store), which holds exactly the closure", "put the link outside the store (e.g. \"/bin/x\")"]),
            ([store + "/" + fakeStoreName("pkg", seed: 42)], ["is inside the image's \(store), which holds exactly the closure"]),
            ([store + "/"], ["\"\(store)/\" is the image's \(store), which holds exactly the closure"]),
            ([storeParent], ["\"\(storeParent)\" would replace \(storeParent), the directory that holds the image's \(store)", "choose a path outside \(storeParent)"]),
            (["/etc/os-release"], ["attribute symlinks[0].symlink: \"/etc/os-release\" is the os-release file mkportable generates", choose]),
            (["etc/machine-id"], ["\"etc/machine-id\" is the empty /etc/machine-id the host's is mounted over", choose]),
            (["/etc/resolv.conf"], ["is the empty /etc/resolv.conf the host's is mounted over"]),
            (["/proc"], ["attribute symlinks[0].symlink: \"/proc\" is the mount point /proc, which must stay an empty directory", choose]),
            (["/var/tmp/"], ["is the mount point /var/tmp"]),
            (["/etc/systemd/system"], ["is the unit directory /etc/systemd/system"]),
            (["/etc/systemd/system/demo.service"], ["\"/etc/systemd/system/demo.service\" is the unit file of units[0] (demo.service)", choose]),
            (["/etc/systemd/system/demo-extra.timer"], ["\"/etc/systemd/system/demo-extra.timer\" is a .timer file in the unit directory as a symlink, which portablectl does not attach", "pass the unit in `units` instead"]),
            (["/etc/os-release/x"], ["\"/etc/os-release/x\" lies inside /etc/os-release, which is the os-release file mkportable generates, a file"]),
            (["/etc"], ["\"/etc\" would replace the directory /etc, which holds /etc/os-release (the os-release file mkportable generates)", "link individual entries inside /etc instead"]),
            (["/var"], ["\"/var\" would replace the directory /var, which holds /var/tmp"]),
            (["/bin/x", "bin//x/"], ["attribute symlinks[1].symlink: \"bin//x/\" is also symlinks[0].symlink (\"/bin/x\"); each link needs its own path"]),
            (["/opt/a", "/opt/a/b"], ["attribute symlinks[1].symlink: \"/opt/a/b\" lies inside symlinks[0].symlink \"/opt/a\", which is a symlink and cannot hold entries"]),
            (["/opt/a/b", "/opt/a"], ["attribute symlinks[1].symlink: \"/opt/a\" is a parent of symlinks[0].symlink \"/opt/a/b\"; a symlink cannot hold entries"]),
            ([String(repeating: "n", count: 256)], ["has a component of 256 bytes; a file name holds at most 255 bytes"]),
        ]
        for (paths, fragments) in cases {
            try refuse(["symlinks": links(paths)], fragments, label: "symlinks \(paths.map { String($0.prefix(40)) })")
        }
        try refuse(["symlinks": "[{\"object\": \"\", \"symlink\": \"/x\"}]"], ["attribute symlinks[0].object: \"\" is not a usable link target"], label: "empty object")
        try refuse(["symlinks": "[{\"object\": \(BuilderFixture.js(String(repeating: "o", count: 4096))), \"symlink\": \"/x\"}]"],
                   ["attribute symlinks[0].object: is 4096 bytes long; a symlink target holds at most 4095 bytes"], label: "long object")
    }

    /// With the real store directory, as in every Nix build: checked in
    /// process (nothing is read from disk before the placement check).
    func testSymlinksIntoNixStoreAreRefused() throws {
        let unit = "/nix/store/\(fakeStoreName("demo.service", seed: 60))"
        func spec(_ link: String) throws -> ImageSpec {
            let json = """
            {"pname": "demo", "version": "1", "units": ["\(unit)"],
             "symlinks": [{"object": "/run", "symlink": "\(link)"}],
             "exportReferencesGraph": {"closure": []}, "closure": [{"path": "\(unit)", "references": []}]}
            """
            return try Attrs.imageSpec(try Attrs.parse(Array(json.utf8), origin: "attrs.json"), storeDir: "/nix/store")
        }
        let cases: [(String, String)] = [
            ("/nix/store/abc", "attribute symlinks[0].symlink: \"/nix/store/abc\" is inside the image's /nix/store, which holds exactly the closure"),
            ("/nix/store/\(fakeStoreName("demo.service", seed: 60))/x", "is inside the image's /nix/store"),
            ("nix/store", "\"nix/store\" is the image's /nix/store"),
            ("/nix", "\"/nix\" would replace /nix, the directory that holds the image's /nix/store"),
        ]
        for (link, expected) in cases {
            XCTAssertThrowsError(try spec(link), link) { e in
                let m = (e as? PortableServiceError)?.message ?? "\(e)"
                XCTAssertTrue(m.contains(expected), "«\(m)» lacks «\(expected)»")
            }
        }
        XCTAssertEqual(try spec("/nixos/store").symlinks.first?.path, ["nixos", "store"], "a sibling of /nix is fine")
    }

    /// Paths inside scaffold directories are fine and end up in the image.
    func testSymlinksBesideTheScaffoldAreAccepted() throws {
        let paths = ["/etc/ssl", "/var/run", "/var/lib/demo", "/etc/systemd/system/demo.service.d", "/opt/a/b", "/opt/c"]
        let r = try fx.build(["symlinks": links(paths)])
        XCTAssertEqual(r.status, 0, r.summary)
        let list = try Shell.check("unsquashfs", ["-lln", fx.image().string]).stdoutText
        for p in paths {
            XCTAssertTrue(list.contains("squashfs-root\(p) -> \(fx.pkg)/bin/tool"), "\(p) missing from \(list)")
        }
    }

    // MARK: compression settings

    func testBadCompressionAttributes() throws {
        let cases: [(String, String, [String])] = [
            ("squash-compression", #""brotli""#, ["attribute squash-compression: \"brotli\": unknown compressor \"brotli\"; accepted: gzip, xz, zstd, lz4, lzo, each optionally followed by its -X options"]),
            ("squash-compression", #""lzma""#, ["attribute squash-compression: \"lzma\": compressor lzma is not supported (the Linux kernel cannot mount lzma squashfs images); accepted: gzip, xz, zstd, lz4, lzo"]),
            ("squash-compression", #""""#, ["attribute squash-compression: \"\": no compressor named; accepted: gzip, xz, zstd, lz4, lzo"]),
            ("squash-compression", #""lzo -Xalgorithm lzo1x_2""#, ["attribute squash-compression: \"lzo -Xalgorithm lzo1x_2\": unknown algorithm \"lzo1x_2\" in -Xalgorithm; accepted: lzo1x_1, lzo1x_1_11, lzo1x_1_12, lzo1x_1_15, lzo1x_999"]),
            ("squash-compression", #""lzo -Xalgorithm lzo1x_1 -Xcompression-level 5""#, ["\": -Xcompression-level 5 applies to lzo1x_999 only, not to -Xalgorithm lzo1x_1; drop the level or use lzo1x_999"]),
            ("squash-compression", #""lzo -Xcompression-level 12""#, ["-Xcompression-level 12 is out of range; accepted: -Xcompression-level N with N from 1 to 9"]),
            ("squash-compression", #""lzo -Xbcj x86""#, ["unknown option -Xbcj for lzo; accepted: -Xalgorithm ALGORITHM (lzo1x_1, lzo1x_1_11, lzo1x_1_12, lzo1x_1_15, lzo1x_999; default lzo1x_999), -Xcompression-level N (1..9, default 8; lzo1x_999 only)"]),
            ("squash-compression", #""xz -Xpreset 9 -Xe""#, ["unknown option -Xpreset for xz (an OpenWrt extension, not in squashfs-tools 4.6.1); accepted: -Xbcj FILTER"]),
            ("squash-compression", #""gzip -Xfoo""#, ["attribute squash-compression: \"gzip -Xfoo\": unknown option -Xfoo for gzip; accepted: -Xcompression-level N (1..9"]),
            ("squash-compression", #""lz4 -Xcompression-level 3""#, ["unknown option -Xcompression-level for lz4; accepted: -Xhc"]),
            ("squash-compression", #""xz -Xdict-size 3K""#, ["attribute squash-compression: \"xz -Xdict-size 3K\": -Xdict-size 3K (3072 bytes) is below the minimum of 8192 bytes"]),
            ("squash-compression", #""xz -Xdict-size 200%""#, ["-Xdict-size 200%: the percentage must be above 0 and at most 100"]),
            ("squash-compression", #""xz -Xdict-size 1M""#, ["-Xdict-size 1M (1048576 bytes) is larger than the block size (4096 bytes)"]),
            ("squash-compression", #""xz -Xdict-size lots""#, ["-Xdict-size lots is not a size"]),
            ("squash-compression", #""zstd -Xcompression-level 99""#, ["-Xcompression-level 99 is out of range"]),
            ("squash-compression", #""gzip -Xcompression-level""#, ["-Xcompression-level needs a value"]),
            ("squash-block-size", #""3000""#, ["attribute squash-block-size: \"3000\": 3000 bytes is out of range; accepted: a power of two from 4096 to 1048576 bytes"]),
            ("squash-block-size", #""2M""#, ["attribute squash-block-size: \"2M\": 2097152 bytes is out of range"]),
            ("squash-block-size", #""100K""#, ["attribute squash-block-size: \"100K\": 102400 bytes is not a power of two"]),
            ("squash-block-size", "131073", ["attribute squash-block-size: \"131073\": 131073 bytes is not a power of two"]),
            ("squash-block-size", #""abc""#, ["attribute squash-block-size: \"abc\": not a size"]),
            ("squash-block-size", #""0""#, ["attribute squash-block-size: \"0\""]),
            ("squash-block-size", #""-4K""#, ["attribute squash-block-size: \"-4K\""]),
        ]
        for (key, value, fragments) in cases {
            let r = try fx.build([key: value])
            assertCleanFailure(r, fragments, images: [fx.image()], directories: [fx.out], label: "\(key) = \(value)")
            // pack's option names must not leak into the builder's message.
            XCTAssertFalse(r.stderrText.contains("--comp") || r.stderrText.contains("--block-size"), r.stderrText)
        }
        let ok = try fx.build(["squash-block-size": "65536", "squash-compression": #""xz -Xdict-size 50%""#])
        XCTAssertEqual(ok.status, 0, ok.summary)
        // lzo is a real choice, not an error: the builder writes it.
        let lzo = try fx.build(["squash-compression": #""lzo -Xalgorithm lzo1x_1""#])
        XCTAssertEqual(lzo.status, 0, lzo.summary)
        let stat = try Shell.check("unsquashfs", ["-s", fx.image().string]).stdoutText
        XCTAssertTrue(stat.contains("Compression lzo") && stat.contains("algorithm lzo1x_1\n"), stat)
        XCTAssertTrue(try Shell.check("unsquashfs", ["-lln", fx.image().string]).stdoutText.contains("/etc/os-release"))
    }

    func testBadPackOptions() throws {
        let src = fx.tmp.sub("src")
        try TreeBuilder(root: src).file("f", "contents\n")
        let outDir = fx.tmp.sub("pack-out")
        try Posix.mkdir(outDir)
        let image = outDir.appending("image.sqfs")
        let cases: [([String], [String])] = [
            (["--comp", "brotli"], ["--comp \"brotli\": unknown compressor \"brotli\"; accepted: gzip, xz, zstd, lz4, lzo"]),
            (["--comp", "lzo -Xcompression-level"], ["--comp \"lzo -Xcompression-level\": -Xcompression-level needs a value; accepted: -Xcompression-level N (1..9, default 8; lzo1x_999 only)"]),
            (["--comp", "lzo -Xalgorithm lzo1x_1_15 -Xcompression-level 9"], ["--comp \"lzo -Xalgorithm lzo1x_1_15 -Xcompression-level 9\": -Xcompression-level 9 applies to lzo1x_999 only"]),
            (["--comp", "gzip -Xfoo"], ["--comp \"gzip -Xfoo\": unknown option -Xfoo for gzip; accepted:"]),
            (["--comp", "xz -Xbcj mips"], ["unknown filter \"mips\" in -Xbcj; accepted:"]),
            (["--comp", "xz -Xdict-size 3K"], ["--comp \"xz -Xdict-size 3K\": -Xdict-size 3K (3072 bytes) is below the minimum of 8192 bytes"]),
            (["--comp", "xz -Xdict-size 2M", "--block-size", "1M"], ["-Xdict-size 2M (2097152 bytes) is larger than the block size (1048576 bytes)"]),
            (["--block-size", "3000"], ["--block-size \"3000\": 3000 bytes is out of range; accepted: a power of two from 4096 to 1048576 bytes"]),
            (["--block-size", "2M"], ["--block-size \"2M\": 2097152 bytes is out of range"]),
            (["--block-size", "100K"], ["--block-size \"100K\": 102400 bytes is not a power of two"]),
            (["--block-size", "12k"], ["--block-size \"12k\""]),
            (["--block-size", ""], ["--block-size \"\""]),
            (["--jobs", "0"], ["--jobs \"0\": must be a whole number from 1 to 1024"]),
            (["--mtime", "-1"], ["--mtime \"-1\": must be whole seconds since 1970"]),
            (["--root-mode", "888"], ["--root-mode \"888\": must be octal permission bits"]),
            (["--frobnicate"], ["unknown option --frobnicate; see mkportable pack --help"]),
        ]
        for (options, fragments) in cases {
            let r = try runLimited(try MkportableBinary.path(), ["pack"] + options + [src.string, image.string],
                                   environment: ["SOURCE_DATE_EPOCH": nil])
            // A bad value is a failure (1); an unknown option a usage error (2).
            let status: Int32 = options == ["--frobnicate"] ? 2 : 1
            assertCleanFailure(r, status: status, prefix: "mkportable pack: error: ", fragments, images: [image], directories: [outDir],
                               label: "pack \(options)")
        }
        let ok = try runLimited(try MkportableBinary.path(), ["pack", "--comp", "gzip", "--block-size", "4K", src.string, image.string])
        XCTAssertEqual(ok.status, 0, ok.summary)
        XCTAssertEqual(imageLikeFiles(in: outDir), ["image.sqfs"])
    }
}

/// The directory part of an absolute path.
func directoryOf(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
    return String(path[..<slash])
}
