import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import SystemIO

/// `PendingDirectory` splits its path as bytes: the temporary directory is
/// made beside the target, whatever Characters the name's bytes form.
final class PendingDirectoryTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/pending-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError(.create, path: String(cString: template), errno: .current) }
        root = String(cString: made)
    }

    override func tearDown() {
        _ = system("rm -rf '\(root)'")
    }

    /// "x\u{600}/" ends in one Character ("\u{600}/"), so a Character-wise
    /// split saw no trailing slash and took "x\u{600}/" as the name: the
    /// temporary directory then went inside the target.
    func testTemporaryDirectoryIsBesideATargetEndingInAPrependedMark() throws {
        for (given, name) in [("x\u{600}/", "x\u{600}"), ("plain//", "plain"), ("d\u{600}", "d\u{600}")] {
            let pending = try PendingDirectory(root + "/" + given)
            XCTAssertEqual(pending.temporaryPath, root + "/" + name + ".tmp-\(getpid())", given)
            var st = stat()
            XCTAssertEqual(lstat(pending.temporaryPath, &st), 0, given)
            XCTAssertEqual(st.st_mode & S_IFMT, S_IFDIR, given)
            XCTAssertNotEqual(lstat(root + "/" + name, &st), 0, "\(given): nothing at the target before publishing")
        }
    }
}
