import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Loop-mounting images read-only with the kernel's squashfs driver.
public enum KernelMount {
    /// nil when loop mounts work here; otherwise why not. Probed once with a
    /// tiny image made by mksquashfs, so that a failure to mount an image
    /// under test is never mistaken for "mounting is not possible".
    public static let unavailableReason: String? = probe()

    private static func probe() -> String? {
        if ProcessInfo.processInfo.environment["MKPORTABLE_TEST_NO_MOUNT"] != nil { return "MKPORTABLE_TEST_NO_MOUNT is set" }
        guard Posix.isRoot else { return "not running as root (loop mounts need root)" }
        guard Shell.which("mount") != nil, Shell.which("umount") != nil else { return "mount/umount not found" }
        guard (try? Posix.lstatIfExists("/dev/loop-control")) != nil else { return "/dev/loop-control does not exist" }
        guard Shell.which("mksquashfs") != nil else { return nil }  // cannot probe; try for real
        do {
            let tmp = try TemporaryDirectory(prefix: "mount-probe")
            defer { tmp.remove() }
            let src = tmp.sub("src")
            try Posix.mkdir(src)
            try Posix.writeFile(src.appending("f"), Array("probe".utf8))
            let img = tmp.sub("probe.img")
            try Shell.check("mksquashfs", [src.string, img.string, "-noappend", "-quiet", "-no-progress", "-comp", "gzip"])
            let mnt = tmp.sub("mnt")
            try Posix.mkdir(mnt)
            let r = try Shell.run("mount", ["-t", "squashfs", "-o", "loop,ro", img.string, mnt.string])
            if !r.succeeded { return "mounting a known-good mksquashfs image failed: \(r.summary)" }
            unmount(mnt)
            return nil
        } catch {
            return "probe failed: \(error)"
        }
    }

    /// systemd-dissect's path, for `what` (a check that dissects an image,
    /// which needs loop devices just as a mount does). Where it cannot run
    /// the test skips with the reason, or fails when skipping is forbidden
    /// (`RequiredGuest`).
    static func dissector(for what: String) throws -> String {
        guard let dissect = Shell.which("systemd-dissect") else {
            try RequiredGuest.unavailable(what, because: "systemd-dissect not found (install systemd-container)")
        }
        if let reason = unavailableReason {
            try RequiredGuest.unavailable(what, because: "systemd-dissect needs loop devices: \(reason)")
        }
        return dissect
    }

    public struct MountFailed: Error, CustomStringConvertible {
        public var result: CommandResult
        public var kernelLog: String
        public var description: String {
            "kernel refused the image: \(result.summary)" + (kernelLog.isEmpty ? "" : "; kernel log: \(kernelLog)")
        }
    }

    /// Mounts `image` (a squashfs, or another `type` the kernel reads) at a
    /// fresh directory under `scratch`, runs `body` with the mount point,
    /// and always unmounts.
    public static func withMounted<T>(image: RawPath, scratch: RawPath, type: String = "squashfs", _ body: (RawPath) throws -> T) throws -> T {
        if let reason = unavailableReason { throw ReaderUnavailable(reader: .kernel, reason: reason) }
        let mnt = scratch.appending(RawPath("mnt-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"))
        try Posix.makeDirectories(mnt)
        defer { _ = Posix.withCPath(mnt) { rmdir($0) } }
        let r = try Shell.run("mount", ["-t", type, "-o", "loop,ro", image.string, mnt.string])
        guard r.succeeded else { throw MountFailed(result: r, kernelLog: recentKernelLog()) }
        defer { unmount(mnt) }
        guard let fstype = mountedFilesystemType(at: mnt), fstype == type else {
            throw MountFailed(result: r, kernelLog: "mount succeeded but /proc/self/mounts shows no \(type) at \(mnt)")
        }
        return try body(mnt)
    }

    /// The filesystem type mounted at `mnt`, from /proc/self/mounts (the
    /// last matching line wins, as mounts stack).
    static func mountedFilesystemType(at mnt: RawPath) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else { return nil }
        var found: String? = nil
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count >= 3, f[1] == mnt.string { found = String(f[2]) }
        }
        return found
    }

    static func unmount(_ mnt: RawPath) {
        for attempt in 0..<20 {
            if let r = try? Shell.run("umount", [mnt.string]), r.succeeded { return }
            usleep(UInt32(100_000 * min(attempt + 1, 5)))
        }
        _ = try? Shell.run("umount", ["-l", mnt.string])
    }

    /// The last squashfs lines of the kernel log (best effort).
    static func recentKernelLog() -> String {
        guard let r = try? Shell.run("dmesg", []), r.succeeded else { return "" }
        let lines = r.stdoutText.split(separator: "\n").filter { $0.lowercased().contains("squashfs") || $0.contains("loop") }
        return lines.suffix(6).joined(separator: " | ")
    }
}
