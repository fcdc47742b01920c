/// The partitions of a portable-service DDI, found in its GPT.
///
/// Rule (UAPI Discoverable Partitions Specification, portable services;
/// what systemd's dissection would mount): exactly one `root` partition
/// of a known architecture, exactly one `root-verity` of the same
/// architecture, at most one `root-verity-sig` of it, and nothing else (a
/// `var`, `srv`, `home` or any other partition would be mounted or read
/// unverified). Root and verity carry exactly the read-only flag (bit 60),
/// the signature partition no flag, as `PortableDDI` writes them (and
/// systemd-repart does): no `no-auto` (bit 63) that would make systemd
/// skip a partition, no `growfs`.
public struct DDIPartitions: Sendable {
    public var gpt: GPT
    public var types: PartitionTypes
    public var root: GPTPartition
    public var verity: GPTPartition
    public var signature: GPTPartition?

    /// The portable DDI's partitions in `gpt`.
    public static func find(in gpt: GPT) throws(DiskImageError) -> DDIPartitions {
        let roots = gpt.partitions.filter { PartitionTypes.containing($0.type)?.root == $0.type }
        guard let root = roots.first, let types = PartitionTypes.containing(root.type) else {
            throw DiskImageError(.partitionSet, "the GPT has no root partition of a known architecture")
        }
        guard roots.count == 1 else {
            throw DiskImageError(.partitionSet, "the GPT has \(roots.count) root partitions (\(roots.map(\.displayName).joined(separator: ", "))); a portable DDI has one")
        }
        let expected: [(GUID, UInt64)] = [(types.root, GPTPartition.readOnly), (types.rootVerity, GPTPartition.readOnly),
                                          (types.rootVeritySignature, 0)]
        for (i, p) in gpt.partitions.enumerated() {
            guard let flags = expected.first(where: { $0.0 == p.type })?.1 else {
                throw DiskImageError(.partitionSet, "partition \(p.displayName) (type \(p.type)) is not part of a portable DDI, which holds only \(types.rootLabel), \(types.rootVerityLabel) and \(types.rootVeritySignatureLabel)")
            }
            guard !gpt.partitions[..<i].contains(where: { $0.type == p.type }) else {
                throw DiskImageError(.partitionSet, "more than one partition of type \(p.type); systemd refuses such a disk")
            }
            guard p.attributes == flags else {
                throw DiskImageError(.partitionSet, "partition \(p.displayName) has attribute flags 0x\(String(p.attributes, radix: 16)), not 0x\(String(flags, radix: 16)) as a portable DDI's")
            }
        }
        guard let verity = gpt.partitions.first(where: { $0.type == types.rootVerity }) else {
            throw DiskImageError(.partitionSet, "the GPT has no \(types.rootVerityLabel) partition, so no hash tree")
        }
        return DDIPartitions(gpt: gpt, types: types, root: root, verity: verity,
                             signature: gpt.partitions.first { $0.type == types.rootVeritySignature })
    }

    /// Reads the disk of `size` bytes open in `fd`: nil if it holds no GPT
    /// (no "EFI PART" at LBA 1), else its portable DDI's partitions, once
    /// the MBR, both GPTs, the partition set and the gaps have been checked
    /// (`GPT.read`, `find`, `checkGaps`).
    public static func read(fd: Int32, size: UInt64) throws(DiskImageError) -> DDIPartitions? {
        let headCount = Int(min(size, UInt64(GPT.headSize)))
        let head = try DiskReader.read(fd, at: 0, count: headCount)
        guard GPT.isPresent(head: head) else { return nil }
        guard size >= UInt64(GPT.headSize + GPT.tailSize) else {
            throw DiskImageError(.partitionTable, "the disk is \(size) bytes, too small to hold both GPTs")
        }
        let tail = try DiskReader.read(fd, at: size - UInt64(GPT.tailSize), count: GPT.tailSize)
        let gpt = try GPT.read(head: head, tail: tail, diskSize: size)
        let found = try find(in: gpt)
        try checkGaps(fd, gpt: gpt)
        return found
    }

    /// Rule: every byte between the primary entry array and the backup one
    /// that no partition holds is zero, as `PortableDDI` leaves it; no
    /// other partition table or file system can hide there.
    static func checkGaps(_ fd: Int32, gpt: GPT) throws(DiskImageError) {
        var at = UInt64(GPT.headSize)
        for p in gpt.partitions.sorted(by: { $0.firstLBA < $1.firstLBA }) + [nil] {
            let end = p?.offset ?? gpt.tailOffset
            while at < end {
                let n = Int(min(end - at, 1 << 16))
                let bytes = try DiskReader.read(fd, at: at, count: n)
                if let i = bytes.firstIndex(where: { $0 != 0 }) {
                    throw DiskImageError(.gap, "byte \(at + UInt64(i)), outside every partition, is not zero")
                }
                at += UInt64(n)
            }
            if let p { at = p.offset + p.size }
        }
    }
}

extension DDIPartitions {
    /// The table with a `root-verity-sig` partition of `SignaturePartition.size`
    /// bytes right after root-verity (replacing one there was), as
    /// `PortableDDI` leaves room for and repart places it; nil if that
    /// space is not free.
    public func addingSignature(uuid: GUID) -> (gpt: GPT, partition: GPTPartition)? {
        var gpt = gpt
        gpt.partitions.removeAll { $0.type == types.rootVeritySignature }
        let start = verity.lastLBA + 1
        let last = start + SignaturePartition.size / GPT.sectorSize - 1
        guard last <= gpt.lastUsableLBA, !gpt.partitions.contains(where: { $0.lastLBA >= start && $0.firstLBA <= last }) else { return nil }
        let p = GPTPartition(type: types.rootVeritySignature, uuid: uuid, firstLBA: start, lastLBA: last,
                             attributes: 0, name: types.rootVeritySignatureLabel)
        gpt.partitions.append(p)
        return (gpt, p)
    }
}
