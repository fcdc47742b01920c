import Foundation
import XCTest

/// Where the tests find the tools they check images with.
///
/// The reference tools are the ones `../shared/anchors/build` makes
/// (mksquashfs and unsquashfs 4.7.5, mkfs.erofs, fsck.erofs and dump.erofs
/// 1.9.3): in $MKPORTABLE_ANCHORS, else the script's default prefix. A tool
/// missing there is left out of the test that would use it, except where
/// MKPORTABLE_REQUIRE_ANCHORS=1 (set by .ci/run, which builds them first):
/// then its absence fails the test. The distribution's own tools are found
/// on PATH and in the usual system directories (`installed`).
public enum ReferenceTools {
    public static var bin: String {
        ProcessInfo.processInfo.environment["MKPORTABLE_ANCHORS"] ?? "/var/cache/mkportable-anchors/bin"
    }

    /// The reference tool's path, or nil when it is missing and may be left out.
    public static func path(_ tool: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        let p = bin + "/" + tool
        if FileManager.default.isExecutableFile(atPath: p) { return p }
        if ProcessInfo.processInfo.environment["MKPORTABLE_REQUIRE_ANCHORS"] == "1" {
            XCTFail("MKPORTABLE_REQUIRE_ANCHORS=1 but \(p) is missing; build it with ../shared/anchors/build", file: file, line: line)
        }
        return nil
    }

    /// An installed tool (the distribution's): the first `name` on PATH,
    /// else in /usr/bin, /usr/sbin, /sbin or /bin; nil when there is none.
    public static func installed(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") + ["/usr/bin", "/usr/sbin", "/sbin", "/bin"] {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
