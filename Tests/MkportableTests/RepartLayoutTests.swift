import Foundation
import XCTest

/// A `pack --ddi` disk, field by field, against the disk systemd-repart
/// 257.9 (Debian 13, package systemd-repart) makes from the same kind of
/// squashfs. The reference (`repartTable`, below) was made on 2026-12-01
/// in a trixie root (scripts/lib/debian-root trixie, run through
/// scripts/lib/nspawn run with `apt-get install systemd-repart fdisk`) from
/// a 901120-byte squashfs written by `mkportable pack --comp zstd` (a
/// 900000-byte random file, os-release and a unit), with these
/// definitions:
///
///     00-root.conf:             Type=root  CopyBlocks=/in/svc_1.0.raw  Verity=data       VerityMatchKey=root
///     01-root-verity.conf:      Type=root-verity                       Verity=hash       VerityMatchKey=root  Minimize=best
///     02-root-verity-sig.conf:  Type=root-verity-sig                   Verity=signature  VerityMatchKey=root
///
///     systemd-repart --empty=create --size=auto --dry-run=no --offline=yes --definitions=DEFS \
///       --seed=e2a40bf9-73f1-4278-9160-49c031e7aef8 --private-key=key.pem --certificate=cert.pem repart.raw
///     sfdisk --json repart.raw
///
/// (Two runs gave the same bytes.) The identifiers repart derived from its
/// seed are checked against our derivations in `RepartDerivationTests`.
/// Where the layouts differ on purpose, README's "Verity and DDI" says why:
/// the verity partition (repart hands its auto-sized disk's slack, 2040
/// sectors here, to the hash partition; ours is exactly the tree), and so
/// where the signature partition starts (right after the verity
/// partition in both).
final class RepartLayoutTests: ImageTestCase {
    static let repartTable = #"""
    {"partitiontable": {"label": "gpt", "id": "EF7F7EE2-47B3-4251-B1A1-09EA8BF12D5D", "device": "repart.raw",
      "unit": "sectors", "firstlba": 34, "lastlba": 3878, "grain": "512", "sectorsize": 512,
      "partitions": [
        {"node": "repart.raw1", "start": 40, "size": 1760, "type": "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",
         "uuid": "B4CE787A-955F-A8C8-3A59-632B41C80AEC", "name": "root-x86-64", "attrs": "GUID:60"},
        {"node": "repart.raw2", "start": 1800, "size": 2040, "type": "2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5",
         "uuid": "2717EE0F-7519-8C7B-FB5D-E9DB01B2434B", "name": "root-x86-64-verity", "attrs": "GUID:60"},
        {"node": "repart.raw3", "start": 3840, "size": 32, "type": "41092B05-9FC8-4523-994F-2DEF0408B176",
         "uuid": "069E49B5-87C9-463A-8CC0-8309D7D495C1", "name": "root-x86-64-verity-sig"}]}}
    """#
    /// repart's `--json` said this root hash for the run.
    static let repartRootHash = "b4ce787a955fa8c83a59632b41c80aec2717ee0f75198c7bfb5de9db01b2434b"

    func table(_ data: Data) throws -> (table: [String: Any], parts: [[String: Any]]) {
        let top = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let t = try XCTUnwrap(top["partitiontable"] as? [String: Any])
        return (t, try XCTUnwrap(t["partitions"] as? [[String: Any]]))
    }

    func testDDILayoutMatchesRepartsForTheSameFileSystem() throws {
        try Shell.require("sfdisk")
        guard Shell.which("openssl") != nil else { throw XCTSkip("openssl is not installed (Debian: openssl)") }
        let src = try newSource()
        try src.file("etc/os-release", "ID=nixos\nPORTABLE_PREFIXES=svc\n")
        try src.file("etc/systemd/system/svc.service", "[Service]\nExecStart=/bin/true\n")
        try src.file("usr/bin/blob", TestData.random(900_000, seed: 1), mode: 0o755)
        let image = work.sub("svc_1.0.raw")
        let bin = try MkportableBinary.path()
        try Shell.check(bin, ["pack", "--ddi", "--arch", "x86_64", "--comp", "zstd", src.root.string, image.string])
        let key = work.sub("k.pem").string, cert = work.sub("c.pem").string
        try Shell.check("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-subj", "/CN=t", "-days", "30"])
        try Shell.check(bin, ["sign", "--key", key, "--cert", cert, "--out", work.sub("signed").string, image.string])
        let signed = work.sub("signed").appending("svc_1.0.raw")

        let (ref, refParts) = try table(Data(Self.repartTable.utf8))
        let (ours, parts) = try table(try Shell.check("sfdisk", ["--json", signed.string]).stdout)
        XCTAssertEqual(parts.count, 3)
        XCTAssertEqual(ours["label"] as? String, ref["label"] as? String)
        XCTAssertEqual(ours["firstlba"] as? Int, ref["firstlba"] as? Int, "first usable LBA")
        XCTAssertEqual(ours["sectorsize"] as? Int, ref["sectorsize"] as? Int)
        // Same file system size: the comparison below is of like with like.
        XCTAssertEqual(parts[0]["size"] as? Int, refParts[0]["size"] as? Int, "the test's squashfs is not the reference's size")
        for key in ["type", "name", "attrs"] {
            for i in 0..<3 {
                XCTAssertEqual(parts[i][key] as? String, refParts[i][key] as? String, "partition \(i + 1) \(key)")
            }
        }
        XCTAssertEqual(parts[0]["start"] as? Int, refParts[0]["start"] as? Int, "root partition start")
        XCTAssertEqual(parts[1]["start"] as? Int, refParts[1]["start"] as? Int, "verity partition start (right after root)")
        XCTAssertEqual(parts[2]["size"] as? Int, refParts[2]["size"] as? Int, "signature partition size")
        // Both put the signature partition right after the verity partition
        // and every partition on a 4 KiB boundary.
        for (p, label) in [(parts, "ours"), (refParts, "repart's")] {
            XCTAssertEqual(p[2]["start"] as? Int, (p[1]["start"] as! Int) + (p[1]["size"] as! Int), "\(label): signature after verity")
            for q in p { XCTAssertEqual((q["start"] as! Int) % 8, 0, "\(label): \(q["name"]!) not 4 KiB aligned") }
        }
        // Ours: the verity partition is exactly the tree (16 KiB for 220 blocks).
        XCTAssertEqual(parts[1]["size"] as? Int, 32)
        // Partition UUIDs: the root hash's halves, in both.
        func halves(_ p: [[String: Any]]) -> String {
            p[0...1].map { ($0["uuid"] as! String).lowercased().replacingOccurrences(of: "-", with: "") }.joined()
        }
        XCTAssertEqual(halves(refParts), Self.repartRootHash)
        let hash = String(decoding: try Posix.readFile(work.sub("svc_1.0.roothash")), as: UTF8.self)
        XCTAssertEqual(halves(parts) + "\n", hash)
        // Disk end: the last usable LBA leaves exactly the backup array and
        // header (33 sectors) after it, in both.
        let size = Int(try Posix.lstat(signed).st_size)
        XCTAssertEqual(ours["lastlba"] as? Int, size / 512 - 34)
        XCTAssertEqual(size % 4096, 0)
        // (repart's recorded disk is 3912 sectors, 2002944 bytes: its lastlba
        // in the fixture is 3912 - 34 by the same rule.)
    }
}
