import Foundation
import XCTest

/// The one rule for tests that need a real systemd guest (an nspawn
/// container or a qemu VM): where the guest cannot run they skip with the
/// reason printed, except under `.ci/run`, which sets
/// MKPORTABLE_REQUIRE_CONTAINERS=1 because its machine can run them, so
/// that a skip there would hide a broken harness.
enum RequiredGuest {
    static func unavailable(_ what: String, because why: String) throws -> Never {
        if ProcessInfo.processInfo.environment["MKPORTABLE_REQUIRE_CONTAINERS"] == "1" {
            XCTFail("\(what) cannot run here, and MKPORTABLE_REQUIRE_CONTAINERS=1: \(why)")
            throw CommandFailed(result: CommandResult(commandLine: what, status: 1, stdout: Data(), stderr: Data(why.utf8)))
        }
        print("note: \(what) test skipped: \(why)")
        throw XCTSkip(why)
    }
}
