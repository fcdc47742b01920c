import Foundation
import XCTest

/// The nixpkgs side, against the stand-in for nixpkgs (nix/stand-in, the
/// flake nix/flake.nix), with real nix-build and the sandbox on:
///
/// - `pkgs.portableService` from the overlay gives a nixpkgs-shaped result:
///   pname "${pname}-img", meta, passthru (imageFileName, closure, tests),
///   overrideAttrs in both of nixpkgs' forms, and `.override` on the
///   function; each is built and its image read back;
/// - under pkgsCross the image is built on the build platform by
///   buildPackages.mkportable, and the stand-in refuses a host-platform
///   mkportable as a builder, as a cross build on nixpkgs would fail;
/// - `nix flake check` passes with the stand-in given as the nixpkgs input,
///   and fails in pure mode saying that --impure is needed;
/// - the examples evaluate where busybox and the writers are derivations,
///   and builtins.toFile text referring to one is refused there, as on
///   nixpkgs;
/// - host mode's mkportable store path changes when a fingerprinted host
///   library changes, and its builder refuses a library changed after
///   evaluation.
///
/// Needs nix-build and the host Swift toolchain (NixTests' settings).
final class NixpkgsShapeTests: XCTestCase {
    static let root = NixTests.root

    func requireNix() throws {
        for tool in ["nix-build", "nix-instantiate", "nix-store", "nix"] where Shell.which(tool) == nil {
            print("note: NixpkgsShapeTests skipped: \(tool) not found (install nix-bin)")
            throw XCTSkip("\(tool) not found")
        }
    }

    /// `{ root, swiftToolchain }: let <standIn> in BODY`, where the let
    /// binds `s` (nix/flake-stand-in.nix), `pkgs` (the stand-in with the
    /// overlay), `lib` and `unit NAME` (a writeText unit running busybox).
    func expression(_ body: String) -> String {
        """
        { root, swiftToolchain }:
        let
          s = import (root + "/nix/flake-stand-in.nix") { inherit swiftToolchain; };
          pkgs = s.overlaid;
          lib = pkgs.lib;
          unit = p: name: p.writeText "${name}.service" "[Service]\\nExecStart=${p.busybox}/bin/busybox echo ${name}\\n";
        in
        \(body)
        """
    }

    var arguments: [String] { ["--argstr", "root", Self.root, "--argstr", "swiftToolchain", NixTests.toolchain] }

    /// NIX_ABORT_ON_WARN=1 on every evaluation: a warning is an error, as
    /// in nixpkgs' CI, unless a test asks otherwise.
    static let abortOnWarn: [String: String?] = ["NIX_ABORT_ON_WARN": "1"]

    func evaluate(_ body: String, environment: [String: String?] = abortOnWarn) throws -> [String: Any] {
        let r = try Shell.run("nix-instantiate", ["--eval", "--strict", "--json", "-E", expression(body)] + arguments, environment: environment)
        guard r.succeeded else { throw CommandFailed(result: r) }
        guard let json = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] else {
            XCTFail("not an attribute set: \(r.stdoutText)")
            return [:]
        }
        return json
    }

    func evaluationError(_ body: String, environment: [String: String?] = abortOnWarn) throws -> String {
        let r = try Shell.run("nix-instantiate", ["--eval", "--strict", "-E", expression(body)] + arguments, environment: environment)
        XCTAssertFalse(r.succeeded, "must not evaluate: \(r.stdoutText)")
        return r.stderrText
    }

    /// Builds the attributes of BODY (an attribute set of derivations);
    /// returns attribute -> output path.
    func build(_ body: String, _ attrs: [String]) throws -> [String: String] {
        var out: [String: String] = [:]
        let r = try Shell.run("nix-build", ["--no-out-link", "-E", expression(body)] + attrs.flatMap { ["-A", $0] }
                                + arguments + NixTests.nixOptions)
        guard r.succeeded else { throw CommandFailed(result: r) }
        let paths = r.stdoutText.split(separator: "\n").map(String.init)
        XCTAssertEqual(paths.count, attrs.count, r.stdoutText)
        for (a, p) in zip(attrs, paths) { out[a] = p }
        return out
    }

    func cat(_ image: String, _ path: String) throws -> String {
        try Shell.check("unsquashfs", ["-cat", image, path]).stdoutText
    }

    /// unsquashfs and sqfs2tar (when installed) both list `path` in the image.
    func assertReadersSee(_ image: String, _ path: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let listing = try Shell.check("unsquashfs", ["-ls", image]).stdoutText
        XCTAssertTrue(listing.split(separator: "\n").contains { $0 == "squashfs-root/" + path }, "unsquashfs: no \(path) in \(image)", file: file, line: line)
        if Shell.which("sqfs2tar") != nil {
            let scratch = try TemporaryDirectory(prefix: "shape-tar")
            defer { scratch.remove() }
            let tar = scratch.sub("image.tar").string
            let r = try Shell.run("sqfs2tar", [image], stdoutPath: tar)
            XCTAssertTrue(r.succeeded, r.summary, file: file, line: line)
            let names = try Shell.check("tar", ["-tf", tar]).stdoutText.split(separator: "\n").map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "/")) }
            XCTAssertTrue(names.contains(path), "sqfs2tar: no \(path) in \(image)", file: file, line: line)
        } else {
            print("note: sqfs2tar not installed; only unsquashfs read \(image)")
        }
    }

    // MARK: pkgs mode

    static let shapeBody = """
    let
      licensed = pkgs.runCommand "shape-data" { meta.license = lib.licenses.mit; } "mkdir -p $out; echo data > $out/data";
      args = {
        pname = "shape";
        version = "1.0";
        description = "Shape test";
        homepage = "https://example.org/shape";
        units = [ (unit pkgs "shape") ];
        contents = [ licensed ];
      };
      img = pkgs.portableService args;
      overVersion = img.overrideAttrs (old: { version = "2.0"; });
      overFinal = img.overrideAttrs (final: prev: { description = prev.description + " (2)"; });
      overSet = img.overrideAttrs { version = "3.0"; };
      overridden = pkgs.portableService.override { extraAttrs.note = "overridden"; };
      viaOverride = overridden args;
    in
    {
      inherit img overVersion overFinal viaOverride;
      closure = img.passthru.closure;
      rebuild = img.passthru.tests.rebuild;
      facts = {
        inherit (img) name pname version;
        getName = lib.getName img;
        meta = img.meta;
        position = img.meta.position or null;
        imageFileName = img.passthru.imageFileName;
        closureRoots = img.passthru.closureRoots;
        outPname = img.out.pname;
        outSpecified = img.out.outputSpecified or false;
        overVersionName = overVersion.name;
        overVersionFile = overVersion.imageFileName;
        overFinalDescription = overFinal.meta.description;
        overSetFile = overSet.passthru.imageFileName;
        hasOverride = pkgs.portableService ? override;
        viaOverrideNote = viaOverride.note or null;
        viaOverrideDrv = viaOverride.drvPath;
        imgDrv = img.drvPath;
      };
    }
    """

    func testPkgsModeResultIsNixpkgsShaped() throws {
        try requireNix()
        let facts = try evaluate("(\(Self.shapeBody)).facts")
        XCTAssertEqual(facts["name"] as? String, "shape-img-1.0")
        XCTAssertEqual(facts["pname"] as? String, "shape-img", "nixpkgs: pname = \"${pname}-img\"")
        XCTAssertEqual(facts["getName"] as? String, "shape-img")
        XCTAssertEqual(facts["outPname"] as? String, "shape-img")
        XCTAssertEqual(facts["outSpecified"] as? Bool, true, "lib.extendDerivation's per-output shape")
        XCTAssertEqual(facts["version"] as? String, "1.0")
        let meta = facts["meta"] as? [String: Any] ?? [:]
        XCTAssertEqual(meta["description"] as? String, "Shape test")
        XCTAssertEqual(meta["homepage"] as? String, "https://example.org/shape")
        XCTAssertEqual((meta["license"] as? [String: Any])?["spdxId"] as? String, "MIT", "the licence of `contents`: \(meta)")
        XCTAssertTrue((meta["platforms"] as? [String] ?? []).contains("x86_64-linux"), "\(meta)")
        // meta.position, as mkDerivation sets it: where `pname` was written
        // (Nix 2.8 names an -E expression's "file" by its text).
        let lines = expression(Self.shapeBody).split(separator: "\n", omittingEmptySubsequences: false)
        let pnameLine = (lines.firstIndex { $0.contains("pname = \"shape\";") } ?? -1) + 1
        XCTAssertTrue((facts["position"] as? String ?? "").hasSuffix(":\(pnameLine)"), "meta.position \(facts["position"] ?? "none") should end in :\(pnameLine)")
        XCTAssertEqual(facts["imageFileName"] as? String, "shape_1.0.raw")
        XCTAssertEqual(facts["overVersionName"] as? String, "shape-img-2.0")
        XCTAssertEqual(facts["overVersionFile"] as? String, "shape_2.0.raw")
        XCTAssertEqual(facts["overFinalDescription"] as? String, "Shape test (2)")
        XCTAssertEqual(facts["overSetFile"] as? String, "shape_3.0.raw", "overrideAttrs takes a plain attribute set too")
        XCTAssertEqual(facts["hasOverride"] as? Bool, true)
        XCTAssertEqual(facts["viaOverrideNote"] as? String, "overridden")
        XCTAssertNotEqual(facts["viaOverrideDrv"] as? String, facts["imgDrv"] as? String)

        let out = try build(Self.shapeBody, ["img", "overVersion", "overFinal", "viaOverride", "closure", "rebuild"])
        let image = out["img"]! + "/shape_1.0.raw"
        try assertReadersSee(image, "etc/systemd/system/shape.service")
        XCTAssertTrue(try cat(image, "etc/os-release").contains("PORTABLE_PRETTY_NAME=\"Shape test\""))
        let v2 = out["overVersion"]! + "/shape_2.0.raw"
        try assertReadersSee(v2, "etc/systemd/system/shape.service")
        let d2 = out["overFinal"]! + "/shape_1.0.raw"
        XCTAssertTrue(try cat(d2, "etc/os-release").contains("PORTABLE_PRETTY_NAME=\"Shape test (2)\""), "overrideAttrs (final: prev: ...) reaches the image")
        // .override changed the derivation, not the image.
        XCTAssertEqual(try Posix.readFile(RawPath(out["viaOverride"]! + "/shape_1.0.raw")), try Posix.readFile(RawPath(image)))
        // passthru.closure lists what the image's /nix/store holds.
        let roots = facts["closureRoots"] as? [String] ?? []
        let expected = try Shell.check("nix-store", ["-qR"] + roots).stdoutText.split(separator: "\n").map(String.init).sorted()
        let listed = try String(decoding: Posix.readFile(RawPath(out["closure"]! + "/store-paths")), as: UTF8.self).split(separator: "\n").map(String.init)
        XCTAssertEqual(listed, expected)
        let inImage = try Shell.check("unsquashfs", ["-ls", image]).stdoutText.split(separator: "\n").compactMap { line -> String? in
            let parts = line.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 4 && parts[1] == "nix" && parts[2] == "store" ? "/nix/store/" + parts[3] : nil
        }
        XCTAssertEqual(inImage.sorted(), listed)
        // passthru.tests.rebuild compared two independent builds.
        XCTAssertEqual(try String(decoding: Posix.readFile(RawPath(out["rebuild"]!)), as: UTF8.self), image + "\n")
    }

    func testOverrideAttrsRefusesWhatIsNotAnArgument() throws {
        try requireNix()
        let err = try evaluationError("((pkgs.portableService { pname = \"x\"; version = \"1\"; units = [ (unit pkgs \"x\") ]; }).overrideAttrs (_: { postInstall = \"true\"; })).drvPath")
        XCTAssertTrue(err.contains("portableService: overrideAttrs: postInstall is not an argument of portableService"), err)
    }

    /// passthru.tests.rebuild builds the image a second time with the same
    /// inputs, so a nondeterministic store path in the closure is the same
    /// in both builds; what can differ is the build itself. Here the
    /// builder is made nondeterministic on purpose: a wrapper around
    /// mkportable that, building, adds a symlink /etc/build-id to a fresh
    /// random name (as a build recording a random id or the time would) and
    /// passes everything else through. The rebuild test must fail, and its
    /// log must hold `mkportable diff`'s summary naming that path.
    static let flakyBody = """
    let
      bb = "${pkgs.busybox}/bin/busybox";
      flaky = pkgs.writeScriptBin "mkportable" ''
        #!${bb} sh
        # Building (no arguments). Nix 2.8 points NIX_ATTRS_JSON_FILE outside
        # the sandbox; inside, the attributes are $NIX_BUILD_TOP/.attrs.json.
        if [ $# -eq 0 ]; then
          id=$(${bb} cat /proc/sys/kernel/random/uuid)
          ${bb} sed -e 's|"symlinks":\\[\\]|"symlinks":[{"object":"/run/build-ID","symlink":"/etc/build-id"}]|' \\
            -e "s|/run/build-ID|/run/build-$id|" "$NIX_BUILD_TOP/.attrs.json" > "$NIX_BUILD_TOP/flaky-attrs.json"
          export NIX_ATTRS_JSON_FILE="$NIX_BUILD_TOP/flaky-attrs.json"
        fi
        exec ${pkgs.buildPackages.mkportable}/bin/mkportable "$@"
      '';
      img = (pkgs.portableService.override { mkportable = flaky; }) {
        pname = "flaky";
        version = "1.0";
        units = [ (unit pkgs "flaky") ];
      };
    in
    {
      inherit img;
      rebuild = img.passthru.tests.rebuild;
    }
    """

    func testRebuildOfDifferingBuildsFailsAndSaysWhy() throws {
        try requireNix()
        let image = try build(Self.flakyBody, ["img"])["img"]! + "/flaky_1.0.raw"
        let link = try Shell.check("unsquashfs", ["-lln", image, "etc/build-id"]).stdoutText
        XCTAssertTrue(link.contains("etc/build-id -> /run/build-"), "the wrapper must have added the link: \(link)")
        let r = try Shell.run("nix-build", ["--no-out-link", "-E", expression(Self.flakyBody), "-A", "rebuild"] + arguments + NixTests.nixOptions)
        XCTAssertFalse(r.succeeded, "two differing builds must fail the rebuild test: \(r.summary)")
        let log = r.stderrText
        XCTAssertTrue(log.contains("two builds of flaky_1.0.raw differ"), log)
        XCTAssertTrue(log.contains("/flaky_1.0.raw differ: 1 difference in the tree"), "diff's summary: \(log)")
        XCTAssertTrue(log.contains("/etc/build-id: target /run/build-"), "diff names the differing path: \(log)")
    }

    // MARK: cross

    static let crossBody = """
    let
      c = pkgs.pkgsCross.aarch64-multiplatform;
      img = c.portableService { pname = "cross"; version = "1"; units = [ (unit c "cross") ]; };
      ddi = c.portableService { pname = "cross"; version = "1"; units = [ (unit c "cross") ]; format = "ddi"; };
    in
    {
      inherit img ddi;
      facts = {
        inherit (img) builder system;
        ddiSystem = ddi.system;
        ddiImageSystem = ddi.imageSystem;
        buildMkportable = "${c.buildPackages.mkportable}/bin/mkportable";
        buildSystem = c.stdenv.buildPlatform.system;
        hostSystem = c.stdenv.hostPlatform.system;
      };
    }
    """

    func testCrossImagesAreBuiltByBuildPackagesMkportable() throws {
        try requireNix()
        let facts = try evaluate("(\(Self.crossBody)).facts")
        XCTAssertEqual(facts["hostSystem"] as? String, "aarch64-linux")
        XCTAssertEqual(facts["buildSystem"] as? String, facts["system"] as? String, "the image derivation runs on the build platform")
        XCTAssertEqual(facts["builder"] as? String, facts["buildMkportable"] as? String, "the builder is buildPackages.mkportable")
        // The stand-in is strict here: an overlay that used the host
        // platform's mkportable (as this one did before) does not evaluate.
        let err = try evaluationError("""
        let
          old = s.nixpkgs.legacyPackages.${builtins.currentSystem}.appendOverlays [ (final: prev: {
            mkportable = final.callPackage (root + "/nix/package.nix") { };
            portableService = import (root + "/nix/portable-service.nix") { inherit (final) mkportable; inherit (final.stdenv.hostPlatform) system; };
          }) ];
          c = old.pkgsCross.aarch64-multiplatform;
        in (c.portableService { pname = "cross"; version = "1"; units = [ (unit c "cross") ]; }).drvPath
        """)
        XCTAssertTrue(err.contains("cannot run on the build platform"), err)
        // A DDI is built on the build platform too, but its partition types
        // are those of the platform it is for.
        XCTAssertEqual(facts["ddiSystem"] as? String, facts["buildSystem"] as? String)
        XCTAssertEqual(facts["ddiImageSystem"] as? String, "aarch64-linux", "a cross DDI names the host platform's architecture")
        let out = try build(Self.crossBody, ["img", "ddi"])
        try assertReadersSee(out["img"]! + "/cross_1.raw", "etc/systemd/system/cross.service")
        // The aarch64 root partition type (UAPI discoverable partitions).
        let table = try Shell.check("sfdisk", ["--json", out["ddi"]! + "/cross_1.raw"]).stdoutText.lowercased()
        XCTAssertTrue(table.contains("b921b045-1df0-41c3-af44-4c6f280d3fae"), "aarch64 root partition type in \(table)")
    }

    // MARK: callPackage'd directly

    /// portable-service.nix callPackage'd by hand (its header shows this),
    /// natively and under pkgsCross. callPackage fills every declared
    /// argument it finds in pkgs, and nixpkgs' `pkgs.system` is a
    /// deprecated alias of the host platform's system that warns when read
    /// (the stand-in has it too): the derivation must still be built on the
    /// build platform, a DDI's partition types be the host platform's, and
    /// nothing warn (NIX_ABORT_ON_WARN=1 is set).
    static let directBody = """
    let
      direct = p: p.callPackage (root + "/nix/portable-service.nix") { inherit (p.buildPackages) mkportable; };
      c = pkgs.pkgsCross.aarch64-multiplatform;
      args = p: { pname = "direct"; version = "1"; units = [ (unit p "direct") ]; format = "ddi"; };
      native = direct pkgs (args pkgs);
      cross = direct c (args c);
      pinned = (direct c).override { hostSystem = "x86_64-linux"; } (args c);
    in
    {
      nativeSystem = native.system;
      nativeImageSystem = native.imageSystem;
      crossSystem = cross.system;
      crossImageSystem = cross.imageSystem;
      crossDrv = cross.drvPath;
      pinnedImageSystem = pinned.imageSystem;
      buildSystem = c.stdenv.buildPlatform.system;
    }
    """

    func testDirectCallPackageTakesThePlatformsFromStdenv() throws {
        try requireNix()
        let facts = try evaluate(Self.directBody)
        let build = facts["buildSystem"] as? String
        XCTAssertEqual(facts["nativeSystem"] as? String, build)
        XCTAssertEqual(facts["nativeImageSystem"] as? String, build)
        XCTAssertEqual(facts["crossSystem"] as? String, build, "built on the build platform, not pkgs.system's host platform")
        XCTAssertEqual(facts["crossImageSystem"] as? String, "aarch64-linux", "a cross DDI's partition types are the host platform's")
        XCTAssertEqual(facts["pinnedImageSystem"] as? String, "x86_64-linux", ".override { hostSystem } still works")
        // Reading pkgs.system warns in the stand-in as in nixpkgs, so the
        // check above would catch a function that read it.
        let warned = try evaluationError("pkgs.system")
        XCTAssertTrue(warned.contains("'system' has been renamed to/replaced by 'stdenv.hostPlatform.system'"), warned)
        // A misspelt argument is refused by name, not ignored.
        let typo = try evaluationError("((pkgs.portableService.override { sytem = \"x\"; }) { pname = \"t\"; version = \"1\"; units = [ (unit pkgs \"t\") ]; }).drvPath")
        XCTAssertTrue(typo.contains("portableService: sytem is not an argument of the portableService function"), typo)
    }

    /// The ignored squashfsTools argument warns with nixpkgs' lib.warn, so
    /// NIX_ABORT_ON_WARN (and abort-on-warn where Nix has builtins.warn)
    /// stops evaluation, as it does for nixpkgs' own warnings.
    func testIgnoredSquashfsToolsWarnsThroughLibWarn() throws {
        try requireNix()
        let body = "(pkgs.portableService { pname = \"w\"; version = \"1\"; units = [ (unit pkgs \"w\") ]; squashfsTools = pkgs.busybox; }).drvPath"
        let r = try Shell.run("nix-instantiate", ["--eval", "-E", expression(body)] + arguments, environment: ["NIX_ABORT_ON_WARN": nil])
        XCTAssertTrue(r.succeeded, r.summary)
        XCTAssertTrue(r.stderrText.contains("evaluation warning: portableService: squashfsTools is ignored"), r.stderrText)
        let aborted = try evaluationError(body)
        XCTAssertTrue(aborted.contains("warnings are treated as unrecoverable errors"), aborted)
    }

    /// Calls written for nixpkgs' portableService that it accepts, and that
    /// give an image portablectl attaches (nix/README.md, "Drop-in"):
    /// `.override { pkgs = ...; }`, `squashfs-tools` (quiet, so
    /// NIX_ABORT_ON_WARN=1 passes), `img.closureInfo`,
    /// `img.nativeBuildInputs`. Those whose nixpkgs image would not work
    /// are refused at evaluation, saying why.
    func testNixpkgsCallsEvaluateAsDropIn() throws {
        try requireNix()
        let facts = try evaluate("""
            let
              call = args: pkgs.portableService ({ pname = "drop"; version = "1"; units = [ (unit pkgs "drop") ]; } // args);
              img = call { squashfs-tools = pkgs.busybox; };
              viaPkgs = (pkgs.portableService.override { inherit pkgs; }) { pname = "drop"; version = "1"; units = [ (unit pkgs "drop") ]; };
            in {
              drv = img.drvPath;
              plain = (call { }).drvPath;
              viaPkgs = viaPkgs.drvPath;
              closureInfo = img.closureInfo.drvPath;
              nativeBuildInputs = map (d: d.drvPath) img.nativeBuildInputs;
            }
            """)
        XCTAssertEqual(facts["drv"] as? String, facts["plain"] as? String, "squashfs-tools changes nothing")
        XCTAssertEqual(facts["viaPkgs"] as? String, facts["plain"] as? String, ".override { pkgs } gives the same image")
        XCTAssertTrue((facts["closureInfo"] as? String ?? "").hasSuffix(".drv"), "\(facts)")
        XCTAssertEqual((facts["nativeBuildInputs"] as? [String] ?? []).count, 1, "\(facts)")

        for (args, why) in [
            ("units = [ ];", "nixpkgs' image without units is refused"),
            ("units = [ (pkgs.writeText \"drop\" \"\") ];", "the name must end in .service"),
            ("units = [ (pkgs.writeText \"drop.conf\" \"\") ];", "the name must end in .service"),
            ("pname = \"dr_op\"; units = [ (unit pkgs \"dr_op\") ];", "portablectl takes the image file name up to the first '_' as the unit prefix"),
            ("symlinks = [ { object = \"${pkgs.busybox}/bin\"; symlink = \"/nix/store/bin\"; } ];", "nixpkgs' mksquashfs puts such a link at /nix_1"),
            ("symlinks = [ { object = \"${unit pkgs \"drop-x\"}\"; symlink = \"/etc/systemd/system/drop-x.service\"; } ];", "pass the unit in `units` instead"),
        ] {
            let err = try evaluationError("(pkgs.portableService ({ pname = \"drop\"; version = \"1\"; units = [ (unit pkgs \"drop\") ]; } // { \(args) })).drvPath")
            XCTAssertTrue(err.contains("error: portableService: ") && err.contains(why), "\(args): «\(err)» should say «\(why)»")
        }
    }

    // MARK: the stand-in's strictness

    func testStandInIsAsStrictAsNixpkgsWhereOurFilesTouchIt() throws {
        try requireNix()
        // callPackage refuses a missing required argument, as nixpkgs does.
        let missing = try evaluationError("pkgs.callPackage ({ lib, no-such-package }: 1) { }")
        XCTAssertTrue(missing.contains("Function called without required argument \"no-such-package\""), missing)
        // busybox and writeText are derivations: builtins.toFile text that
        // refers to busybox is refused, as on nixpkgs.
        let facts = try evaluate("{ busybox = pkgs.busybox.type; text = (pkgs.writeText \"x\" \"y\").type; }")
        XCTAssertEqual(facts["busybox"] as? String, "derivation")
        XCTAssertEqual(facts["text"] as? String, "derivation")
        let toFile = try evaluationError("builtins.toFile \"x.service\" \"ExecStart=${pkgs.busybox}/bin/busybox true\"")
        XCTAssertTrue(toFile.contains("toFile"), toFile)
        // So every example evaluates where nixpkgs' rules hold; and none
        // uses builtins.toFile.
        let examples = try evaluate("builtins.mapAttrs (n: v: v.drvPath) (removeAttrs (import (root + \"/examples\") { portableService = s.self.lib.portableService pkgs; lib = import (root + \"/examples/lib.nix\") { inherit pkgs; }; }) [ \"recurseForDerivations\" ])")
        XCTAssertEqual(Set(examples.keys), ["hello", "symlinks", "multi-unit"])
        for file in try FileManager.default.contentsOfDirectory(atPath: Self.root + "/examples") where file.hasSuffix(".nix") {
            let text = try String(contentsOfFile: Self.root + "/examples/" + file, encoding: .utf8)
            let code = text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") }.joined(separator: "\n")
            XCTAssertFalse(code.contains("builtins.toFile"), "examples/\(file) uses builtins.toFile")
        }
    }

    // MARK: nix flake check

    /// The flake's files copied to a scratch directory (a path: flake), so
    /// that the check does not copy the build directory into the store.
    func flakeCopy() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory(prefix: "flake-check")
        for item in ["flake.nix", "nix", "examples", "Package.swift", "Sources"] {
            try Shell.check("cp", ["-r", Self.root + "/" + item, dir.path.string + "/"])
        }
        return dir
    }

    func flakeCheck(_ dir: TemporaryDirectory, impure: Bool) throws -> CommandResult {
        let d = dir.path.string
        return try Shell.run("nix", ["--extra-experimental-features", "nix-command flakes", "flake", "check"]
                                + (impure ? ["--impure"] : [])
                                + ["--no-write-lock-file", "--override-input", "nixpkgs", "path:\(d)/nix", "path:\(d)"]
                                + NixTests.nixOptions)
    }

    func testFlakeCheckPassesWithTheStandInAsTheNixpkgsInput() throws {
        try requireNix()
        guard NixTests.toolchain == "/opt/swift" else {
            print("note: flake check skipped: the stand-in flake uses /opt/swift and the toolchain here is \(NixTests.toolchain)")
            throw XCTSkip("toolchain not at /opt/swift")
        }
        let dir = try flakeCopy()
        defer { dir.remove() }
        let pure = try flakeCheck(dir, impure: false)
        XCTAssertFalse(pure.succeeded, "pure evaluation cannot read the host toolchain: \(pure.summary)")
        XCTAssertTrue(pure.stderrText.contains("run nix with --impure"), pure.stderrText)
        XCTAssertFalse(pure.stderrText.contains("no Swift toolchain"), pure.stderrText)
        let r = try flakeCheck(dir, impure: true)
        XCTAssertTrue(r.succeeded, r.summary)
    }

    // MARK: package.nix's own parts

    /// nix/package.nix called with the stand-in's lib and a recording
    /// mkDerivation (nixpkgs' Swift build cannot run here): its `src`
    /// holds only what `swift build` reads, its `postPatch` (run by bash,
    /// as stdenv does, in a copy of that src) makes a tree SwiftPM loads,
    /// and the Swift assertion refuses nixpkgs' old 5.10.1.
    func packageNix(swiftVersion: String) -> String {
        """
        import (root + "/nix/package.nix") ({
          inherit lib;
          swiftPackages.stdenv.mkDerivation = attrs: attrs;
          swift = { name = "swift-\(swiftVersion)"; version = "\(swiftVersion)"; };
        } // lib.genAttrs [ "swiftpm" "pkg-config" "zstd" "xz" "zlib" "lz4" "lzo" "openssl" ] (n: { name = n; }))
        """
    }

    func testPackageNixSourceAndPostPatchMakeALoadablePackage() throws {
        try requireNix()
        let facts = try evaluate("let p = \(packageNix(swiftVersion: "6.2.4")); in { src = \"${p.src}\"; inherit (p) postPatch swiftpmFlags; }")
        let src = facts["src"] as? String ?? ""
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: src).sorted(), ["Package.swift", "Sources"], "src holds what swift build reads, no Tests/")
        XCTAssertEqual(facts["swiftpmFlags"] as? [String], ["--product", "mkportable"])
        let scratch = try TemporaryDirectory(prefix: "package-nix")
        defer { scratch.remove() }
        let tree = scratch.sub("src").string
        try Shell.check("cp", ["-r", src, tree])
        try Shell.check("chmod", ["-R", "u+w", tree])
        let swift = NixTests.toolchain + "/usr/bin/swift"
        let scratchPath = scratch.sub("build").string
        let refused = try Shell.run(swift, ["package", "--package-path", tree, "--scratch-path", scratchPath, "describe"])
        XCTAssertFalse(refused.succeeded, "without test target directories SwiftPM refuses the manifest: \(refused.summary)")
        try Shell.check("bash", ["-e", "-c", facts["postPatch"] as? String ?? "false"], cwd: tree)
        let described = try Shell.run(swift, ["package", "--package-path", tree, "--scratch-path", scratchPath, "describe"])
        XCTAssertTrue(described.succeeded, described.summary)
        XCTAssertTrue(described.stdoutText.contains("Name: mkportable"), described.stdoutText)
        let old = try evaluationError("(\(packageNix(swiftVersion: "5.10.1"))).pname")
        XCTAssertTrue(old.contains("mkportable needs Swift 6.0 or newer") && old.contains("this nixpkgs has Swift 5.10.1"), old)
    }

    // MARK: host mode names its bytes

    /// host-mkportable.nix for this checkout with EXTRA arguments, as an
    /// expression in `root` and `swiftToolchain`.
    func hostMkportable(_ extra: String) -> String {
        "import (root + \"/nix/host-mkportable.nix\") { src = /. + root; inherit swiftToolchain; \(extra) }"
    }

    func hostEval(_ body: String, strict: Bool = false) throws -> CommandResult {
        try Shell.check("nix-instantiate", ["--eval"] + (strict ? ["--strict", "--json"] : []) + ["-E", "{ root, swiftToolchain }: \(body)"] + arguments)
    }

    func outPath(_ expr: String) throws -> String {
        try hostEval("(\(expr)).outPath").stdoutText.trimmingCharacters(in: CharacterSet(charactersIn: "\"\n"))
    }

    func testHostMkportableStorePathChangesWithTheLibraries() throws {
        try requireNix()
        // The default derivation names the real libzstd.a by its hash, and
        // the toolchain's version.
        let real = "/usr/lib/x86_64-linux-gnu/libzstd.a"
        let attrs = try hostEval("let d = \(hostMkportable("")); in { inherit (d) hostInputs toolchainVersion; }", strict: true)
        let json = try JSONSerialization.jsonObject(with: attrs.stdout) as? [String: Any] ?? [:]
        let inputs = json["hostInputs"] as? [String] ?? []
        if FileManager.default.fileExists(atPath: real) {
            let hash = try Shell.check("sha256sum", [real]).stdoutText.prefix(64)
            XCTAssertTrue(inputs.contains("\(real) sha256:\(hash)"), "\(inputs)")
        }
        XCTAssertTrue((json["toolchainVersion"] as? String ?? "").contains("Swift version"), "\(json)")

        // A copy of the libraries: change libzstd.a, and the path changes.
        let scratch = try TemporaryDirectory(prefix: "fingerprint")
        defer { scratch.remove() }
        let lib = scratch.sub("lib"), include = scratch.sub("include")
        try Posix.mkdir(lib)
        try Posix.mkdir(include)
        let zstd = lib.appending("libzstd.a")
        try Posix.writeFile(zstd, Array("libzstd 1.5.4\n".utf8))
        let expr = hostMkportable("libDir = \"\(lib.string)\"; includeDir = \"\(include.string)\";")
        let before = try outPath(expr)
        XCTAssertEqual(try outPath(expr), before, "the same files give the same path")
        try Posix.writeFile(zstd, Array("libzstd 1.5.7\n".utf8))
        let after = try outPath(expr)
        XCTAssertNotEqual(after, before, "a different libzstd.a must give a different mkportable store path")
        try Posix.writeFile(include.appending("zstd.h"), Array("#define ZSTD_VERSION_MINOR 5\n".utf8))
        XCTAssertNotEqual(try outPath(expr), after, "a header appearing changes the path")

        // The builder refuses a file changed after evaluation (it checks
        // before compiling, so this is quick).
        let drv = try Shell.check("nix-instantiate", ["-E", "{ root, swiftToolchain }: \(expr)"] + arguments).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        try Posix.writeFile(zstd, Array("libzstd 1.5.8\n".utf8))
        let r = try Shell.run("nix-store", ["--realise", drv,
                                            "--option", "sandbox", "true", "--option", "sandbox-fallback", "false",
                                            "--option", "extra-sandbox-paths", "\(NixTests.toolchain) /usr /lib /lib64 \(scratch.path.string)",
                                            "--option", "substituters", ""])
        XCTAssertFalse(r.succeeded, r.summary)
        XCTAssertTrue(r.stderrText.contains("\(zstd.string) changed after evaluation"), r.stderrText)
    }
}
