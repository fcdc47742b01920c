import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import SystemIO

/// `FileDescriptor.openBeneath`, by openat2 and by the walk it falls back
/// on: a file below a directory opens; a symlink on any component, "..",
/// and an absolute path are refused, whichever way is taken.
final class OpenBeneathTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/systemio-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError(.create, path: String(cString: template), errno: .current) }
        root = String(cString: made)
        // root/a/b/file, root/link -> a, root/a/blink -> b, root/a/flink -> b/file
        XCTAssertEqual(mkdir(root + "/a", 0o755), 0)
        XCTAssertEqual(mkdir(root + "/a/b", 0o755), 0)
        let fd = open(root + "/a/b/file", O_WRONLY | O_CREAT, 0o644)
        XCTAssertEqual(write(fd, "hello", 5), 5)
        close(fd)
        XCTAssertEqual(symlink("a", root + "/link"), 0)
        XCTAssertEqual(symlink("b", root + "/a/blink"), 0)
        XCTAssertEqual(symlink("b/file", root + "/a/flink"), 0)
    }

    override func tearDown() {
        _ = system("rm -rf '\(root)'")
    }

    /// Both ways, on `path`: the errno, or 0 when it opened a regular file.
    private func outcomes(_ path: String) throws -> [Int32] {
        let dir = try FileDescriptor.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        var result: [Int32] = []
        do {
            let fd = try FileDescriptor.openBeneath(Array(path.utf8), O_RDONLY | O_CLOEXEC, in: dir.raw)
            var st = stat()
            XCTAssertEqual(fstat(fd.raw, &st), 0)
            XCTAssertEqual(st.st_mode & S_IFMT, S_IFREG)
            result.append(0)
        } catch { result.append(error.errno.code) }
        let components = Array(path.utf8).split(separator: UInt8(ascii: "/"))
        do {
            _ = try FileDescriptor.openBeneathByWalk(components, O_RDONLY | O_CLOEXEC, mode: 0, in: dir.raw)
            result.append(0)
        } catch { result.append(error.errno.code) }
        return result
    }

    func testARegularFileBelowOpens() throws {
        XCTAssertEqual(try outcomes("a/b/file"), [0, 0])
    }

    func testNoLinkIsFollowedOnAnyComponent() throws {
        for path in ["link/b/file", "a/blink/file", "a/flink"] {
            let got = try outcomes(path)
            XCTAssertTrue(got.allSatisfy { $0 == ELOOP || $0 == ENOTDIR }, "\(path): \(got)")
        }
    }

    func testParentAndAbsolutePathsAreRefused() throws {
        let dir = try FileDescriptor.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        for path in ["a/../a/b/file", "/etc/passwd", ""] {
            do {
                _ = try FileDescriptor.openBeneath(Array(path.utf8), O_RDONLY, in: dir.raw)
                XCTFail("\(path) opened")
            } catch {
                XCTAssertEqual(error.errno.code, EXDEV, path)
                XCTAssertEqual(error.kind, .open, path)
                XCTAssertEqual(error.path, path)
            }
        }
    }

    /// The one-pass check against the rule it replaced: split at "/"
    /// (empty parts dropped), refused when absolute, empty or holding "..".
    func testTheBytewiseCheckMatchesSplitting() {
        let paths = ["a", "a/b", "a//b", "a/", "a/b/", "..", "../a", "a/..", "a/../b", "...", "..a", "a..",
                     "a/..b", "a/b..", ".", "./a", "a/./b", "", "/", "//", "/a", "a/.. /b", ". .", "../", "a/.../b"]
        for path in paths {
            let bytes = Array(path.utf8)
            let parts = bytes.split(separator: UInt8(ascii: "/"))
            let expected = bytes.first != UInt8(ascii: "/") && !parts.isEmpty && !parts.contains { $0.elementsEqual("..".utf8) }
            XCTAssertEqual(FileDescriptor.isRelativeBelow(bytes), expected, "«\(path)»")
        }
        XCTAssertFalse(FileDescriptor.isRelativeBelow(Array("a/..".utf8)))
        XCTAssertTrue(FileDescriptor.isRelativeBelow(Array("a/...".utf8)))
    }
}
