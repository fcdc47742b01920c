import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import SystemIO

/// The calls other modules make on an open file through SystemIO: setting
/// its size, syncing it, its status, finding its data past a hole, its end,
/// one pread; each failing as the kind its callers word.
final class DescriptorCallsTests: XCTestCase {
    var root = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/systemio-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError(.create, path: String(cString: template), errno: .current) }
        root = String(cString: made)
    }

    override func tearDown() {
        _ = system("rm -rf '\(root)'")
    }

    private func newFile() throws -> FileDescriptor {
        try FileDescriptor.open(root + "/file", O_RDWR | O_CREAT | O_CLOEXEC, mode: 0o644)
    }

    func testTruncateSetsTheSizeBothWays() throws {
        let fd = try newFile()
        try fd.writeAll(Array(repeating: 7, count: 10_000), at: 0)
        try fd.truncate(to: 3)
        XCTAssertEqual(try fd.status().st_size, 3)
        try FileDescriptor.truncate(fd.raw, to: 1 << 20)
        XCTAssertEqual(try fd.status().st_size, 1 << 20)
        XCTAssertEqual(try fd.endOffset(), 1 << 20)
        var byte: [UInt8] = [9, 9]
        let n = try byte.withUnsafeMutableBytes { try FileDescriptor.readOnce(fd.raw, into: $0.baseAddress!, count: 2, at: 2) }
        XCTAssertEqual(n, 2)
        XCTAssertEqual(byte, [7, 0])
        try fd.sync()
        try FileDescriptor.sync(fd.raw)
    }

    func testNextDataSkipsAHoleAndFindsNoneAfterTheLastData() throws {
        let fd = try newFile()
        try fd.truncate(to: 4 << 20)
        try fd.writeAll(Array(repeating: 1, count: 4096), at: 2 << 20)
        let st = try fd.status()
        try XCTSkipIf(Int64(st.st_blocks) * 512 >= Int64(st.st_size), "\(root) keeps no holes")
        XCTAssertEqual(try FileDescriptor.nextData(fd.raw, from: 0), 2 << 20)
        XCTAssertEqual(try FileDescriptor.nextData(fd.raw, from: (2 << 20) + 100), (2 << 20) + 100)
        XCTAssertNil(try FileDescriptor.nextData(fd.raw, from: 3 << 20))
    }

    func testFailuresCarryTheirKindAndErrno() throws {
        let file = try newFile()
        let readOnly = try FileDescriptor.open(root + "/file", O_RDONLY | O_CLOEXEC)
        XCTAssertThrowsError(try readOnly.truncate(to: 1)) { e in
            XCTAssertEqual((e as? SystemError)?.kind, .write)
            XCTAssertEqual((e as? SystemError)?.errno.code, EINVAL)
        }
        var pipeEnds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&pipeEnds), 0)
        let reading = FileDescriptor(raw: pipeEnds[0]), writing = FileDescriptor(raw: pipeEnds[1])
        XCTAssertThrowsError(try FileDescriptor.nextData(reading.raw, from: 0)) { e in
            XCTAssertEqual((e as? SystemError)?.kind, .read)
            XCTAssertEqual((e as? SystemError)?.errno.code, ESPIPE)
        }
        XCTAssertThrowsError(try reading.endOffset()) { e in XCTAssertEqual((e as? SystemError)?.errno.code, ESPIPE) }
        XCTAssertThrowsError(try writing.sync()) { e in
            XCTAssertEqual((e as? SystemError)?.kind, .sync)
            XCTAssertEqual((e as? SystemError)?.errno.code, EINVAL)
        }
        XCTAssertThrowsError(try FileDescriptor.status(-1)) { e in
            XCTAssertEqual((e as? SystemError)?.kind, .read)
            XCTAssertEqual((e as? SystemError)?.errno.code, EBADF)
        }
        _ = file.raw
    }
}
