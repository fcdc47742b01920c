import DiskImage
import Hex
import XCTest

/// Hex text and GUIDs, shared by the verity sidecars and the DDI's GPT.
final class HexTests: XCTestCase {
    func testHexRoundTrip() {
        let all = (0...255).map { UInt8($0) }
        let text = hex(all)
        XCTAssertEqual(text.count, 512)
        XCTAssertTrue(text.hasPrefix("000102"))
        XCTAssertTrue(text.hasSuffix("fdfeff"))
        XCTAssertEqual(unhex(Substring(text)), all)
        XCTAssertEqual(unhex(Substring(text.uppercased())), all)
        XCTAssertEqual(unhex(""), [])
    }

    func testUnhexRefusesNonHex() {
        for bad in ["0", "abc", "0g", "g0", "0x00", " 00", "00 ", "-1"] {
            XCTAssertNil(unhex(Substring(bad)), bad)
        }
    }

    func testGUIDText() throws {
        // systemd's root-x86-64 partition type (Discoverable Partitions
        // Specification), stored mixed-endian in GPT.
        let text = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709"
        let g = try XCTUnwrap(GUID(text))
        XCTAssertEqual(g.bytes, unhex("4f68bce3e8cd4db196e7fbcaf984b709"))
        XCTAssertEqual(g.description, text)
        XCTAssertEqual(GUID(text.uppercased()), g)
        XCTAssertEqual(hex(g.diskBytes), "e3bc684fcde8b14d96e7fbcaf984b709")
        XCTAssertEqual(GUID(diskBytes: g.diskBytes[...]), g)
        XCTAssertEqual(GUID.zero.description, "00000000-0000-0000-0000-000000000000")
    }

    func testGUIDRefusesOtherForms() {
        for bad in ["4f68bce3e8cd4db196e7fbcaf984b709", "4f68bce3-e8cd-4db1-96e7-fbcaf984b70",
                    "4f68bce3-e8cd-4db1-96e7-fbcaf984b7090", "4f68bce-3e8cd-4db1-96e7-fbcaf984b709",
                    "4f68bce3-e8cd-4db196e7-fbcaf984b709-", "4f68bce3-e8cd-4db1-96e7-fbcaf984b7g9",
                    "{4f68bce3-e8cd-4db1-96e7-fbcaf984b709}", ""] {
            XCTAssertNil(GUID(bad), bad)
        }
    }
}
