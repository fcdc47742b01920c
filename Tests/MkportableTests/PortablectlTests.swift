import Foundation
import PortableService
import XCTest

/// The real client of the images: systemd's own portablectl, on Debian 12
/// (systemd 252) and Debian 13 (systemd 257), each booted in
/// systemd-nspawn (scripts/portablectl-test → scripts/lib/systemd-check).
///
/// Every example image (built with nix-build, sandbox on), the multi-unit
/// example again as erofs (`filesystem = "erofs"`, the default
/// erofs-compression, version 3.1-erofs) and an image of the suite's own
/// (made with `mkportable pack`: a oneshot service, a TCP socket with its
/// template service, a path unit with its service) goes through, on each
/// version:
/// - `portablectl inspect` names the image's description and units;
/// - three cycles: `attach` (default profile), `attach --profile=strict`,
///   `attach --runtime --now`; each attaches exactly the image's units with
///   the profile's drop-ins, starts every non-template unit (sockets,
///   timers, paths, then services; `--now` does it in the last cycle), sends
///   one connection to each socket and checks the reply (socket activation
///   of the template service), checks ActiveState/Result and what each
///   service printed to the journal, then detaches and checks that no unit,
///   unit file, drop-in, wants link, portables link, mount or loop device of
///   the image is left;
/// - on 257 the units' journal carries PORTABLE_NAME_AND_VERSION=pname_version
///   (from the os-release's IMAGE_ID/IMAGE_VERSION); 252 logs only
///   PORTABLE=<image file name>.
///
/// The guests run once per test process (both versions, about 1-2 min; the
/// first run on a machine adds 2 × 1-3 min of debootstrap, cached under
/// /var/cache/mkportable/roots). Skipped, with the reason printed, only
/// where the machine cannot: not root, no systemd-nspawn, debootstrap,
/// unshare or nix-build.
final class PortablectlTests: XCTestCase {
    static let root = MkportableBinary.packageRoot.path
    static let versions = ["252", "257"]
    static let cycles = ["default", "strict", "runtime-now"]

    /// What one image must do under portablectl.
    struct Expectation {
        var stem: String
        var description: String
        var units: [String]
        /// Service → what it prints (journal lines, exactly).
        var journals: [String: String]
        /// Socket → the reply to one connection.
        var replies: [String: String]
        /// Units that stay active once started (sockets, timers, paths,
        /// RemainAfterExit services), with their SubState.
        var active: [String: String]
    }

    static let examples: [Expectation] = NixTests.examples.map { e in
        var journals: [String: String] = [:]
        var replies: [String: String] = [:]
        var active: [String: String] = [:]
        for (unit, output) in e.units {
            if unit.hasSuffix(".socket") { active[unit] = "listening" }
            if unit.hasSuffix(".timer") { active[unit] = "waiting" }
            guard let output else { continue }
            if let at = unit.firstIndex(of: "@") {
                replies[String(unit[..<at]) + ".socket"] = output
            } else {
                journals[unit] = output
            }
        }
        let description: String = switch e.pname {
        case "hello": "Hello, a minimal portable service"
        case "links": "Links: /bin/sh and /etc/ssl from the store"
        default: "Demo: socket, service, timer"
        }
        return Expectation(stem: "\(e.pname)_\(e.version)", description: description, units: e.units.keys.sorted(),
                           journals: journals, replies: replies, active: active)
    }

    static let ownImage = Expectation(
        stem: "selftest_1.0", description: "mkportable test image",
        units: ["selftest-echo.socket", "selftest-echo@.service", "selftest-watch.path", "selftest-watch.service", "selftest.service"],
        journals: ["selftest.service": "selftest says hello\n", "selftest-watch.service": "path triggered\n"],
        replies: ["selftest-echo.socket": "echo for 127.0.0.1\n"],
        active: ["selftest-echo.socket": "listening", "selftest-watch.path": "running", "selftest-watch.service": "exited"])

    /// The multi-unit example as erofs: the same units, another version.
    static let erofsVersion = "3.1-erofs"
    static let erofsExample: Expectation = {
        var e = examples.first { $0.stem == "demo_3.1" }!
        e.stem = "demo_\(erofsVersion)"
        return e
    }()

    static var all: [Expectation] { examples + [erofsExample, ownImage] }

    // MARK: Running the guests (once per process)

    struct Run {
        var results: String
        var status: Int32
        var summary: String
        /// The multi-unit example built with `filesystem = "erofs"`.
        var erofsImage: String
    }

    static let lock = NSLock()
    nonisolated(unsafe) static var run: Result<Run, Error>?
    nonisolated(unsafe) static var scratch: TemporaryDirectory?

    override class func tearDown() {
        lock.lock()
        scratch?.remove()
        scratch = nil
        lock.unlock()
        super.tearDown()
    }

    /// nil when the guests can run here; otherwise why not.
    static let unavailableReason: String? = {
        if ProcessInfo.processInfo.environment["MKPORTABLE_TEST_NO_NSPAWN"] != nil { return "MKPORTABLE_TEST_NO_NSPAWN is set" }
        guard Posix.isRoot else { return "not running as root (systemd-nspawn and debootstrap need root)" }
        for tool in ["systemd-nspawn", "debootstrap", "unshare", "nix-build", "unsquashfs"] where Shell.which(tool) == nil {
            return "\(tool) not found (scripts/install-deps installs it)"
        }
        let fm = FileManager.default
        guard fm.fileExists(atPath: "/sys/fs/cgroup/unified") || fm.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") else {
            return "no cgroup v2 hierarchy under /sys/fs/cgroup"
        }
        return nil
    }()

    func results() throws -> Run {
        if let why = Self.unavailableReason { try RequiredGuest.unavailable("systemd-nspawn", because: why) }
        Self.lock.lock()
        defer { Self.lock.unlock() }
        if Self.run == nil { Self.run = Result { try Self.runGuests() } }
        return try Self.run!.get()
    }

    static func runGuests() throws -> Run {
        let tmp = try TemporaryDirectory(prefix: "portablectl")
        scratch = tmp
        var images: [String] = []
        for attr in NixTests.examples.map(\.attr) {
            images.append(try nixImage([root + "/default.nix", "-A", "examples.\(attr)"]))
        }
        let erofs = "(import \(root)/default.nix { swiftToolchain = \"\(NixTests.toolchain)\"; }).examples.multi-unit.overrideAttrs { filesystem = \"erofs\"; version = \"\(erofsVersion)\"; squash-compression = null; squash-block-size = null; }"
        let erofsImage = try nixImage(["-E", erofs])
        images.append(erofsImage)
        images.append(try makeOwnImage(in: tmp))
        let out = tmp.sub("results").string
        let started = Date()
        let r = try Shell.run(root + "/scripts/portablectl-test", ["--out", out] + images)
        let seconds = Int(Date().timeIntervalSince(started))
        print("PortablectlTests: scripts/portablectl-test took \(seconds) s:\n" + r.stdoutText)
        return Run(results: out, status: r.status, summary: r.summary, erofsImage: erofsImage)
    }

    /// The one .raw that `nix-build ARGS` makes.
    static func nixImage(_ args: [String]) throws -> String {
        let r = try Shell.run("nix-build", args + ["--no-out-link", "--argstr", "swiftToolchain", NixTests.toolchain] + NixTests.nixOptions)
        guard r.succeeded, let out = r.stdoutText.split(separator: "\n").last else { throw CommandFailed(result: r) }
        let raws = try FileManager.default.contentsOfDirectory(atPath: String(out)).filter { $0.hasSuffix(".raw") }
        guard raws.count == 1 else { throw ToolMissing(tool: "one .raw in \(out), found \(raws)") }
        return "\(out)/\(raws[0])"
    }

    /// selftest_1.0.raw, packed from a tree: static busybox from the host
    /// (busybox-static), units, os-release and the mount points.
    static func makeOwnImage(in tmp: TemporaryDirectory) throws -> String {
        let src = tmp.sub("selftest-tree").string
        let fm = FileManager.default
        for d in ["bin", "etc/systemd/system", "proc", "sys", "dev", "run", "tmp", "var/tmp", "var/lib", "var/cache", "var/log"] {
            try fm.createDirectory(atPath: "\(src)/\(d)", withIntermediateDirectories: true)
        }
        let busybox = ["/bin/busybox", "/usr/bin/busybox"].first { fm.isExecutableFile(atPath: $0) }
        guard let busybox else { throw ToolMissing(tool: "busybox (busybox-static)") }
        try fm.copyItem(atPath: busybox, toPath: "\(src)/bin/busybox")
        let osRelease = OSRelease(pname: "selftest", version: "1.0", description: "mkportable test image", homepage: nil)
        try Data(osRelease.render()).write(to: URL(fileURLWithPath: "\(src)/etc/os-release"))
        for f in ["etc/resolv.conf", "etc/machine-id"] { fm.createFile(atPath: "\(src)/\(f)", contents: Data()) }
        let units = [
            "selftest.service": """
            [Unit]
            Description=Selftest oneshot

            [Service]
            Type=oneshot
            ExecStart=/bin/busybox echo selftest says hello
            """,
            "selftest-echo.socket": """
            [Unit]
            Description=Selftest TCP socket on loopback

            [Socket]
            ListenStream=127.0.0.1:7777
            Accept=yes
            """,
            "selftest-echo@.service": """
            [Unit]
            Description=Selftest reply for one connection

            [Service]
            ExecStart=/bin/busybox sh -c 'echo "echo for $REMOTE_ADDR"'
            StandardInput=socket
            """,
            "selftest-watch.path": """
            [Unit]
            Description=Selftest path unit

            [Path]
            PathExists=/etc/os-release
            Unit=selftest-watch.service
            """,
            "selftest-watch.service": """
            [Unit]
            Description=Selftest service started by the path unit

            [Service]
            Type=oneshot
            RemainAfterExit=yes
            ExecStart=/bin/busybox echo path triggered
            """,
        ]
        for (name, text) in units {
            try (text + "\n").write(toFile: "\(src)/etc/systemd/system/\(name)", atomically: false, encoding: .utf8)
        }
        let image = tmp.sub("selftest_1.0.raw").string
        try Shell.check(try MkportableBinary.path(), ["pack", src, image])
        // Read back by an independent reader before systemd sees it.
        let list = try Shell.check("unsquashfs", ["-lln", image]).stdoutText
        for name in units.keys.sorted() + ["bin/busybox"] {
            XCTAssertTrue(list.contains("squashfs-root/\(name.hasPrefix("bin") ? name : "etc/systemd/system/" + name)"), "\(name) missing: \(list)")
        }
        return image
    }

    // MARK: Reading results

    func read(_ path: String) -> String? {
        guard let d = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: d, as: UTF8.self)
    }

    /// `systemctl show` output as a dictionary.
    func show(_ path: String) -> [String: String] {
        var d: [String: String] = [:]
        for line in (read(path) ?? "").split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            d[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return d
    }

    func lines(_ s: String?) -> [String] {
        (s ?? "").split(separator: "\n").map(String.init)
    }

    // MARK: Tests

    func testSystemd252() throws { try check(version: "252") }
    func testSystemd257() throws { try check(version: "257") }

    func check(version: String) throws {
        let run = try results()
        let base = "\(run.results)/\(version)"
        XCTAssertTrue(read("\(base)/systemd-version")?.hasPrefix("systemd \(version) ") == true,
                      "systemd \(version): the guest reports \(read("\(base)/systemd-version") ?? "nothing"); \(run.summary)")
        XCTAssertEqual(read("\(base)/exit-status")?.trimmingCharacters(in: .whitespacesAndNewlines), "0",
                       "systemd \(version): the check script did not finish cleanly; \(read("\(base)/check.log")?.suffix(2000) ?? "no check.log")")
        for e in Self.all {
            try check(e, at: "\(base)/\(e.stem)", label: "systemd \(version), \(e.stem)", version: version)
        }
    }

    func check(_ e: Expectation, at dir: String, label: String, version: String) throws {
        guard FileManager.default.fileExists(atPath: dir) else {
            return XCTFail("[\(label)] not run at all")
        }
        let inspect = read("\(dir)/inspect.txt") ?? ""
        XCTAssertEqual(read("\(dir)/inspect.rc"), "0\n", "[\(label)] portablectl inspect failed: \(inspect)")
        XCTAssertTrue(inspect.contains(e.description), "[\(label)] inspect does not show the description: \(inspect)")
        for u in e.units { XCTAssertTrue(inspect.contains("\t\(u)\n"), "[\(label)] inspect does not list \(u): \(inspect)") }

        for cycle in Self.cycles {
            let c = "\(dir)/\(cycle)"
            let l = "\(label), \(cycle)"
            let attach = read("\(c)/attach.txt") ?? ""
            XCTAssertEqual(read("\(c)/attach.rc"), "0\n", "[\(l)] attach failed: \(attach)")
            XCTAssertEqual(lines(read("\(c)/units")), e.units, "[\(l)] attached units: \(attach)")
            // After --now, units that keep running (sockets, timers, ...)
            // make the image "running"; until then it is "attached".
            let state = cycle == "runtime-now" ? (e.active.isEmpty ? "attached-runtime" : "running-runtime") : "attached"
            XCTAssertEqual(read("\(c)/is-attached")?.trimmingCharacters(in: .whitespacesAndNewlines), state,
                           "[\(l)] portablectl is-attached")
            let profile = cycle == "strict" ? "strict" : "default"
            for u in e.units {
                let s = show("\(c)/unit/\(u).show")
                if u.contains("@.") { continue }
                XCTAssertEqual(s["LoadState"], "loaded", "[\(l)] \(u) not loaded: \(s)")
                let attachedDir = cycle == "runtime-now" ? "/run/systemd/system.attached" : "/etc/systemd/system.attached"
                XCTAssertEqual(s["FragmentPath"], "\(attachedDir)/\(u)", "[\(l)] \(u)")
                let dropIns = s["DropInPaths"] ?? ""
                XCTAssertTrue(dropIns.contains("\(u).d/20-portable.conf"), "[\(l)] \(u) drop-ins: \(dropIns)")
                if u.hasSuffix(".service") {
                    XCTAssertTrue(dropIns.contains("\(u).d/10-profile.conf"), "[\(l)] \(u) has no profile drop-in: \(dropIns)")
                    XCTAssertEqual(s["RootImage"], "/mkportable/in/images/\(e.stem).raw", "[\(l)] \(u)")
                    XCTAssertEqual(s["PrivateNetwork"], profile == "strict" ? "yes" : "no", "[\(l)] \(u): profile \(profile)")
                }
                if cycle != "runtime-now" {
                    XCTAssertEqual(read("\(c)/unit/\(u).start.rc"), "0\n",
                                   "[\(l)] systemctl start \(u) failed: \(read("\(c)/unit/\(u).start.txt") ?? "")")
                }
                let pid1 = read("\(c)/unit/\(u).pid1") ?? ""
                XCTAssertFalse(pid1.contains("MESSAGE_ID=d9b373ed55a64feb8242e02dbe79a49c"), "[\(l)] \(u) failed: \(pid1)")
                if let sub = e.active[u] {
                    XCTAssertEqual(s["ActiveState"], "active", "[\(l)] \(u): \(s)")
                    XCTAssertEqual(s["SubState"], sub, "[\(l)] \(u): \(s)")
                } else if u.hasSuffix(".service") {
                    // A oneshot that ran and is gone: PID 1 logged its success.
                    XCTAssertTrue(pid1.contains("MESSAGE_ID=7ad2d189f7e94e70a38c781354912448"),
                                  "[\(l)] \(u): no 'Deactivated successfully' from PID 1: \(pid1)")
                }
                XCTAssertEqual(s["Result"], "success", "[\(l)] \(u): \(s)")
                if let want = e.journals[u] {
                    XCTAssertEqual(read("\(c)/unit/\(u).journal"), want, "[\(l)] what \(u) printed to the journal")
                    let fields = lines(read("\(c)/unit/\(u).fields"))
                    XCTAssertTrue(fields.contains("PORTABLE=\(e.stem).raw"), "[\(l)] \(u) journal fields: \(fields)")
                    if version != "252" {
                        XCTAssertTrue(fields.contains("PORTABLE_NAME_AND_VERSION=\(e.stem)"), "[\(l)] \(u) journal fields: \(fields)")
                    }
                }
                if let want = e.replies[u] {
                    XCTAssertEqual(read("\(c)/unit/\(u).reply"), want, "[\(l)] reply of \(u)")
                    XCTAssertEqual(show("\(c)/unit/\(u).after-reply.show")["NAccepted"], "1", "[\(l)] \(u) accepted")
                    let template = u.replacingOccurrences(of: ".socket", with: "@")
                    let instances = read("\(c)/unit/\(template).service.instances") ?? ""
                    XCTAssertTrue(instances.contains("Deactivated successfully") || instances.contains("Succeeded"),
                                  "[\(l)] the \(template).service instance did not end well: \(instances)")
                }
            }
            XCTAssertEqual(read("\(c)/failed"), "", "[\(l)] failed units after starting")
            XCTAssertEqual(read("\(c)/detach.rc"), "0\n", "[\(l)] detach failed: \(read("\(c)/detach.txt") ?? "")")
            XCTAssertEqual(read("\(c)/leftovers"), "", "[\(l)] left after detach")
        }
    }

    /// The erofs example is erofs (`overrideAttrs` that lost `filesystem`
    /// would hand portablectl a squashfs and prove nothing about erofs):
    /// erofs's magic at byte 1024, no squashfs magic at byte 0.
    func testErofsExampleHoldsErofs() throws {
        let bytes = try Posix.readFile(RawPath(try results().erofsImage))
        XCTAssertGreaterThan(bytes.count, 1028)
        guard bytes.count > 1028 else { return }
        XCTAssertEqual(Array(bytes[1024..<1028]), [0xE2, 0xE1, 0xF5, 0xE0], "no erofs magic at byte 1024")
        XCTAssertNotEqual(Array(bytes[0..<4]), Array("hsqs".utf8), "a squashfs image")
    }

    /// §4 of issue 10 spelled out: hello_1.0.raw's unit logs under the
    /// image's own name and version on 257; 252 has only PORTABLE=.
    func testJournalNamesTheImage() throws {
        let run = try results()
        for cycle in Self.cycles {
            let f257 = lines(read("\(run.results)/257/hello_1.0/\(cycle)/unit/hello.service.fields"))
            XCTAssertTrue(f257.contains("PORTABLE_NAME_AND_VERSION=hello_1.0"), "[systemd 257, \(cycle)] \(f257)")
            let f252 = lines(read("\(run.results)/252/hello_1.0/\(cycle)/unit/hello.service.fields"))
            XCTAssertTrue(f252.contains("PORTABLE=hello_1.0.raw"), "[systemd 252, \(cycle)] \(f252)")
        }
    }
}
