import Foundation
import Hex
import XCTest
@testable import Verity

/// The tree's shape against the trees `VerityHashTree` builds, and
/// `VerityCheck` against trees and data changed in each way it must catch,
/// through real file descriptors.
final class VerityCheckTests: XCTestCase {
    let salt = (0..<32).map { UInt8($0 ^ 0x5A) }
    let uuid = (0..<16).map { UInt8($0 + 1) }

    func tree(_ data: [UInt8]) throws -> VerityHashes {
        let t = VerityHashTree(salt: salt, uuid: uuid)
        data.withUnsafeBytes { t.append($0, at: 0) }
        return try t.finish()
    }

    /// Blocks that differ from each other (each starts with its number).
    func data(blocks: Int) -> [UInt8] {
        var d = [UInt8](repeating: 0x33, count: blocks * 4096)
        for b in 0..<blocks { d[b * 4096] = UInt8(truncatingIfNeeded: b); d[b * 4096 + 1] = UInt8(truncatingIfNeeded: b >> 8) }
        return d
    }

    /// An open file holding `bytes`, removed at once (the descriptor keeps it).
    func file(_ bytes: [UInt8]) throws -> Int32 {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("verity-check-\(getpid())-\(UUID().uuidString)").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        let fd = open(path, O_RDONLY)
        unlink(path)
        XCTAssertGreaterThanOrEqual(fd, 0)
        return fd
    }

    func check(_ data: [UInt8], _ hashes: [UInt8], exact: Bool = true) throws -> VerityHashes {
        let d = try file(data), h = try file(hashes)
        defer { close(d); close(h) }
        return try VerityCheck.check(data: .init(fd: d, offset: 0, size: UInt64(data.count)),
                                     hashes: .init(fd: h, offset: 0, size: UInt64(hashes.count)), exact: exact)
    }

    func assertKind(_ kind: VerityError.Kind, _ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            XCTAssertEqual((e as? VerityError)?.kind, kind, "\(e)", file: file, line: line)
        }
    }

    func testShapeIsTheShapeOfTheTreesBuilt() throws {
        for blocks in [1, 2, 127, 128, 129, 300, 16385] {
            let h = try tree(data(blocks: blocks))
            let shape = VerityTreeShape(dataBlocks: UInt64(blocks))
            XCTAssertEqual(UInt64(h.hashFile.count), shape.hashFileSize, "\(blocks) blocks")
        }
        XCTAssertEqual(VerityTreeShape(dataBlocks: 1).levelBlocks, [])
        XCTAssertEqual(VerityTreeShape(dataBlocks: 129).levelBlocks, [2, 1])
        XCTAssertEqual(VerityTreeShape(dataBlocks: 1 << 50).levels, 8)
        XCTAssertEqual(VerityTreeShape(dataBlocks: UInt64.max).levelBlocks.last, 1)
    }

    func testATreeChecksAgainstItsData() throws {
        let d = data(blocks: 300)
        let h = try tree(d)
        XCTAssertEqual(try check(d, h.hashFile).rootHash, h.rootHash)
        XCTAssertEqual(try check(d, h.hashFile + [UInt8](repeating: 7, count: 8192), exact: false).rootHash, h.rootHash)
        XCTAssertNoThrow(try VerityCheck.checkRootHash(h, expected: h.rootHash))
    }

    func testEachChangeIsCaughtWithItsKind() throws {
        let d = data(blocks: 300)
        let h = try tree(d).hashFile
        var changed = d
        changed[4096 * 201 + 5] ^= 1
        assertKind(.dataBlock(201)) { _ = try self.check(changed, h) }
        var upper = h
        upper[4096 + 10] ^= 1
        assertKind(.hashTree(at: 4096 + 10)) { _ = try self.check(d, upper) }
        var count = h
        count[72] = 45
        assertKind(.coverage) { _ = try self.check(d, count) }
        var zero = h
        zero.replaceSubrange(72..<80, with: [UInt8](repeating: 0, count: 8))
        assertKind(.superblock) { _ = try self.check(d, zero) }
        assertKind(.superblock) { _ = try self.check(d, Array(h.prefix(100))) }
        assertKind(.hashTreeSize) { _ = try self.check(d, h + [0]) }
        assertKind(.hashTreeSize) { _ = try self.check(d, Array(h.dropLast(4096)), exact: false) }
        assertKind(.hashTree(at: h.count - 4096)) { _ = try self.check(d, Array(h.dropLast(4096))) }
        assertKind(.dataSize) { _ = try self.check(d + [1], h) }
        assertKind(.dataSize) { _ = try self.check([], h) }
        assertKind(.rootHash) { try VerityCheck.checkRootHash(try self.tree(d), expected: [UInt8](repeating: 0, count: 32)) }
    }

    func testRootHashFileIsReadAsSystemdReadsIt() throws {
        let hash = (0..<32).map { UInt8($0) }
        XCTAssertEqual(try RootHashFile.decode(RootHashFile.encode(hash)), hash)
        XCTAssertEqual(String(decoding: RootHashFile.encode(hash), as: UTF8.self).last, "\n")
        XCTAssertEqual(try RootHashFile.decode(Array(" \t\(hex(hash).uppercased())\n\n".utf8)), hash)
        for bad in ["", "0x" + hex(hash), hex(hash) + "\0", String(hex(hash).dropLast()), String(repeating: "ab", count: 15)] {
            XCTAssertThrowsError(try RootHashFile.decode(Array(bad.utf8)), bad)
        }
    }
}
