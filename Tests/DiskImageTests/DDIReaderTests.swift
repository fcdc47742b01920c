import Foundation
import XCTest
@testable import DiskImage

/// The DDI reader against disks made in memory by the module's own
/// writer: what it writes reads back as written, and each change an
/// attacker could make to what systemd's dissection looks at (MBR, either
/// GPT, the partition set, the gaps) is refused with its kind.
final class DDIReaderTests: XCTestCase {
    let types = PartitionTypes.forSystem("x86_64-linux")!
    let hash = (0..<32).map { UInt8($0 * 7 + 1) }

    /// A portable DDI of 3 root blocks and 1 verity block, signed when
    /// `signed`; the partitions' contents are not looked at here.
    func disk(signed: Bool = false) -> (bytes: [UInt8], layout: PortableDDI) {
        let layout = PortableDDI(types: types, rootSize: 3 * 4096, veritySize: 4096, rootHash: hash,
                                 diskGUID: GUID("01234567-89ab-4cde-8f01-23456789abcd")!)
        let gpt = layout.gpt(signatureUUID: signed ? GUID("11111111-2222-4333-8444-555555555555")! : nil)
        let (head, tail) = gpt.encode()
        var d = [UInt8](repeating: 0, count: Int(layout.diskSize))
        d.replaceSubrange(0..<head.count, with: head)
        d.replaceSubrange(Int(gpt.tailOffset)..<d.count, with: tail)
        for o in [PortableDDI.rootOffset, layout.verityOffset] { d[Int(o)] = 0x5A }  // partition contents: not gaps
        return (d, layout)
    }

    /// `DDIPartitions.read` of `bytes`, through a file descriptor.
    func read(_ bytes: [UInt8]) throws -> DDIPartitions? {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ddi-\(getpid())-\(UUID().uuidString)").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        defer { unlink(path) }
        let fd = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        return try DDIPartitions.read(fd: fd, size: UInt64(bytes.count))
    }

    func assertRefused(_ bytes: [UInt8], _ kind: DiskImageError.Kind, _ words: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try read(bytes)
            XCTFail("accepted; expected \(kind): \(words)", file: file, line: line)
        } catch let e as DiskImageError {
            XCTAssertEqual(e.kind, kind, e.problem, file: file, line: line)
            XCTAssertTrue(e.problem.contains(words), "expected '\(words)' in: \(e.problem)", file: file, line: line)
            XCTAssertFalse(e.problem.contains("\n"), file: file, line: line)
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
    }

    func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

    /// `d` with its entry array edited and both headers' CRCs recomputed,
    /// as a forger would.
    func forged(_ d: [UInt8], _ edit: (inout [UInt8]) -> Void) -> [UInt8] {
        var d = d
        var entries = Array(d[1024..<(1024 + 16384)])
        edit(&entries)
        let tailArray = d.count - 33 * 512
        d.replaceSubrange(1024..<(1024 + 16384), with: entries)
        d.replaceSubrange(tailArray..<(tailArray + 16384), with: entries)
        let crc = UInt64(CRC32.of(entries))
        for h in [512, d.count - 512] {
            d.replaceSubrange((h + 88)..<(h + 92), with: le(crc, 4))
            reseal(&d, header: h)
        }
        return d
    }

    func reseal(_ d: inout [UInt8], header h: Int) {
        d.replaceSubrange((h + 16)..<(h + 20), with: [0, 0, 0, 0])
        d.replaceSubrange((h + 16)..<(h + 20), with: le(UInt64(CRC32.of(d[h..<(h + 92)])), 4))
    }

    func testWhatIsWrittenReadsBack() throws {
        for signed in [false, true] {
            let (d, layout) = disk(signed: signed)
            let found = try XCTUnwrap(try read(d))
            XCTAssertEqual(found.types, types)
            XCTAssertEqual(found.root.byteRange, PortableDDI.rootOffset..<(PortableDDI.rootOffset + 3 * 4096))
            XCTAssertEqual(found.verity.byteRange, layout.verityOffset..<(layout.verityOffset + 4096))
            XCTAssertEqual(found.root.uuid.bytes, Array(hash[0..<16]))
            XCTAssertEqual(found.verity.uuid.bytes, Array(hash[16..<32]))
            XCTAssertEqual(found.root.name, "root-x86-64")
            XCTAssertEqual(found.verity.name, "root-x86-64-verity")
            XCTAssertEqual(found.signature?.name, signed ? "root-x86-64-verity-sig" : nil)
            XCTAssertEqual(found.signature?.size, signed ? 16384 : nil)
            XCTAssertEqual(found.gpt, layout.gpt(signatureUUID: found.signature?.uuid))
        }
    }

    func testNoGPTIsNotADisk() throws {
        XCTAssertNil(try read([UInt8](repeating: 0, count: 40960)))
        XCTAssertNil(try read([1, 2, 3]))
        XCTAssertNil(try read([]))
    }

    func testMBRMustBeProtective() {
        let d = disk().bytes
        var dos = d
        dos.replaceSubrange(446..<462, with: [0x80, 0, 0, 0, 0x83, 0, 0, 0] + le(34, 4) + le(6, 4))
        assertRefused(dos, .protectiveMBR, "type 0x83, not 0xEE")
        var second = d
        second.replaceSubrange(462..<478, with: [0, 0, 0, 0, 0x83, 0, 0, 0] + le(34, 4) + le(6, 4))
        assertRefused(second, .protectiveMBR, "record 2 (type 0x83)")
        var size = d
        size[458] ^= 1
        assertRefused(size, .protectiveMBR, "protective record differs at byte 12")
        var boot = d
        boot[17] = 0xEB
        assertRefused(boot, .protectiveMBR, "boot code")
        var sig = d
        sig[511] = 0
        assertRefused(sig, .protectiveMBR, "55 AA")
    }

    func testHeadersAreChecked() {
        let d = disk().bytes
        let last = UInt64(d.count / 512 - 1)
        func header(_ primary: Bool, at o: Int, _ bytes: [UInt8]) -> [UInt8] {
            var c = d
            let h = primary ? 512 : d.count - 512
            c.replaceSubrange((h + o)..<(h + o + bytes.count), with: bytes)
            reseal(&c, header: h)
            return c
        }
        assertRefused(header(true, at: 8, le(0x20000, 4)), .partitionTable, "primary GPT header has revision 0x20000")
        assertRefused(header(false, at: 12, le(96, 4)), .partitionTable, "backup GPT header is 96 bytes")
        assertRefused(header(true, at: 20, [1]), .partitionTable, "reserved")
        assertRefused(header(true, at: 100, [1]), .partitionTable, "after its 92 bytes")
        assertRefused(header(true, at: 24, le(2, 8)), .partitionTable, "primary GPT header says it is at LBA 2")
        assertRefused(header(false, at: 32, le(2, 8)), .partitionTable, "backup GPT header says it is at LBA \(last) with the other at LBA 2")
        assertRefused(header(true, at: 32, le(last - 1, 8)), .partitionTable, "backup header at LBA \(last - 1)")
        assertRefused(header(false, at: 72, le(last - 33, 8)), .partitionTable, "puts its entry array at LBA \(last - 33)")
        assertRefused(header(true, at: 40, le(33, 8)), .partitionTable, "usable LBAs 33-")
        assertRefused(header(true, at: 48, le(last - 32, 8)), .partitionTable, "not between the entry arrays")
        assertRefused(header(false, at: 48, le(last - 40, 8)), .partitionTable, "disagrees with the primary")
        assertRefused(header(false, at: 56, [0xFF]), .partitionTable, "disagrees with the primary")
        assertRefused(header(true, at: 80, le(129, 4)), .partitionTable, "129 entries of 128 bytes")
        assertRefused(header(true, at: 84, le(256, 4)), .partitionTable, "128 entries of 256 bytes")
        var crc = d
        crc[512 + 16] ^= 1
        assertRefused(crc, .partitionTable, "primary GPT header does not match its CRC32")
        var array = d
        array[d.count - 1024] ^= 1
        assertRefused(array, .partitionTable, "backup GPT header does not match its entry array's CRC32")
        assertRefused(d + [UInt8](repeating: 0, count: 512), .partitionTable, "backup header at LBA \(last)")
        assertRefused(d + [0], .partitionTable, "not a whole number of 512-byte sectors")
        assertRefused(Array(d.prefix(GPT.headSize + 512)), .partitionTable, "too small")
    }

    func testEntriesAreChecked() {
        let d = disk().bytes
        assertRefused(forged(d) { $0[3 * 128 + 40] = 1 }, .partitionTable, "GPT entry 4 is unused (type zero) but not zero")
        assertRefused(forged(d) { $0[56 + 2 * 20] = 0x41 }, .partitionTable, "GPT entry 1 has bytes after the NUL")
        assertRefused(forged(d) { $0.replaceSubrange(32..<40, with: self.le(33, 8)) }, .partitionBounds, "outside the disk's usable sectors")
        assertRefused(forged(d) { $0.replaceSubrange(40..<48, with: self.le(80, 8)) }, .partitionBounds, "overlap")
    }

    func testOnlyThePortablePartitionsAreAllowed() {
        let (d, layout) = disk()
        let sigLBA = layout.signatureOffset / 512
        func add(_ type: String, name: String, flags: UInt64 = 0) -> [UInt8] {
            forged(d) { e in
                let p = GPTPartition(type: GUID(type)!, uuid: GUID("aaaaaaaa-2222-4333-8444-555555555555")!,
                                     firstLBA: sigLBA, lastLBA: sigLBA + 7, attributes: flags, name: name)
                e.replaceSubrange(256..<384, with: p.encode())
            }
        }
        assertRefused(add("4d21b016-b534-45c2-a9fb-5c16e091fd2d", name: "var"), .partitionSet, "partition var (type 4d21b016-b534-45c2-a9fb-5c16e091fd2d) is not part of a portable DDI")
        assertRefused(add("933ac7e1-2eb4-4f13-b844-0e14e2aef915", name: "home"), .partitionSet, "partition home")
        assertRefused(add(types.rootVerity.description, name: "again", flags: GPTPartition.readOnly), .partitionSet, "more than one partition of type")
        assertRefused(add(PartitionTypes.forSystem("aarch64")!.rootVeritySignature.description, name: "x"), .partitionSet, "partition x")
        assertRefused(add(PartitionTypes.forSystem("aarch64")!.root.description, name: "r"), .partitionSet, "2 root partitions")
        assertRefused(add(types.rootVeritySignature.description, name: "s", flags: 1 << 63), .partitionSet, "attribute flags 0x8000000000000000")
        assertRefused(forged(d) { $0[48 + 7] = 0x90 }, .partitionSet, "attribute flags 0x9000000000000000, not 0x1000000000000000")
        assertRefused(forged(d) { $0.replaceSubrange(128..<256, with: [UInt8](repeating: 0, count: 128)) }, .partitionSet, "no root-x86-64-verity partition")
        assertRefused(forged(d) { $0.replaceSubrange(0..<128, with: [UInt8](repeating: 0, count: 128)) }, .partitionSet, "no root partition")
    }

    func testGapsMustBeZero() {
        let (d, layout) = disk()
        for at in [GPT.headSize, Int(PortableDDI.rootOffset) - 1, Int(layout.signatureOffset), d.count - 33 * 512 - 1] {
            var c = d
            c[at] = 1
            assertRefused(c, .gap, "byte \(at), outside every partition, is not zero")
        }
    }

    func testSignaturePartitionRoundTrips() throws {
        for n in [1, 2, 3, 4, 700, 1500] {
            let sig = (0..<n).map { UInt8(truncatingIfNeeded: $0 * 31 + 5) }
            let p = SignaturePartition(rootHashHex: String(repeating: "ab", count: 32), certificateFingerprint: String(repeating: "0f", count: 32), signature: sig)
            let bytes = try XCTUnwrap(p.encode())
            XCTAssertEqual(bytes.count, 16384)
            let text = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            XCTAssertEqual(text, "{\"rootHash\":\"\(p.rootHashHex)\",\"certificateFingerprint\":\"\(p.certificateFingerprint)\",\"signature\":\"\(Data(sig).base64EncodedString())\"}")
            XCTAssertEqual(try SignaturePartition.decode(bytes), p)
        }
        XCTAssertNil(SignaturePartition(rootHashHex: "", certificateFingerprint: "", signature: [UInt8](repeating: 1, count: 12_300)).encode())
    }

    func testSignaturePartitionIsReadOnlyAsWritten() throws {
        let good = try XCTUnwrap(SignaturePartition(rootHashHex: String(repeating: "ab", count: 32),
                                                    certificateFingerprint: String(repeating: "0f", count: 32), signature: [1, 2, 3, 4]).encode())
        let text = String(decoding: good.prefix { $0 != 0 }, as: UTF8.self)
        func content(_ t: String) -> [UInt8] { Array(t.utf8) + [UInt8](repeating: 0, count: 16384 - t.utf8.count) }
        let cases: [(String, [UInt8])] = [
            ("spaces", content(text.replacingOccurrences(of: ":", with: ": "))),
            ("keys reordered", content("{\"signature\":\"AQIDBA==\",\"rootHash\":\"\(String(repeating: "ab", count: 32))\",\"certificateFingerprint\":\"\(String(repeating: "0f", count: 32))\"}")),
            ("upper-case hash", content(text.replacingOccurrences(of: "ab", with: "AB"))),
            ("short hash", content(text.replacingOccurrences(of: "abab\"", with: "ab\""))),
            ("non-canonical base64", content(text.replacingOccurrences(of: "AQIDBA==", with: "AQIDBB=="))),
            ("unpadded base64", content(text.replacingOccurrences(of: "AQIDBA==", with: "AQIDBA"))),
            ("empty signature", content(text.replacingOccurrences(of: "AQIDBA==", with: ""))),
            ("trailing byte", content(text + "x")),
            ("byte after the NULs", good.dropLast() + [1]),
            ("no NUL", Array(text.utf8)),
        ]
        for (label, bytes) in cases {
            XCTAssertThrowsError(try SignaturePartition.decode(bytes), label) { e in
                XCTAssertEqual((e as? DiskImageError)?.kind, .signaturePartition, label)
            }
        }
    }
}
