import Foundation
import XCTest

/// What the fault and hardening tests share: a fresh temporary directory
/// per test (world-traversable, for the runs as an unprivileged user),
/// removed afterwards, and `mkportable pack` run as a child process with a
/// time limit, with no SOURCE_DATE_EPOCH and two build cores unless a test
/// says otherwise.
class PackTestCase: XCTestCase {
    var tmp: TemporaryDirectory!

    /// The temporary directory's name prefix; each subclass names its own.
    class var temporaryPrefix: String { "pack" }

    /// How every pack error line starts.
    let packPrefix = "mkportable pack: error: "

    override func setUpWithError() throws {
        try super.setUpWithError()
        tmp = try TemporaryDirectory(prefix: Self.temporaryPrefix)
        try Posix.chmod(tmp.path, 0o755)
    }

    override func tearDown() {
        tmp?.remove()
        tmp = nil
        super.tearDown()
    }

    /// `mkportable pack ARGUMENTS`; `env` adds to or overrides the default
    /// environment (nil removes a variable).
    func pack(_ arguments: [String], env: [String: String?] = [:], timeout: TimeInterval = 120) throws -> CommandResult {
        var e: [String: String?] = ["SOURCE_DATE_EPOCH": nil, "NIX_BUILD_CORES": "2"]
        for (k, v) in env { e[k] = v }
        return try runLimited(try MkportableBinary.path(), ["pack"] + arguments, environment: e, timeout: timeout)
    }
}
