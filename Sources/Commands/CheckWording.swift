import DiskImage
import SystemIO
import Verity

/// How `sign` and `verify` word what Verity and DiskImage report: the file
/// it is about, the module's bare problem, and what it means for the user.
extension CheckFailure {
    /// A problem found checking the data `image` against the tree named
    /// `tree` (a `.verity` file, or a DDI's partition); `notThis` says what
    /// a tree of another size means there.
    static func verity(_ e: VerityError, image: String, tree: String,
                       notThis: String = "the hash tree is not this image's") -> CheckFailure {
        switch e.kind {
        case .dataSize:
            return CheckFailure(message: "\(image): \(e.message); the image was truncated or changed (pack pads every image to 4 KiB)")
        case .coverage:
            return CheckFailure(message: "\(tree): \(e.message); \(notThis)")
        case .superblock:
            return CheckFailure(message: "\(tree): \(e.message); the hash tree is damaged or not a tree of this image")
        case .hashTreeSize:
            return CheckFailure(message: "\(tree): \(e.message); the hash tree was changed or truncated")
        case .dataBlock:
            return CheckFailure(message: "\(image): \(e.message) in \(tree): the image was changed after it was built; do not attach it")
        case .hashTree:
            return CheckFailure(message: "\(tree): \(e.message); the image or its hash tree was changed; do not attach it")
        case .read(let code) where code != 0:
            return CheckFailure(message: "\(image): \(e.message) (\(Errno(code)))")
        case .read:
            return CheckFailure(message: "\(image): \(e.message); the image was truncated")
        case .rootHash, .keyOrCertificate, .signature:
            return CheckFailure(message: "\(image): \(e.message)")
        }
    }

    /// A problem DiskImage found in the disk `path`.
    static func disk(_ e: DiskImageError, path: String) -> CheckFailure {
        switch e.kind {
        case .read(let code) where code != 0:
            return CheckFailure(message: "\(path): \(e.problem) (\(Errno(code)))")
        case .read:
            return CheckFailure(message: "\(path): \(e.problem); the image was truncated")
        case .protectiveMBR, .partitionTable, .partitionBounds, .gap:
            return CheckFailure(message: "\(path): \(e.problem); the partition table is damaged or the image was changed; do not attach it")
        case .partitionSet:
            return CheckFailure(message: "\(path): \(e.problem); not a portable DDI as mkportable pack --ddi writes it; do not attach it")
        case .signaturePartition:
            return CheckFailure(message: "\(path): \(e.problem); sign the image again with mkportable sign")
        }
    }
}
