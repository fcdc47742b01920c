import Foundation
import XCTest

/// `portableService { verity = true; }` and `format = "ddi"` through real,
/// sandboxed nix-builds: the outputs, `mkportable verify` of each,
/// `nix-build --check` (also with another core count: the thread count
/// changes no byte), and the evaluation-time refusals of bad values.
final class NixVerityTests: XCTestCase {
    static let unit = "[Unit]\\nDescription=verity demo\\n[Service]\\nType=oneshot\\nExecStart=/bin/true\\n"

    func expression(_ extra: String) -> String {
        """
        { root, swiftToolchain }:
        let ps = (import (root + "/default.nix") { inherit swiftToolchain; }).portableService;
        in ps { pname = "vdemo"; version = "1.0"; \(extra.contains("units =") ? "" : "units = [ (builtins.toFile \"vdemo.service\" \"\(Self.unit)\") ];") \(extra) }
        """
    }

    func args() -> [String] {
        ["--argstr", "root", NixTests.root, "--argstr", "swiftToolchain", NixTests.toolchain]
    }

    func requireNix() throws {
        for tool in ["nix-build", "nix-instantiate"] where Shell.which(tool) == nil {
            print("note: NixVerityTests skipped: \(tool) not found (install nix-bin)")
            throw XCTSkip("\(tool) not found")
        }
    }

    /// Builds the expression with `cores`; returns the output path.
    func build(_ extra: String, cores: Int, check: Bool = false, link: TemporaryDirectory) throws -> String {
        let r = try Shell.run("nix-build", ["-E", expression(extra), "--out-link", link.sub("result").string,
                                            "--option", "cores", String(cores)] + (check ? ["--check"] : []) + args() + NixTests.nixOptions)
        guard r.succeeded else { throw CommandFailed(result: r) }
        return r.stdoutText.split(separator: "\n").last.map(String.init) ?? ""
    }

    func checkForm(_ extra: String, files: [String]) throws {
        try requireNix()
        let link = try TemporaryDirectory(prefix: "nix-verity")
        defer { link.remove() }
        let out = try build(extra, cores: 2, link: link)
        XCTAssertEqual(try Posix.listDirectory(RawPath(out)).map(\.string).sorted(), files)
        let v = try Shell.run(try MkportableBinary.path(), ["verify", out + "/vdemo_1.0.raw"])
        XCTAssertTrue(v.succeeded, v.summary)
        // A rebuild with one core must give the same bytes (--check fails
        // otherwise).
        _ = try build(extra, cores: 1, check: true, link: link)
    }

    func testVeritySidecarsBuildAndRebuildBitForBit() throws {
        try checkForm("verity = true;", files: ["vdemo_1.0.raw", "vdemo_1.0.roothash", "vdemo_1.0.verity"])
    }

    func testDDIBuildsAndRebuildsBitForBit() throws {
        try checkForm("format = \"ddi\";", files: ["vdemo_1.0.raw", "vdemo_1.0.roothash"])
    }

    /// `nix-build --check` of sidecar and DDI outputs, and of erofs ones
    /// (plain, sidecars, DDI), after `nix-store --optimise` has hard-linked
    /// identical files of the closure: hard links must change no byte (the
    /// writers make separate entries of them, and the seed of salt and UUIDs
    /// names no inode). The plain erofs image is read back by fsck.erofs.
    /// The unit names two store files with the same text, which optimise
    /// must turn into one inode, or the test proves nothing about links.
    /// The text is new on every run, so the first builds see a plain store
    /// (two inodes, checked) and `--check` an optimised one: the same
    /// output from both.
    func testCheckAfterOptimiseForSidecarsAndDDI() throws {
        try requireNix()
        let link = try TemporaryDirectory(prefix: "nix-verity-opt")
        defer { link.remove() }
        let same = "optimise me: the same bytes in two store paths, run \(UInt64.random(in: 0...UInt64.max))\\n"
        let paths = try storeFiles(same)
        XCTAssertEqual(paths.count, 2)
        if paths.count == 2 {
            XCTAssertNotEqual(try Posix.lstat(paths[0]).st_ino, try Posix.lstat(paths[1]).st_ino,
                              "the two files are one inode before nix-store --optimise, so the first builds do not see a plain store")
        }
        let extraFor = { (form: String) in
            """
            \(form) units = [ (builtins.toFile "vdemo.service" "[Service]\\nType=oneshot\\nExecStart=/bin/cat ${builtins.toFile "vdemo-a" "\(same)"} ${builtins.toFile "vdemo-b" "\(same)"}\\n") ];
            """
        }
        var drvs: [(String, String)] = []
        let erofs = "filesystem = \"erofs\";"
        for form in ["verity = true;", "format = \"ddi\";", erofs, erofs + " verity = true;", erofs + " format = \"ddi\";"] {
            let out = try build(extraFor(form), cores: 2, link: link)
            if form == erofs {
                try checkErofsHoldsTheUnit(out + "/vdemo_1.0.raw", unitText: same)
            } else {
                let v = try Shell.run(try MkportableBinary.path(), ["verify", out + "/vdemo_1.0.raw"])
                XCTAssertTrue(v.succeeded, v.summary)
            }
            let drv = try Shell.check("nix-store", ["--query", "--deriver", out]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertTrue(drv.hasSuffix(".drv"), drv)
            drvs.append((form, drv))
            // The two files are in the image's closure.
            let refs = try Shell.check("nix-store", ["--query", "--requisites", drv]).stdoutText
            XCTAssertTrue(refs.contains("-vdemo-a") && refs.contains("-vdemo-b"), refs)
        }
        let r = try Shell.run("nix-store", ["--optimise"] + NixTests.nixOptions)
        XCTAssertTrue(r.succeeded, r.summary)
        if paths.count == 2 {
            XCTAssertEqual(try Posix.lstat(paths[0]).st_ino, try Posix.lstat(paths[1]).st_ino, "nix-store --optimise did not hard-link the two files")
        }
        for (form, drv) in drvs {
            let c = try Shell.run("nix-build", [drv, "--check", "--no-out-link"] + NixTests.nixOptions)
            XCTAssertTrue(c.succeeded, "nix-build --check of \(form) after nix-store --optimise: \(c.summary)")
        }
    }

    /// The store paths of vdemo-a and vdemo-b holding `text`, added to the
    /// store (`--eval` alone only computes the paths).
    func storeFiles(_ text: String) throws -> [RawPath] {
        let files = try Shell.check("nix-instantiate", ["--read-write-mode", "--eval", "-E", "[ (builtins.toFile \"vdemo-a\" \"\(text)\") (builtins.toFile \"vdemo-b\" \"\(text)\") ]", "--strict"]).stdoutText
        return files.split(separator: " ").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
            .filter { $0.hasPrefix("/") }.map { RawPath($0) }
    }

    /// fsck.erofs 1.9.3 extracts the image, whose unit file names the two
    /// text files, which hold `unitText` (as Nix wrote it: "\\n" escaped).
    func checkErofsHoldsTheUnit(_ image: String, unitText: String) throws {
        guard let fsck = ReferenceTools.path("fsck.erofs") else { return print("note: fsck.erofs 1.9.3 missing; the erofs image is not read back") }
        let dir = try TemporaryDirectory(prefix: "nix-erofs-extract")
        defer { dir.remove() }
        let problem = try ErofsExtraction.extract(fsck, image: image, to: dir.sub("x").string)
        XCTAssertNil(problem, problem ?? "")
        let unit = try String(contentsOfFile: dir.sub("x").string + "/etc/systemd/system/vdemo.service", encoding: .utf8)
        let files = unit.split(separator: " ").dropFirst().map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        XCTAssertEqual(files.count, 2, unit)
        for f in files {
            XCTAssertEqual(try String(contentsOfFile: dir.sub("x").string + f, encoding: .utf8),
                           unitText.replacingOccurrences(of: "\\n", with: "\n"), f)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.sub("x").string + "/etc/os-release"))
    }

    func testBadValuesAreRefusedAtEvaluation() throws {
        try requireNix()
        for (extra, want) in [
            ("verity = \"yes\";", "portableService: verity: expected true or false, found a string; verity = true writes NAME.verity and NAME.roothash beside the image"),
            ("format = \"qcow2\";", "portableService: format: \"qcow2\" is not a known format; use \"raw\" (the file system image alone) or \"ddi\" (a GPT disk image with dm-verity)"),
            ("format = 1;", "portableService: format: expected a string or null, found a number"),
        ] {
            let e = try Shell.run("nix-instantiate", ["--eval", "-E", wrapDrvPath(extra)] + args())
            XCTAssertFalse(e.succeeded, "\(extra) must be refused")
            XCTAssertTrue(e.stderrText.contains(want), "\(extra): \(e.stderrText)")
        }
        // The defaults leave the derivation as it was: no new attributes.
        let plain = try Shell.check("nix-instantiate", ["--eval", "-E", wrapDrvPath(""), "--strict"] + args()).stdoutText
        let explicit = try Shell.check("nix-instantiate", ["--eval", "-E", wrapDrvPath("verity = false; format = \"raw\"; filesystem = \"squashfs\"; erofs-compression = null;"), "--strict"] + args()).stdoutText
        XCTAssertEqual(plain, explicit, "verity = false / format = \"raw\" / filesystem = \"squashfs\" changed the derivation")
    }

    func wrapDrvPath(_ extra: String) -> String {
        let e = expression(extra)
        return e.replacingOccurrences(of: "in ps {", with: "in (ps {") + ").drvPath"
    }
}
