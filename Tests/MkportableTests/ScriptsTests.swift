import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The scripts a user runs: each answers --help at once and changes
/// nothing; nix-setup's effect on a Nix configuration (checked on a copy,
/// NIX_CONF_FILE); build-example's list; debian-root's order of work; and
/// that the systemd-dissect checks skip with their reason where loop
/// devices are missing, or fail where skipping is forbidden.
final class ScriptsTests: XCTestCase {
    static let root = MkportableBinary.packageRoot.path

    var work: TemporaryDirectory!
    override func setUpWithError() throws { work = try TemporaryDirectory(prefix: "scripts") }
    override func tearDown() { work?.remove() }

    /// Every executable file directly in scripts/ and scripts/lib/.
    func scripts() throws -> [String] {
        var found: [String] = []
        for dir in ["scripts", "scripts/lib"] {
            let names = try FileManager.default.contentsOfDirectory(atPath: Self.root + "/" + dir).sorted()
            for name in names {
                let path = Self.root + "/" + dir + "/" + name
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
                      FileManager.default.isExecutableFile(atPath: path) else { continue }
                found.append(dir + "/" + name)
            }
        }
        return found
    }

    /// A folder of stand-ins for every tool that installs, builds, mounts
    /// or starts anything: each records its call in `log` and fails.
    func stubs(log: RawPath) throws -> RawPath {
        let bin = work.sub("stub-bin")
        try Posix.makeDirectories(bin)
        let tools = ["apt-get", "apt", "dpkg", "nix-build", "nix-instantiate", "nix-store", "nix", "nix-env",
                     "swift", "debootstrap", "systemd-nspawn", "unshare", "chroot", "mount", "umount",
                     "qemu-system-x86_64", "groupadd", "useradd", "usermod", "losetup", "mkfs.ext4"]
        for tool in tools {
            let p = bin.appending(RawPath(tool))
            try Posix.writeFile(p, Array("#!/bin/sh\necho \"\(tool) $*\" >>'\(log.string)'\nexit 97\n".utf8))
            XCTAssertEqual(chmod(p.string, 0o755), 0)
        }
        return bin
    }

    func testEveryScriptAnswersHelpAtOnceAndChangesNothing() throws {
        let log = work.sub("calls.log")
        let bin = try stubs(log: log)
        let conf = work.sub("etc-nix/nix.conf")
        let list = try scripts()
        XCTAssertTrue(list.contains("scripts/nix-setup") && list.contains("scripts/lib/debian-root"), "\(list)")
        for script in list {
            let r = try runLimited(Self.root + "/" + script, ["--help"], environment: [
                "PATH": bin.string + ":/usr/bin:/bin",
                "NIX_CONF_FILE": conf.string,
                "MKPORTABLE_ROOT_CACHE": work.sub("roots").string,
            ], timeout: 20)
            XCTAssertEqual(r.status, 0, "\(script) --help: \(r.summary)")
            XCTAssertGreaterThan(r.stdoutText.split(separator: "\n").count, 2, "\(script) --help prints no usage: \(r.stdoutText)")
            XCTAssertEqual(r.stderrText, "", "\(script) --help wrote to stderr")
            let calls = (try? Posix.readFile(log)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            XCTAssertEqual(calls, "", "\(script) --help ran tools: \(calls)")
            XCTAssertNil(try Posix.lstatIfExists(conf), "\(script) --help wrote \(conf)")
            XCTAssertNil(try Posix.lstatIfExists(work.sub("roots")), "\(script) --help made a root cache")
        }
    }

    /// A bad option: exit 2, one line naming it, nothing run (build-example
    /// used to install packages first).
    func testBadOptionsAreRefusedBeforeAnythingRuns() throws {
        let log = work.sub("calls.log")
        let bin = try stubs(log: log)
        for script in ["scripts/build-example", "scripts/nix-setup", "scripts/install-deps"] {
            let r = try runLimited(Self.root + "/" + script, ["--no-such-option"], environment: [
                "PATH": bin.string + ":/usr/bin:/bin", "NIX_CONF_FILE": work.sub("nix.conf").string,
            ], timeout: 20)
            XCTAssertEqual(r.status, 2, "\(script): \(r.summary)")
            let lines = r.stderrText.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, r.stderrText)
            XCTAssertTrue(r.stderrText.contains("--no-such-option") && r.stderrText.contains("--help"), r.stderrText)
            XCTAssertNil(try Posix.lstatIfExists(log), "\(script) ran tools before refusing its option")
        }
    }

    func nixSetup(_ args: [String], conf: RawPath) throws -> CommandResult {
        try runLimited(Self.root + "/scripts/nix-setup", args, environment: ["NIX_CONF_FILE": conf.string], timeout: 30)
    }

    /// On a copy of a user's nix.conf: only the sandbox settings change;
    /// substituters and sandbox paths stay; the lines an earlier version
    /// disabled come back; a second run changes nothing; --remove restores.
    func testNixSetupTouchesOnlyTheSandboxOfACopy() throws {
        guard Shell.which("nix-build") != nil else { throw XCTSkip("nix-build not found (scripts/install-deps installs nix-bin)") }
        let conf = work.sub("nix.conf")
        let user = """
            substituters = https://cache.example.org
            extra-sandbox-paths = /srv/keys
            sandbox = false
            # (disabled by mkportable scripts/nix-setup) trusted-public-keys = k:1

            # BEGIN mkportable (scripts/nix-setup)
            sandbox = true
            extra-sandbox-paths = /opt/swift /usr /lib /lib64
            substituters =
            # END mkportable

            """
        try Posix.writeFile(conf, Array(user.utf8))
        let first = try nixSetup([], conf: conf)
        XCTAssertEqual(first.status, 0, first.summary)
        let written = String(decoding: try Posix.readFile(conf), as: UTF8.self)
        XCTAssertEqual(written, """
            substituters = https://cache.example.org
            extra-sandbox-paths = /srv/keys
            # (disabled by mkportable scripts/nix-setup) sandbox = false
            trusted-public-keys = k:1

            # BEGIN mkportable (scripts/nix-setup)
            sandbox = true
            sandbox-fallback = false
            # END mkportable

            """)
        // What Nix itself makes of it: the user's cache and paths, our sandbox.
        if Shell.which("nix") != nil {
            let shown = try Shell.run("nix", ["--extra-experimental-features", "nix-command", "show-config"],
                                      environment: ["NIX_CONF_DIR": work.path.string])
            XCTAssertTrue(shown.succeeded, shown.summary)
            let lines = Set(shown.stdoutText.split(separator: "\n").map(String.init))
            for want in ["sandbox = true", "sandbox-fallback = false", "substituters = https://cache.example.org",
                         "trusted-public-keys = k:1"] {
                XCTAssertTrue(lines.contains(want), "nix show-config lacks \(want): \(shown.stdoutText)")
            }
            // extra-sandbox-paths adds to sandbox-paths: the user's, no more.
            let paths = try XCTUnwrap(lines.first { $0.hasPrefix("sandbox-paths = ") }, shown.stdoutText)
            XCTAssertTrue(paths.split(separator: " ").contains("/srv/keys"), paths)
            XCTAssertFalse(paths.contains("/usr") || paths.contains("/opt/swift"), paths)
        }

        let second = try nixSetup([], conf: conf)
        XCTAssertEqual(second.status, 0, second.summary)
        XCTAssertTrue(second.stdoutText.contains("already up to date"), second.stdoutText)
        XCTAssertEqual(String(decoding: try Posix.readFile(conf), as: UTF8.self), written)

        let removed = try nixSetup(["--remove"], conf: conf)
        XCTAssertEqual(removed.status, 0, removed.summary)
        XCTAssertEqual(String(decoding: try Posix.readFile(conf), as: UTF8.self), """
            substituters = https://cache.example.org
            extra-sandbox-paths = /srv/keys
            sandbox = false
            trusted-public-keys = k:1

            """)

        let print = try nixSetup(["--print"], conf: work.sub("never.conf"))
        XCTAssertEqual(print.stdoutText, "# BEGIN mkportable (scripts/nix-setup)\nsandbox = true\nsandbox-fallback = false\n# END mkportable\n")
        XCTAssertNil(try Posix.lstatIfExists(work.sub("never.conf")))
    }

    /// The tests' own configuration: a private NIX_CONF_DIR that every
    /// command they start sees, with the settings their builds need.
    func testTestsBringTheirOwnNixConfiguration() throws {
        let dir = try XCTUnwrap(NixConfig.directory)
        let r = try Shell.run("/bin/sh", ["-c", "echo \"$NIX_CONF_DIR\"; cat \"$NIX_CONF_DIR/nix.conf\""])
        XCTAssertEqual(r.stdoutText, dir + "\n" + NixConfig.text)
        XCTAssertTrue(NixConfig.text.contains("sandbox = true\n") && NixConfig.text.contains("substituters =\n"))
        guard Shell.which("nix") != nil else { return }
        let shown = try Shell.run("nix", ["--extra-experimental-features", "nix-command", "show-config"])
        XCTAssertTrue(shown.succeeded, shown.summary)
        let lines = Set(shown.stdoutText.split(separator: "\n").map(String.init))
        XCTAssertTrue(lines.contains("sandbox = true") && lines.contains("sandbox-fallback = false") && lines.contains("substituters = "),
                      shown.stdoutText)
    }

    /// --list names each example with the image it makes (the names differ:
    /// symlinks makes links_2.0.raw).
    func testBuildExampleListsExamplesWithTheirImages() throws {
        guard Shell.which("nix-instantiate") != nil else { throw XCTSkip("nix-instantiate not found") }
        let r = try runLimited(Self.root + "/scripts/build-example", ["--list"], timeout: 120)
        XCTAssertEqual(r.status, 0, r.summary)
        XCTAssertEqual(r.stdoutText, "hello hello_1.0.raw\nmulti-unit demo_3.1.raw\nsymlinks links_2.0.raw\n")
        let help = try runLimited(Self.root + "/scripts/build-example", ["--help"], timeout: 20)
        for name in ["hello", "multi-unit", "symlinks"] { XCTAssertTrue(help.stdoutText.contains(name), help.stdoutText) }
        XCTAssertFalse(help.stdoutText.contains("hello links"), "help names an example that does not exist: \(help.stdoutText)")
    }

    /// debian-root debootstraps the base system alone and installs the
    /// extra packages with apt in it afterwards (debootstrap's --include
    /// fails on trixie's nix-bin). Stand-ins record the sequence.
    func testDebianRootInstallsExtraPackagesAfterTheBaseSystem() throws {
        guard Posix.isRoot else { throw XCTSkip("debian-root needs root") }
        let log = work.sub("calls.log")
        let bin = work.sub("bin")
        try Posix.makeDirectories(bin)
        let stubs: [String: String] = [
            // unshare OPTIONS... CMD: run CMD.
            "unshare": "while [ \"${1#-}\" != \"$1\" ] || [ \"$1\" = private ]; do shift; done; exec \"$@\"",
            // debootstrap OPTIONS SUITE TARGET MIRROR: a root with usr/sbin.
            "debootstrap": "for a; do t=$p; p=$a; done; target=$t; mkdir -p \"$target/usr/sbin\"",
            "mount": ":",
            "chroot": ":",
        ]
        for (tool, body) in stubs {
            let p = bin.appending(RawPath(tool))
            try Posix.writeFile(p, Array("#!/bin/sh\necho \"\(tool) $*\" >>'\(log.string)'\n\(body)\n".utf8))
            XCTAssertEqual(chmod(p.string, 0o755), 0)
        }
        let r = try runLimited(Self.root + "/scripts/lib/debian-root", ["trixie", "--include", "nix-bin,systemd"], environment: [
            "PATH": bin.string + ":/usr/bin:/bin:/usr/sbin:/sbin", "MKPORTABLE_ROOT_CACHE": work.sub("roots").string,
        ], timeout: 60)
        XCTAssertEqual(r.status, 0, r.summary)
        let calls = String(decoding: try Posix.readFile(log), as: UTF8.self).split(separator: "\n").map(String.init)
        let debootstrap = try XCTUnwrap(calls.first { $0.hasPrefix("debootstrap ") }, "\(calls)")
        XCTAssertFalse(debootstrap.contains("--include"), debootstrap)
        let install = try XCTUnwrap(calls.firstIndex { $0.hasPrefix("chroot ") && $0.contains("apt-get install") && $0.hasSuffix("nix-bin systemd") },
                                    "no apt-get install in the new root: \(calls)")
        XCTAssertGreaterThan(install, try XCTUnwrap(calls.firstIndex(of: debootstrap)))
        let made = r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(made.hasPrefix(work.sub("roots").string + "/trixie-minbase-"), made)
        XCTAssertNotNil(try Posix.lstatIfExists(RawPath(made + "/.mkportable-root")))
        XCTAssertNil(try Posix.lstatIfExists(RawPath(made + "/usr/sbin/policy-rc.d")), "policy-rc.d left in the root")
    }

    /// Without loop devices the systemd-dissect checks skip with the reason
    /// (MKPORTABLE_TEST_NO_MOUNT stands in for a container without them),
    /// and fail when MKPORTABLE_REQUIRE_CONTAINERS=1 forbids skipping.
    func testDissectChecksSkipWithoutLoopDevicesUnlessRequired() throws {
        guard ProcessInfo.processInfo.environment["MKPORTABLE_SCRIPTS_TESTS_INNER"] == nil else { return }
        let xctest = CommandLine.arguments[0]
        for test in ["MkportableTests.DDITests/testDDIIsReadByEveryTool", "MkportableTests.SignTests/testSignDDI"] {
            let skipped = try runLimited(xctest, [test], environment: [
                "MKPORTABLE_TEST_NO_MOUNT": "1", "MKPORTABLE_REQUIRE_CONTAINERS": nil, "MKPORTABLE_SCRIPTS_TESTS_INNER": "1",
            ], timeout: 300)
            let out = skipped.stdoutText + skipped.stderrText
            XCTAssertEqual(skipped.status, 0, "\(test): \(skipped.summary)")
            XCTAssertTrue(out.contains("skipped") && out.contains("MKPORTABLE_TEST_NO_MOUNT is set"), "\(test) did not skip with the reason:\n\(out.suffix(3000))")
            XCTAssertTrue(out.contains("with 1 test skipped and 0 failures"), String(out.suffix(2000)))

            let required = try runLimited(xctest, [test], environment: [
                "MKPORTABLE_TEST_NO_MOUNT": "1", "MKPORTABLE_REQUIRE_CONTAINERS": "1", "MKPORTABLE_SCRIPTS_TESTS_INNER": "1",
            ], timeout: 300)
            let why = required.stdoutText + required.stderrText
            XCTAssertNotEqual(required.status, 0, "\(test) passed where skipping is forbidden")
            XCTAssertTrue(why.contains("MKPORTABLE_REQUIRE_CONTAINERS=1: ") && why.contains("MKPORTABLE_TEST_NO_MOUNT is set"), String(why.suffix(3000)))
        }
    }
}
