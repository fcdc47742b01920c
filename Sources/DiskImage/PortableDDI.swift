/// The layout of a portable-service Discoverable Disk Image: a GPT disk
/// with the file system in `root`, its dm-verity hash tree in
/// `root-verity`, and room for a `root-verity-sig` partition that a
/// signer adds later.
///
/// Rule (UAPI discoverable_disk_image.md and discoverable partitions
/// specification; systemd-repart's choices where the spec leaves one):
/// - 512-byte sectors; first usable LBA 34 (right after the primary
///   entry array) and partitions on 4 KiB boundaries, so the root
///   partition starts at LBA 40 (20480 bytes), as systemd-repart 257
///   places it on a disk it creates;
/// - `root` and `root-verity` partitions exactly as large as the file
///   system and the hash tree, both flagged read-only (bit 60); the
///   signature partition is not flagged (repart flags only the partitions
///   that are mounted);
/// - the root partition's UUID is the first 128 bits of the root hash, the
///   verity partition's the last 128 bits (so the root hash alone finds
///   both);
/// - labels are the partition type names (`root-x86-64`,
///   `root-x86-64-verity`, `root-x86-64-verity-sig`), repart's defaults;
/// - the disk GUID is given (repart: HMAC-SHA256(seed, "disk-uuid") as a
///   v4 UUID; the caller chooses the seed);
/// - after the hash tree, 16 KiB are left free for the signature partition
///   (repart's size for it), then the backup GPT ends the disk, whose size
///   is rounded up to 4 KiB.
public struct PortableDDI: Sendable {
    public static let rootOffset: UInt64 = 20480
    public static let firstUsableLBA: UInt64 = 34
    public static let signatureSize: UInt64 = SignaturePartition.size

    public var types: PartitionTypes
    public var rootSize: UInt64
    public var veritySize: UInt64
    public var rootHash: [UInt8]
    public var diskGUID: GUID

    public init(types: PartitionTypes, rootSize: UInt64, veritySize: UInt64, rootHash: [UInt8], diskGUID: GUID) {
        precondition(rootSize % 4096 == 0 && veritySize % 4096 == 0 && rootHash.count == 32)
        self.types = types; self.rootSize = rootSize; self.veritySize = veritySize
        self.rootHash = rootHash; self.diskGUID = diskGUID
    }

    public var verityOffset: UInt64 { Self.rootOffset + rootSize }
    public var signatureOffset: UInt64 { verityOffset + veritySize }
    public var diskSize: UInt64 {
        let end = signatureOffset + Self.signatureSize + 33 * GPT.sectorSize
        return (end + 4095) / 4096 * 4096
    }

    public var rootUUID: GUID { GUID(bytes: Array(rootHash[0..<16])) }
    public var verityUUID: GUID { GUID(bytes: Array(rootHash[16..<32])) }

    static func lba(_ offset: UInt64) -> UInt64 { offset / GPT.sectorSize }

    /// The partition table; with `signatureUUID`, including the signature
    /// partition.
    public func gpt(signatureUUID: GUID? = nil) -> GPT {
        var parts = [
            GPTPartition(type: types.root, uuid: rootUUID, firstLBA: Self.lba(Self.rootOffset),
                         lastLBA: Self.lba(verityOffset) - 1, attributes: GPTPartition.readOnly, name: types.rootLabel),
            GPTPartition(type: types.rootVerity, uuid: verityUUID, firstLBA: Self.lba(verityOffset),
                         lastLBA: Self.lba(signatureOffset) - 1, attributes: GPTPartition.readOnly, name: types.rootVerityLabel),
        ]
        if let signatureUUID {
            parts.append(GPTPartition(type: types.rootVeritySignature, uuid: signatureUUID,
                                      firstLBA: Self.lba(signatureOffset),
                                      lastLBA: Self.lba(signatureOffset + Self.signatureSize) - 1,
                                      attributes: 0, name: types.rootVeritySignatureLabel))
        }
        return GPT(diskGUID: diskGUID, diskSize: diskSize, firstUsableLBA: Self.firstUsableLBA, partitions: parts)
    }
}
