import Foundation
import Hex
import TestSupport
import XCTest
@testable import Verity

/// The hash tree must be byte for byte what `veritysetup format` writes
/// for the same salt and UUID, whatever the chunking of the stream and
/// with block 0 rewritten at the end, as the image writer does.
final class HashTreeTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("verity-tests-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: dir)
    }

    static func veritysetup() throws -> String {
        if let tool = ReferenceTools.installed("veritysetup") { return tool }
        throw XCTSkip("veritysetup is not installed (Debian: cryptsetup-bin; scripts/install-deps installs it)")
    }

    /// Deterministic pseudo-random bytes (xorshift), so failures reproduce.
    static func bytes(_ n: Int, seed: UInt64) -> [UInt8] {
        var x = seed | 1
        var out = [UInt8](repeating: 0, count: n)
        out.withUnsafeMutableBytes { b in
            var i = 0
            while i < n {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17
                withUnsafeBytes(of: x) { w in
                    let k = min(8, n - i)
                    (b.baseAddress! + i).copyMemory(from: w.baseAddress!, byteCount: k)
                }
                i += 8
            }
        }
        return out
    }

    /// Feeds `data` as the image writer does: block 0's first bytes as zeros
    /// (a superblock placeholder), the rest in uneven chunks, then the real
    /// first bytes again at offset 0.
    static func tree(of data: [UInt8], salt: [UInt8], uuid: [UInt8], seed: UInt64) throws -> VerityHashes {
        let tree = VerityHashTree(salt: salt, uuid: uuid)
        let head = min(96, data.count)
        let zeros = [UInt8](repeating: 0, count: head)
        zeros.withUnsafeBytes { tree.append($0, at: 0) }
        var at = head
        var x = seed | 1
        while at < data.count {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            let sizes = [1, 7, 100, 4095, 4096, 4097, 12288, 70000, 1 << 20]
            let n = min(sizes[Int(x % UInt64(sizes.count))], data.count - at)
            data[at..<(at + n)].withUnsafeBytes { tree.append($0, at: UInt64(at)) }
            at += n
        }
        data[0..<head].withUnsafeBytes { tree.append($0, at: 0) }
        return try tree.finish()
    }

    func testMatchesVeritysetupFormat() throws {
        let vs = try Self.veritysetup()
        let uuid = "0d4f0a3e-7c1b-4e55-9a2b-5c6d7e8f9a0b"
        // 1 block: no levels; 128 and 129: one level and two; 16385: three.
        for (i, blocks) in [1, 2, 128, 129, 300, 16385].enumerated() {
            let data = Self.bytes(blocks * 4096, seed: UInt64(i + 1))
            let salt = Self.bytes(32, seed: UInt64(100 + i))
            let dataURL = dir.appendingPathComponent("d\(i).raw")
            let hashURL = dir.appendingPathComponent("d\(i).verity")
            try Data(data).write(to: dataURL)
            let r = try Subprocess.run(vs, ["format", "--salt=\(hex(salt))", "--uuid=\(uuid)",
                                      "--data-block-size=4096", "--hash-block-size=4096",
                                      dataURL.path, hashURL.path])
            XCTAssertEqual(r.status, 0, r.text)
            let want = try [UInt8](Data(contentsOf: hashURL))
            let rootLine = r.text.split(separator: "\n").first { $0.hasPrefix("Root hash:") }
            let wantRoot = rootLine.map { String($0.split(separator: "\t").last ?? "").trimmingCharacters(in: .whitespaces) }

            let got = try Self.tree(of: data, salt: salt, uuid: unhex(Substring(uuid.replacingOccurrences(of: "-", with: "")))!, seed: UInt64(i + 7))
            XCTAssertEqual(got.rootHashHex, wantRoot, "\(blocks) blocks: root hash")
            XCTAssertEqual(got.hashFile.count, want.count, "\(blocks) blocks: hash file size")
            if got.hashFile != want {
                let at = (0..<min(got.hashFile.count, want.count)).first { got.hashFile[$0] != want[$0] } ?? min(got.hashFile.count, want.count)
                XCTFail("\(blocks) blocks: hash file differs from veritysetup's at byte \(at)")
            }
            // And veritysetup accepts ours.
            let ours = dir.appendingPathComponent("o\(i).verity")
            try Data(got.hashFile).write(to: ours)
            XCTAssertEqual(try Subprocess.run(vs, ["verify", dataURL.path, ours.path, got.rootHashHex]).status, 0)
            try? FileManager.default.removeItem(at: dataURL)
        }
    }

    func testChunkingAndRewriteChangeNothing() throws {
        let data = Self.bytes(200 * 4096, seed: 42)
        let salt = Self.bytes(32, seed: 43)
        let uuid = Self.bytes(16, seed: 44)
        let a = try Self.tree(of: data, salt: salt, uuid: uuid, seed: 1)
        let b = try Self.tree(of: data, salt: salt, uuid: uuid, seed: 99)
        XCTAssertEqual(a.hashFile, b.hashFile)
        XCTAssertEqual(a.rootHash, b.rootHash)
        // One flipped byte anywhere changes the root.
        for at in [0, 95, 4096, 819199] {
            var d = data
            d[at] ^= 1
            XCTAssertNotEqual(try Self.tree(of: d, salt: salt, uuid: uuid, seed: 1).rootHash, a.rootHash, "flip at \(at)")
        }
    }

    func testRefusesPartialBlocks() throws {
        let tree = VerityHashTree(salt: [], uuid: [UInt8](repeating: 0, count: 16))
        [UInt8](repeating: 1, count: 5000).withUnsafeBytes { tree.append($0, at: 0) }
        XCTAssertThrowsError(try tree.finish())
        XCTAssertThrowsError(try VerityHashTree(salt: [], uuid: [UInt8](repeating: 0, count: 16)).finish())
    }

    func testSuperblockRoundTrip() throws {
        let sb = VeritySuperblock(uuid: Self.bytes(16, seed: 5), dataBlocks: 12345, salt: Self.bytes(32, seed: 6))
        XCTAssertEqual(try VeritySuperblock.decode(sb.encode()).get(), sb)
        var bad = sb.encode()
        bad[12] = 0
        XCTAssertThrowsError(try VeritySuperblock.decode(bad).get())
    }

    func testParametersAreDerivedNotRandom() {
        let a = VerityParameters(seed: Array("one image".utf8))
        XCTAssertEqual(a, VerityParameters(seed: Array("one image".utf8)))
        XCTAssertNotEqual(a.salt, VerityParameters(seed: Array("another".utf8)).salt)
        XCTAssertEqual(a.salt, SHA256.hmac(key: Array("one image".utf8), message: Array("verity-salt".utf8)))
        XCTAssertEqual(a.uuid[6] >> 4, 4)
        XCTAssertEqual(a.uuid[8] >> 6, 2)
        // RFC 4231 test case 2: HMAC-SHA256("Jefe", "what do ya want for nothing?").
        XCTAssertEqual(hex(SHA256.hmac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        XCTAssertEqual(hex(SHA256.hash(Array("abc".utf8))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
