import Foundation
import XCTest

/// Real Nix builds of the examples in examples/, with the sandbox on, and
/// checks of the images they produce:
///
/// - the image is `$out/${pname}_${version}.raw` and nothing else;
/// - its /nix/store holds exactly the closure (`nix-store -qR` of the units,
///   the contents and the symlink objects' store paths);
/// - every independent reader (unsquashfs listing and extraction, the
///   kernel, sqfs2tar, 7-Zip) sees the expected tree: the scaffold, the
///   os-release text, the units, the symlinks and the closure as it is on
///   disk, all owned by 0:0 with mtime 0;
/// - systemd-dissect reports the image as usable as a portable service;
/// - loop-mounted, each unit's ExecStart runs inside the image (chroot) and
///   prints what it should;
/// - `nix-build --check` rebuilds each image bit for bit, also after
///   `nix-store --optimise` has hard-linked identical store files;
/// - the Nix function rejects a bad unit name at evaluation time and warns
///   about the ignored squashfsTools argument (a warning NIX_ABORT_ON_WARN
///   turns into an error, as nixpkgs' lib.warn does).
///
/// Needs nix-build (skipped, with the reason printed, without it) and the
/// host Swift toolchain the examples' mkportable is compiled with. The
/// sandbox settings are passed on every command line, so the tests do not
/// depend on /etc/nix/nix.conf (scripts/nix-setup writes the same there).
final class NixTests: XCTestCase {
    struct Example {
        var attr: String
        var pname: String
        var version: String
        var osRelease: String
        /// Unit name → what its ExecStart prints (nil: not run, e.g. sockets).
        var units: [String: String?]
        var symlinks: [String]
        var compressor: String
        var blockSize: Int
    }

    static let examples: [Example] = [
        Example(
            attr: "hello", pname: "hello", version: "1.0",
            osRelease: """
            BUILD_ID=rolling
            HOME_URL="https://example.org/hello"
            ID=nixos
            IMAGE_ID=hello
            IMAGE_VERSION="1.0"
            PORTABLE_ID=hello
            PORTABLE_PREFIXES=hello
            PORTABLE_PRETTY_NAME="Hello, a minimal portable service"
            PRETTY_NAME=NixOS

            """,
            units: ["hello.service": "hello from a portable service\n"],
            symlinks: [], compressor: "xz", blockSize: 1 << 20),
        Example(
            attr: "symlinks", pname: "links", version: "2.0",
            osRelease: """
            BUILD_ID=rolling
            ID=nixos
            IMAGE_ID=links
            IMAGE_VERSION="2.0"
            PORTABLE_ID=links
            PORTABLE_PREFIXES=links
            PORTABLE_PRETTY_NAME="Links: /bin/sh and /etc/ssl from the store"
            PRETTY_NAME=NixOS

            """,
            units: ["links.service": "-----BEGIN CERTIFICATE-----\nbWtwb3J0YWJsZSBleGFtcGxl\n-----END CERTIFICATE-----\nlinks ok\n"],
            symlinks: ["/bin/sh", "/etc/ssl", "/var/run"], compressor: "xz", blockSize: 1 << 20),
        Example(
            attr: "multi-unit", pname: "demo", version: "3.1",
            osRelease: """
            BUILD_ID=rolling
            HOME_URL="https://example.org/demo"
            ID=nixos
            IMAGE_ID=demo
            IMAGE_VERSION="3.1"
            PORTABLE_ID=demo
            PORTABLE_PREFIXES=demo
            PORTABLE_PRETTY_NAME="Demo: socket, service, timer"
            PRETTY_NAME=NixOS

            """,
            units: [
                "demo.socket": nil,
                "demo@.service": "demo reply to \n",
                "demo-cleanup.timer": nil,
                "demo-cleanup.service": "demo cleanup done\n",
            ],
            symlinks: [], compressor: "zstd", blockSize: 128 << 10),
    ]

    // MARK: Nix plumbing

    static let root = MkportableBinary.packageRoot.path

    /// The Swift toolchain the host-mode mkportable is compiled with:
    /// MKPORTABLE_SWIFT_TOOLCHAIN, else /opt/swift, else the one on PATH.
    static let toolchain: String = {
        let env = ProcessInfo.processInfo.environment
        if let t = env["MKPORTABLE_SWIFT_TOOLCHAIN"], !t.isEmpty { return t }
        if FileManager.default.isExecutableFile(atPath: "/opt/swift/usr/bin/swift") { return "/opt/swift" }
        if let swift = Shell.which("swift") {
            let real = URL(fileURLWithPath: swift).resolvingSymlinksInPath().path
            if real.hasSuffix("/usr/bin/swift") { return String(real.dropLast("/usr/bin/swift".count)) }
        }
        return "/opt/swift"
    }()

    static var nixOptions: [String] {
        [
            "--option", "sandbox", "true",
            "--option", "sandbox-fallback", "false",
            "--option", "extra-sandbox-paths", "\(toolchain) /usr /lib /lib64",
            "--option", "substituters", "",
        ]
    }

    static let lock = NSLock()
    nonisolated(unsafe) static var gcRoots: TemporaryDirectory?
    nonisolated(unsafe) static var built: [String: String] = [:]
    nonisolated(unsafe) static var evaluated: [String: Evaluated] = [:]

    override class func tearDown() {
        lock.lock()
        gcRoots?.remove()
        gcRoots = nil
        lock.unlock()
        super.tearDown()
    }

    func requireNix() throws {
        for tool in ["nix-build", "nix-instantiate", "nix-store"] where Shell.which(tool) == nil {
            print("note: NixTests skipped: \(tool) not found (install nix-bin)")
            throw XCTSkip("\(tool) not found")
        }
    }

    /// Builds examples.NAME once per process; returns its output path. The
    /// out-link (a GC root) lives until the class is torn down.
    func build(_ attr: String) throws -> String {
        try requireNix()
        Self.lock.lock()
        defer { Self.lock.unlock() }
        if let out = Self.built[attr] { return out }
        if Self.gcRoots == nil { Self.gcRoots = try TemporaryDirectory(prefix: "nix-gcroots") }
        let link = Self.gcRoots!.sub(RawPath("result-\(attr)")).string
        let r = try Shell.run("nix-build", [Self.root + "/default.nix", "-A", "examples.\(attr)", "--out-link", link,
                                            "--argstr", "swiftToolchain", Self.toolchain] + Self.nixOptions)
        guard r.succeeded else {
            throw CommandFailed(result: r)
        }
        let out = r.stdoutText.split(separator: "\n").last.map(String.init) ?? ""
        XCTAssertTrue(out.hasPrefix("/nix/store/"), "nix-build printed no store path: \(r.summary)")
        Self.built[attr] = out
        return out
    }

    /// What the example's derivation was given (strings as Nix renders them).
    struct Evaluated {
        var units: [String]
        var contents: [String]
        var symlinks: [(object: String, symlink: String)]
    }

    func evaluate(_ attr: String) throws -> Evaluated {
        Self.lock.lock()
        defer { Self.lock.unlock() }
        if let e = Self.evaluated[attr] { return e }
        let expr = """
        { root, swiftToolchain }:
        let e = (import (root + "/default.nix") { inherit swiftToolchain; }).examples.\(quotedAttr(attr));
        in { inherit (e) units contents; symlinks = e.symlinks; }
        """
        let r = try Shell.check("nix-instantiate", ["--eval", "--strict", "--json", "-E", expr,
                                                    "--argstr", "root", Self.root, "--argstr", "swiftToolchain", Self.toolchain])
        let json = try JSONSerialization.jsonObject(with: r.stdout) as? [String: Any] ?? [:]
        let units = json["units"] as? [String] ?? []
        let contents = json["contents"] as? [String] ?? []
        let links = (json["symlinks"] as? [[String: String]] ?? []).map { (object: $0["object"] ?? "", symlink: $0["symlink"] ?? "") }
        let e = Evaluated(units: units, contents: contents, symlinks: links)
        Self.evaluated[attr] = e
        return e
    }

    func quotedAttr(_ a: String) -> String { "\"\(a)\"" }

    /// `/nix/store/h-n/x/y` → `/nix/store/h-n`.
    static func storeRoot(_ path: String) -> String? {
        guard path.hasPrefix("/nix/store/") else { return nil }
        let name = path.dropFirst("/nix/store/".count).prefix { $0 != "/" }
        return name.isEmpty ? nil : "/nix/store/" + name
    }

    /// The closure the image must hold, computed with Nix's own tools from
    /// what the derivation was given.
    func closure(_ e: Evaluated) throws -> [String] {
        var roots = Set<String>()
        for p in e.units + e.contents + e.symlinks.map(\.object) {
            if let r = Self.storeRoot(p) { roots.insert(r) }
        }
        let r = try Shell.check("nix-store", ["-qR"] + roots.sorted())
        return r.stdoutText.split(separator: "\n").map(String.init).sorted()
    }

    func image(of example: Example) throws -> String {
        let out = try build(example.attr)
        return out + "/\(example.pname)_\(example.version).raw"
    }

    // MARK: The expected tree

    /// The unit's name in the image, as nixpkgs defines it: the store path's
    /// name without the hash, or the file name of a path inside a store path.
    static func unitName(_ path: String) -> String {
        if let root = storeRoot(path), root == path {
            return String(path.dropFirst("/nix/store/".count + 33))
        }
        return URL(fileURLWithPath: path).lastPathComponent
    }

    /// Builds the expected manifest: a scaffold made on disk (mount points,
    /// os-release, empty resolv.conf/machine-id, units, symlinks) plus every
    /// closure path scanned where it is in the store, under nix/store/.
    func expectedManifest(_ example: Example, _ e: Evaluated, closure: [String], scratch: TemporaryDirectory) throws -> Manifest {
        let t = try TreeBuilder(root: scratch.sub("expected"))
        for d in ["etc/systemd/system", "proc", "sys", "dev", "run", "tmp", "var/tmp", "var/lib", "var/cache", "var/log", "nix/store"] {
            try t.dir(RawPath(d), mode: 0o755)
        }
        try t.file("etc/os-release", example.osRelease, mode: 0o444)
        try t.file("etc/resolv.conf", "", mode: 0o644)
        try t.file("etc/machine-id", "", mode: 0o644)
        for u in e.units {
            let st = try Posix.lstat(RawPath(u))
            XCTAssertEqual(st.st_mode & S_IFMT, S_IFREG, "unit \(u) is not a regular file")
            try t.file(RawPath("etc/systemd/system/" + Self.unitName(u)), try Posix.readFile(RawPath(u)), mode: st.st_mode & 0o7777)
        }
        for s in e.symlinks {
            try t.symlink(RawPath(String(s.symlink.drop { $0 == "/" })), to: s.object)
        }
        var m = try Manifest.scan(directory: t.root)
        for path in closure {
            let name = String(path.dropFirst("/nix/store/".count))
            let sub = try Manifest.scan(directory: RawPath(path))
            let base = RawPath("nix/store/" + name)
            for (rel, entry) in sub.entries { m.entries[base.appending(rel)] = entry }
        }
        return m.normalized(as: ImageAttributes(uid: 0, gid: 0, mtime: 0, rootMode: 0o755, hardLinksAsSeparateInodes: true))
    }

    // MARK: Tests

    func testExamplesBuildSandboxedIntoTheExpectedImages() throws {
        try requireNix()
        for example in Self.examples {
            let out = try build(example.attr)
            let names = try FileManager.default.contentsOfDirectory(atPath: out)
            XCTAssertEqual(names, ["\(example.pname)_\(example.version).raw"], "\(example.attr): $out must hold just the image")
            let image = try self.image(of: example)

            let e = try evaluate(example.attr)
            XCTAssertEqual(Set(e.units.map(Self.unitName)), Set(example.units.keys), "\(example.attr): unit names")
            XCTAssertEqual(e.symlinks.map(\.symlink), example.symlinks, "\(example.attr): symlinks")
            let closure = try closure(e)

            // /nix/store in the image is exactly the closure.
            let listing = try Shell.check("unsquashfs", ["-ls", image]).stdoutText
            let inStore = listing.split(separator: "\n").compactMap { line -> String? in
                let parts = line.split(separator: "/", omittingEmptySubsequences: false)
                guard parts.count == 4, parts[0] == "squashfs-root", parts[1] == "nix", parts[2] == "store" else { return nil }
                return "/nix/store/" + parts[3]
            }
            XCTAssertEqual(inStore.sorted(), closure, "\(example.attr): the image's /nix/store is not the closure")

            // The superblock carries the example's compression settings.
            let sb = try Shell.check("unsquashfs", ["-s", image]).stdoutText
            XCTAssertTrue(sb.contains("Compression \(example.compressor)"), "\(example.attr): \(sb)")
            XCTAssertTrue(sb.contains("Block size \(example.blockSize)"), "\(example.attr): \(sb)")

            // Every reader sees the expected tree.
            let scratch = try TemporaryDirectory(prefix: "nix-\(example.attr)")
            defer { scratch.remove() }
            let expected = try expectedManifest(example, e, closure: closure, scratch: scratch)
            let readScratch = scratch.sub("read")
            try Posix.mkdir(readScratch)
            let report = ImageCheck.verify(image: RawPath(image), expected: expected, readers: ImageReader.allCases,
                                           options: ReadOptions(expectSeparateInodes: true), scratch: readScratch,
                                           label: "examples.\(example.attr)")
            XCTAssertTrue(report.readersRun.contains(.unsquashfsPseudo), "\(example.attr): unsquashfs did not run: \(report.unavailable)")
            XCTAssertGreaterThanOrEqual(report.readersRun.count, 3, "\(example.attr): too few readers ran: \(report.unavailable)")
            for (reader, reason) in report.unavailable {
                print("note: examples.\(example.attr): \(reader.rawValue) skipped: \(reason)")
            }
        }
    }

    func testSystemdDissectSeesAPortableService() throws {
        try requireNix()
        guard Shell.which("systemd-dissect") != nil else {
            print("note: systemd-dissect check skipped: systemd-dissect not found (install systemd-container)")
            throw XCTSkip("systemd-dissect not found")
        }
        if let reason = KernelMount.unavailableReason {
            print("note: systemd-dissect check skipped: it needs loop devices: \(reason)")
            throw XCTSkip(reason)
        }
        for example in Self.examples {
            let image = try self.image(of: example)
            let r = try Shell.run("systemd-dissect", [image], environment: ["LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "SYSTEMD_COLORS": "0"])
            XCTAssertTrue(r.succeeded, r.summary)
            let lines = r.stdoutText.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            // systemd 252 prints "Use As: ✓ portable service" when os-release
            // has PORTABLE_PREFIXES, "✗" otherwise.
            XCTAssertTrue(lines.contains { $0.hasSuffix("✓ portable service") && !$0.contains("extension") },
                          "\(example.attr): systemd-dissect does not see a portable service:\n\(r.stdoutText)")
            XCTAssertFalse(lines.contains { $0.hasSuffix("✗ portable service") && !$0.contains("extension") }, r.stdoutText)
            XCTAssertTrue(r.stdoutText.contains("PORTABLE_PREFIXES=\(example.pname)"), r.stdoutText)
        }
    }

    func testUnitsRunInsideTheMountedImage() throws {
        try requireNix()
        if let reason = KernelMount.unavailableReason {
            print("note: running units in the image skipped: \(reason)")
            throw XCTSkip(reason)
        }
        guard Shell.which("chroot") != nil else { throw XCTSkip("chroot not found") }
        var ran = 0
        for example in Self.examples {
            let image = try self.image(of: example)
            let scratch = try TemporaryDirectory(prefix: "nix-run-\(example.attr)")
            defer { scratch.remove() }
            try KernelMount.withMounted(image: RawPath(image), scratch: scratch.path) { mnt in
                for (unit, expectedOutput) in example.units.sorted(by: { $0.key < $1.key }) {
                    guard let expectedOutput else { continue }
                    let text = try String(contentsOfFile: mnt.string + "/etc/systemd/system/" + unit, encoding: .utf8)
                    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("ExecStart=") }) else {
                        XCTFail("\(unit): no ExecStart")
                        continue
                    }
                    let argv = try Self.splitCommandLine(String(line.dropFirst("ExecStart=".count)))
                    XCTAssertTrue(argv.first?.hasPrefix("/") ?? false, "\(unit): ExecStart must be absolute: \(argv)")
                    let r = try Shell.run("chroot", [mnt.string] + argv, environment: ["REMOTE_ADDR": nil])
                    XCTAssertTrue(r.succeeded, "\(example.attr) \(unit): \(r.summary)")
                    XCTAssertEqual(r.stdoutText, expectedOutput, "\(example.attr) \(unit): \(r.summary)")
                    ran += 1
                }
            }
        }
        XCTAssertEqual(ran, 4, "every unit with an expected output must have run")
    }

    func testCheckRebuildsBitForBitAlsoAfterOptimise() throws {
        try requireNix()
        var drvs: [String] = []
        for example in Self.examples {
            let out = try build(example.attr)
            let deriver = try Shell.check("nix-store", ["--query", "--deriver", out]).stdoutText
                .trimmingCharacters(in: .whitespacesAndNewlines)
            XCTAssertTrue(deriver.hasSuffix(".drv"), deriver)
            drvs.append(deriver)
        }
        func check(_ when: String) throws {
            for drv in drvs {
                let r = try Shell.run("nix-build", [drv, "--check", "--no-out-link"] + Self.nixOptions)
                XCTAssertTrue(r.succeeded, "nix-build --check \(when) failed: \(r.summary)")
            }
        }
        try check("before optimise")

        // The multi-unit example ships the same LICENSE in two store paths;
        // after optimise they must be one inode, or this test proves nothing
        // about hard links.
        let closure = try closure(try evaluate("multi-unit"))
        guard let tools = closure.first(where: { $0.hasSuffix("-demo-tools") }),
              let docs = closure.first(where: { $0.hasSuffix("-demo-docs") }) else {
            return XCTFail("demo-tools/demo-docs not in the closure: \(closure)")
        }
        let a = RawPath(tools + "/share/doc/demo-tools/LICENSE"), b = RawPath(docs + "/share/doc/demo/LICENSE")
        XCTAssertEqual(try Posix.readFile(a), try Posix.readFile(b), "the two LICENSE files must be identical")

        let r = try Shell.run("nix-store", ["--optimise"] + Self.nixOptions)
        XCTAssertTrue(r.succeeded, r.summary)
        let sa = try Posix.lstat(a), sb = try Posix.lstat(b)
        XCTAssertEqual(sa.st_ino, sb.st_ino, "nix-store --optimise did not hard-link the identical LICENSE files")
        XCTAssertGreaterThanOrEqual(sa.st_nlink, 2)

        try check("after nix-store --optimise")
    }

    func testEvaluationRejectsUnitsPortablectlWouldIgnore() throws {
        try requireNix()
        let expr = """
        { root, swiftToolchain }:
        let ps = (import (root + "/default.nix") { inherit swiftToolchain; }).portableService;
        in (ps { pname = "foo"; version = "1"; units = [ (builtins.toFile "bar.service" "") ]; }).drvPath
        """
        let r = try Shell.run("nix-instantiate", ["--eval", "-E", expr, "--argstr", "root", Self.root, "--argstr", "swiftToolchain", Self.toolchain])
        XCTAssertFalse(r.succeeded, "a unit named bar.service in image foo must be refused: \(r.summary)")
        XCTAssertTrue(r.stderrText.contains("portableService: unit \"bar.service\""), r.stderrText)
        XCTAssertTrue(r.stderrText.contains("image prefix \"foo\" followed by '-', '.' or '@'"), r.stderrText)
    }

    /// `squashfsTools` (never nixpkgs' name) warns; nixpkgs' own
    /// `squashfs-tools` is taken quietly, so abort-on-warn passes.
    func testSquashfsToolsArgumentIsIgnoredWithAWarning() throws {
        try requireNix()
        for arg in ["squashfsTools", "squashfs-tools"] {
            let quiet = arg == "squashfs-tools"
            let expr = """
            { root, swiftToolchain }:
            let ps = (import (root + "/default.nix") { inherit swiftToolchain; }).portableService;
            in (ps { pname = "foo"; version = "1"; units = [ (builtins.toFile "foo.service" "") ]; \(arg) = "mksquashfs"; }).drvPath
            """
            let args = ["--eval", "-E", expr, "--argstr", "root", Self.root, "--argstr", "swiftToolchain", Self.toolchain]
            let r = try Shell.run("nix-instantiate", args, environment: ["NIX_ABORT_ON_WARN": nil])
            XCTAssertTrue(r.succeeded, r.summary)
            XCTAssertEqual(r.stderrText.contains("evaluation warning: portableService: \(arg) is ignored"), !quiet, r.stderrText)
            XCTAssertTrue(r.stdoutText.contains("foo-img-1.drv"), r.stdoutText)
            if quiet {
                let passes = try Shell.run("nix-instantiate", args, environment: ["NIX_ABORT_ON_WARN": "1"])
                XCTAssertTrue(passes.succeeded, "squashfs-tools must evaluate under NIX_ABORT_ON_WARN=1: \(passes.summary)")
                continue
            }
            // A warning as nixpkgs' lib.warn gives it: NIX_ABORT_ON_WARN
            // stops evaluation (Nix 2.8 has no builtins.warn; where Nix has
            // it, abort-on-warn does the same).
            let aborted = try Shell.run("nix-instantiate", args, environment: ["NIX_ABORT_ON_WARN": "1"])
            XCTAssertFalse(aborted.succeeded, "NIX_ABORT_ON_WARN=1 must stop at the warning: \(aborted.summary)")
            XCTAssertTrue(aborted.stderrText.contains("warnings are treated as unrecoverable errors"), aborted.stderrText)
        }
    }

    /// flake.nix's outputs evaluated with the nixpkgs stand-in
    /// (nix/flake-stand-in.nix, without flakes; NixpkgsShapeTests runs
    /// `nix flake check` itself) and every check is built: the example
    /// images, their passthru.tests.rebuild (each image built a second time
    /// as a separate derivation, the bytes compared), an image through the
    /// overlay, and mkportable.
    func testFlakeOutputsWithAStandInNixpkgs() throws {
        try requireNix()
        let file = Self.root + "/nix/flake-stand-in.nix"
        let names = try Shell.check("nix-instantiate", ["--eval", "--strict", "--json", "-E",
                                                        "builtins.attrNames (import \(file) { swiftToolchain = \"\(Self.toolchain)\"; }).checks"]).stdoutText
        for name in ["example-hello", "example-multi-unit", "example-symlinks", "rebuild-hello", "rebuild-multi-unit", "rebuild-symlinks", "overlay-hello", "mkportable"] {
            XCTAssertTrue(names.contains("\"\(name)\""), "flake checks lack \(name): \(names)")
        }
        let r = try Shell.run("nix-build", [file, "-A", "checks", "-A", "overlay", "-A", "lib", "-A", "cross", "--no-out-link",
                                            "--argstr", "swiftToolchain", Self.toolchain] + Self.nixOptions)
        XCTAssertTrue(r.succeeded, r.summary)
        let outs = r.stdoutText.split(separator: "\n")
        XCTAssertTrue(outs.contains { $0.hasSuffix("-overlay-img-1") }, r.stdoutText)
        XCTAssertTrue(outs.contains { $0.hasSuffix("-cross-img-1") }, r.stdoutText)
        XCTAssertTrue(outs.contains { $0.hasSuffix("-demo-img-3.1-rebuild") }, r.stdoutText)
    }

    // MARK: Helpers

    struct BadCommandLine: Error { var line: String }

    /// Splits an ExecStart value into words: whitespace separates, single
    /// quotes are literal, double quotes allow \" and \\ escapes (the subset
    /// of systemd's syntax the examples use).
    static func splitCommandLine(_ s: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character? = nil
        var chars = s.makeIterator()
        while let c = chars.next() {
            if let q = quote {
                if c == q { quote = nil; continue }
                if q == "\"" && c == "\\", let n = chars.next() { current.append(n); continue }
                current.append(c)
                continue
            }
            switch c {
            case " ", "\t":
                if inWord { words.append(current); current = ""; inWord = false }
            case "'", "\"":
                quote = c
                inWord = true
            default:
                current.append(c)
                inWord = true
            }
        }
        if quote != nil { throw BadCommandLine(line: s) }
        if inWord { words.append(current) }
        return words
    }

    func testCommandLineSplitter() throws {
        XCTAssertEqual(try Self.splitCommandLine("/bin/sh -c 'a b; c' x"), ["/bin/sh", "-c", "a b; c", "x"])
        XCTAssertEqual(try Self.splitCommandLine(#"/x "a \"b\"" ''"#), ["/x", "a \"b\"", ""])
        XCTAssertThrowsError(try Self.splitCommandLine("/x 'open"))
    }
}
