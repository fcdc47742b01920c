import XCTest
import DiskImage
import Hex
@testable import Verity

/// mkportable derives a DDI's identifiers as systemd-repart does from its
/// `--seed`. Checked against what systemd-repart 257.9 (Debian 13) wrote
/// for `--seed=e2a40bf9-73f1-4278-9160-49c031e7aef8` (the run is described
/// in `RepartLayoutTests`): feeding repart's 16-byte seed to our
/// derivations must give repart's disk GUID, signature partition UUID,
/// verity salt and verity superblock UUID. (mkportable's own seed is the
/// 32-byte SHA-256 of the image's definition, as no seed is given.)
final class RepartDerivationTests: XCTestCase {
    let seed = GUID("e2a40bf9-73f1-4278-9160-49c031e7aef8")!.bytes

    func testDiskGUIDIsRepartsDerivation() {
        XCTAssertEqual(GUID(bytes: v4UUID(SHA256.hmac(key: seed, message: Array("disk-uuid".utf8)))).description,
                       "ef7f7ee2-47b3-4251-b1a1-09ea8bf12d5d")
    }

    func testVeritySaltAndUUIDAreRepartsDerivation() {
        let p = VerityParameters(seed: seed)
        XCTAssertEqual(hex(p.salt), "64677cd9b5340bcbb7f73ecb0cb03db408f8a5ac6a6e5e810f6a7754f052c952")
        XCTAssertEqual(hex(p.uuid), "ae9578dc39f14c399498f6d9311960d4")
    }

    func testSignaturePartitionUUIDIsRepartsDerivation() {
        let type = PartitionTypes.forSystem("x86_64")!.rootVeritySignature
        XCTAssertEqual(GUID(bytes: v4UUID(SHA256.hmac(key: seed, message: type.bytes))).description,
                       "069e49b5-87c9-463a-8cc0-8309d7d495c1")
    }
}
