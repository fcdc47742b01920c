/// A problem with a disk image: what kind, and the bare problem (no path,
/// no advice; the caller words those).
public struct DiskImageError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Reading the disk failed (`errno`), or it ended early (0).
        case read(errno: Int32)
        /// LBA 0 is not the protective MBR a GPT disk must have.
        case protectiveMBR
        /// A GPT header, or an entry array, is damaged or disagrees with
        /// the disk or the other copy.
        case partitionTable
        /// A partition lies outside the usable sectors or over another.
        case partitionBounds
        /// Bytes outside every partition and table are not zero.
        case gap
        /// The partitions are not those of a portable DDI (root,
        /// root-verity, optionally root-verity-sig, of one architecture).
        case partitionSet
        /// The root-verity-sig partition's content is not what `sign`
        /// writes, or would not fit.
        case signaturePartition
    }

    public var kind: Kind
    public var problem: String

    public init(_ kind: Kind, _ problem: String) {
        self.kind = kind
        self.problem = problem
    }

    public var description: String { problem }
}
