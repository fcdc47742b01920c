import Foundation
import XCTest

/// The reference tools that `../shared/anchors/build` makes (mksquashfs and
/// unsquashfs 4.7.5, mkfs.erofs, fsck.erofs and dump.erofs 1.9.3): in
/// $MKPORTABLE_ANCHORS, else the script's default prefix. A tool missing
/// there is left out of the test that would use it, except where
/// MKPORTABLE_REQUIRE_ANCHORS=1 (set by .ci/run, which builds them first):
/// then its absence fails the test.
enum ReferenceTools {
    static var bin: String {
        ProcessInfo.processInfo.environment["MKPORTABLE_ANCHORS"] ?? "/var/cache/mkportable-anchors/bin"
    }

    /// The tool's path, or nil when it is missing and may be left out.
    static func path(_ tool: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        let p = bin + "/" + tool
        if FileManager.default.isExecutableFile(atPath: p) { return p }
        if ProcessInfo.processInfo.environment["MKPORTABLE_REQUIRE_ANCHORS"] == "1" {
            XCTFail("MKPORTABLE_REQUIRE_ANCHORS=1 but \(p) is missing; build it with ../shared/anchors/build", file: file, line: line)
        }
        return nil
    }
}
