import Foundation
import PortableService
import SquashFS
import XCTest

/// The Nix function refuses what the builder would refuse, at evaluation
/// time, with the builder's own words: each case evaluates
/// nix/portable-service.nix with builtins-only inputs (units from
/// builtins.toFile, mkportable given as a plain path, so nothing is built)
/// and checks the error against the message the builder's checks produce
/// for the same input, computed in process.
///
/// Needs nix-instantiate (skipped, with the reason printed, without it).
final class NixEvalErrorTests: XCTestCase {
    static let function = MkportableBinary.packageRoot.path + "/nix/portable-service.nix"

    func requireNix() throws {
        for tool in ["nix-instantiate", "nix-build"] where Shell.which(tool) == nil {
            print("note: NixEvalErrorTests skipped: \(tool) not found (install nix-bin)")
            throw XCTSkip("\(tool) not found")
        }
    }

    /// A Nix string literal.
    static func nix(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "$": out += "\\$"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }

    /// The expression: portableService called with `pname`, `version`,
    /// units made by builtins.toFile (one per name) and `symlinks`, each
    /// { object, symlink } with a plain object path.
    func expression(pname: String = "demo", version: String = "1.0", units: [String] = ["demo.service"],
                    symlinks: [String] = []) -> String {
        let unitList = units.map { "(builtins.toFile \(Self.nix($0)) \"[Service]\\nExecStart=/bin/true\\n\")" }.joined(separator: " ")
        let linkList = symlinks.map { "{ object = \"/run\"; symlink = \(Self.nix($0)); }" }.joined(separator: " ")
        return """
        let ps = import \(Self.function) { mkportable = "/bin/sh"; };
        in (ps { pname = \(Self.nix(pname)); version = \(Self.nix(version)); units = [ \(unitList) ]; symlinks = [ \(linkList) ]; }).drvPath
        """
    }

    func evaluate(_ expr: String) throws -> CommandResult {
        try Shell.run("nix-instantiate", ["--eval", "-E", expr, "--option", "substituters", ""])
    }

    /// What the builder says about the same input (storeDir /nix/store),
    /// without its "attribute " prefix; nil if it accepts it.
    func builderMessage(pname: String = "demo", version: String = "1.0", units: [String] = ["demo.service"],
                        symlinks: [String] = [], extraJSON: String? = nil) -> String? {
        let unitPaths = units.enumerated().map { "/nix/store/\(fakeStoreName($0.element, seed: 900 + $0.offset))" }
        func js(_ s: String) -> String { BuilderFixture.js(s) }
        let json = """
        {"pname": \(js(pname)), "version": \(js(version)), "units": [\(unitPaths.map(js).joined(separator: ", "))],
         "symlinks": [\(symlinks.map { "{\"object\": \"/run\", \"symlink\": \(js($0))}" }.joined(separator: ", "))],
         "exportReferencesGraph": {"closure": []},\(extraJSON.map { $0 + "," } ?? "")
         "closure": [\(unitPaths.map { "{\"path\": \(js($0)), \"references\": []}" }.joined(separator: ", "))]}
        """
        do {
            _ = try Attrs.imageSpec(try Attrs.parse(Array(json.utf8), origin: "attrs.json"), storeDir: "/nix/store")
            return nil
        } catch {
            let m = error.message
            return m.hasPrefix("attribute ") ? String(m.dropFirst("attribute ".count)) : m
        }
    }

    /// Nix's error line (the one with "error:"), for messages.
    func errorText(_ r: CommandResult) -> String {
        r.stderrText.split(separator: "\n").filter { !$0.contains("--show-trace") }.joined(separator: "\n")
    }

    func testValidArgumentsEvaluate() throws {
        try requireNix()
        let r = try evaluate(expression(units: ["demo.service", "demo-worker.timer", "demo-web.socket"], symlinks: ["/etc/ssl", "/var/run", "/bin/sh"]))
        XCTAssertTrue(r.succeeded, r.summary)
        XCTAssertTrue(r.stdoutText.contains("-demo-img-1.0.drv"), r.stdoutText)
        XCTAssertNil(builderMessage(units: ["demo.service", "demo-worker.timer", "demo-web.socket"], symlinks: ["/etc/ssl", "/var/run", "/bin/sh"]))
    }

    func testBadUnitNames() throws {
        try requireNix()
        for name in ["other.service", "demox.socket", "demo.conf", "demo=x.service", "demo?.timer"] {
            guard let builder = builderMessage(units: [name]) else { XCTFail("the builder accepts unit \(name)"); continue }
            // The builder: `units[0]: unit "NAME": WHY`; Nix names the path too.
            let why = String(builder.drop { $0 != ":" }.dropFirst(2))
            let whyAfterName = String(why.drop { $0 != ":" }.dropFirst(2))
            XCTAssertEqual(UnitName.problem(name, pname: "demo"), whyAfterName, name)
            let r = try evaluate(expression(units: [name]))
            XCTAssertFalse(r.succeeded, "unit \(name) must be refused at evaluation time: \(r.summary)")
            let text = errorText(r)
            XCTAssertTrue(text.contains("error: portableService: unit \"\(name)\" (/nix/store/"), "«\(text)»")
            XCTAssertTrue(text.contains("-\(name)): \(whyAfterName)"), "«\(text)» should end with the builder's «\(whyAfterName)»")
        }
    }

    func testBadSymlinks() throws {
        try requireNix()
        let cases: [[String]] = [
            [""], ["/a/../b"], ["/"], ["/nix/store/abc"], ["/nix/store"], ["/nix"],
            ["/etc/os-release"], ["/etc/machine-id"], ["/proc"], ["/var/log"], ["/etc/systemd/system"],
            ["/etc/systemd/system/demo.service"], ["/etc/systemd/system/demo-extra.timer"], ["/etc/os-release/x"], ["/etc"], ["/var"],
            ["/bin/sh", "bin//sh/"], ["/opt/a", "/opt/a/b"], ["/opt/a/b", "/opt/a"], ["/dev/log"], ["/tmp/x"], ["/var/tmp/a/b"],
        ]
        for links in cases {
            guard let builder = builderMessage(symlinks: links) else { XCTFail("the builder accepts symlinks \(links)"); continue }
            XCTAssertTrue(builder.hasPrefix("symlinks["), builder)
            let r = try evaluate(expression(symlinks: links))
            XCTAssertFalse(r.succeeded, "symlinks \(links) must be refused at evaluation time: \(r.summary)")
            let text = errorText(r)
            XCTAssertTrue(text.contains("error: portableService: \(builder)"), "symlinks \(links): «\(text)» should carry the builder's message «\(builder)»")
        }
        // nix-build stops at the same point, before building anything.
        let r = try Shell.run("nix-build", ["--no-out-link", "-E", expression(symlinks: ["/nix/store/abc"]), "--option", "substituters", ""])
        XCTAssertFalse(r.succeeded, r.summary)
        XCTAssertTrue(r.stderrText.contains("error: portableService: symlinks[0].symlink: \"/nix/store/abc\" is inside the image's /nix/store, which holds exactly the closure"), r.stderrText)
        XCTAssertFalse(r.stderrText.contains("building '"), "nothing may be built: \(r.stderrText)")
    }

    func testBadPnamesAndVersions() throws {
        try requireNix()
        for pname in ["de_mo", "de:mo", "de mo", "", "-demo", "de/mo", "de@mo"] {
            guard let why = pnameProblem(pname) else { XCTFail("the builder accepts pname \(pname)"); continue }
            let r = try evaluate(expression(pname: pname, units: ["x.service"]))
            XCTAssertFalse(r.succeeded, "pname \(pname.debugDescription): \(r.summary)")
            let text = errorText(r)
            XCTAssertTrue(text.contains("error: portableService: pname") && text.contains(why), "pname \(pname.debugDescription): «\(text)» should carry «\(why)»")
        }
        for version in ["", "1 0", "1/0", "1\t0", String(repeating: "9", count: 247), "1~rc1"] {
            guard let builder = builderMessage(version: version) else { XCTFail("the builder accepts version \(version)"); continue }
            // `version "V" WHY`: compare WHY.
            let why = version.isEmpty ? String(builder.dropFirst("version: \"\" ".count)) : String(builder.components(separatedBy: "\" ").dropFirst().joined(separator: "\" "))
            let r = try evaluate(expression(version: version))
            XCTAssertFalse(r.succeeded, "version \(version.debugDescription): \(r.summary)")
            let text = errorText(r)
            XCTAssertTrue(text.contains("error: portableService: version") && text.contains(why), "version \(version.prefix(20).debugDescription): «\(text)» should carry «\(why)»")
        }
        // Nix's derivation-name rule is the builder's too (nix/rules.json).
        let r = try evaluate(expression(version: "1~rc1"))
        XCTAssertTrue(errorText(r).contains("error: portableService: version \"1~rc1\" contains '~', which Nix does not allow in the derivation name ${pname}-img-${version}"), r.summary)
    }

    /// squash-compression and squash-block-size fail at evaluation, by the
    /// builder's rule and in its words (the writer's parser, in process),
    /// before anything is built.
    func testBadSquashSettingsFailAtEvaluation() throws {
        try requireNix()
        let cases: [(attribute: String, value: String, blockSize: Int)] = [
            ("squash-compression", "brotli", 1 << 20), ("squash-compression", "zstd -Xcompression-level 99", 1 << 20),
            ("squash-compression", "lzma", 1 << 20), ("squash-compression", "xz -Xdict-size 3K", 1 << 20),
            ("squash-compression", "lz4 hc", 1 << 20), ("squash-block-size", "3K", 0), ("squash-block-size", "1G", 0),
        ]
        for c in cases {
            let builder: String
            do {
                if c.attribute == "squash-block-size" { _ = try parseBlockSize(c.value) } else { _ = try parseCompressor(c.value, blockSize: c.blockSize) }
                XCTFail("the builder accepts \(c.attribute) \(c.value)")
                continue
            } catch {
                builder = error.message
            }
            let expr = """
            let ps = import \(Self.function) { mkportable = "/bin/sh"; };
            in (ps { pname = "demo"; version = "1.0"; units = [ (builtins.toFile "demo.service" "[Service]\\n") ];
                     \(c.attribute) = \(Self.nix(c.value)); }).drvPath
            """
            let r = try Shell.run("nix-build", ["--no-out-link", "-E", expr])
            XCTAssertFalse(r.succeeded, "\(c.attribute) \(c.value): \(r.summary)")
            let text = errorText(r)
            XCTAssertTrue(text.contains("error: portableService: \(c.attribute): \"\(c.value)\": \(builder)"),
                          "\(c.attribute) \(c.value): «\(text)» should carry the builder's «\(builder)»")
            XCTAssertFalse(r.stderrText.contains("building '"), "nothing may be built: \(r.stderrText)")
        }
        // What the builder takes evaluates: 4K blocks with the default xz.
        let ok = try evaluate("""
            let ps = import \(Self.function) { mkportable = "/bin/sh"; };
            in (ps { pname = "demo"; version = "1.0"; units = [ (builtins.toFile "demo.service" "[Service]\\n") ];
                     squash-block-size = "4K"; }).drvPath
            """)
        XCTAssertTrue(ok.succeeded, ok.summary)
    }

    /// filesystem, erofs-compression and the squashfs settings an erofs
    /// image does not take: each refused at evaluation with the builder's
    /// words for the same attributes (computed in process), nothing built;
    /// the good ones evaluate.
    func testFileSystemSettingsFailAtEvaluationInTheBuildersWords() throws {
        try requireNix()
        // (Nix attributes, the same as JSON attributes, refused?)
        let cases: [(nix: String, json: String, refused: Bool)] = [
            (#"filesystem = "ext4";"#, #""filesystem": "ext4""#, true),
            ("filesystem = 1;", #""filesystem": 1"#, true),
            (#"erofs-compression = "lz4";"#, #""erofs-compression": "lz4""#, true),
            (#"filesystem = "erofs"; erofs-compression = "zstd,level=23";"#, #""filesystem": "erofs", "erofs-compression": "zstd,level=23""#, true),
            (#"filesystem = "erofs"; erofs-compression = "deflate,level=10";"#, #""filesystem": "erofs", "erofs-compression": "deflate,level=10""#, true),
            (#"filesystem = "erofs"; erofs-compression = "lz4hc,level=13";"#, #""filesystem": "erofs", "erofs-compression": "lz4hc,level=13""#, true),
            (#"filesystem = "erofs"; erofs-compression = 9;"#, #""filesystem": "erofs", "erofs-compression": 9"#, true),
            (#"filesystem = "erofs"; squash-compression = "zstd";"#, #""filesystem": "erofs", "squash-compression": "zstd""#, true),
            (#"filesystem = "erofs"; squash-block-size = "4K";"#, #""filesystem": "erofs", "squash-block-size": "4K""#, true),
            (#"filesystem = "erofs";"#, #""filesystem": "erofs""#, false),
            (#"filesystem = "erofs"; erofs-compression = "zstd";"#, #""filesystem": "erofs", "erofs-compression": "zstd""#, false),
            (#"filesystem = "erofs"; erofs-compression = "lzma,level=9"; verity = true;"#, #""filesystem": "erofs", "erofs-compression": "lzma,level=9", "verity": true"#, false),
            (#"filesystem = "squashfs"; squash-compression = "zstd";"#, #""filesystem": "squashfs", "squash-compression": "zstd""#, false),
        ]
        for c in cases {
            let builder = builderMessage(extraJSON: c.json)
            let expr = """
            let ps = import \(Self.function) { mkportable = "/bin/sh"; };
            in (ps { pname = "demo"; version = "1.0"; units = [ (builtins.toFile "demo.service" "[Service]\\n") ]; \(c.nix) }).drvPath
            """
            let r = try Shell.run("nix-build", ["--no-out-link", "-E", expr])
            guard c.refused else {
                XCTAssertNil(builder, c.json)
                let e = try evaluate(expr)
                XCTAssertTrue(e.succeeded, "\(c.nix): \(e.summary)")
                continue
            }
            XCTAssertFalse(r.succeeded, "\(c.nix): \(r.summary)")
            let want = try XCTUnwrap(builder, "the builder accepts \(c.json)")
            XCTAssertTrue(errorText(r).contains("error: portableService: \(want)"), "\(c.nix): «\(errorText(r))» should carry the builder's «\(want)»")
            XCTAssertFalse(r.stderrText.contains("building '"), "nothing may be built: \(r.stderrText)")
        }
    }
}
