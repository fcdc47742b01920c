/// A verity problem: what kind, and the bare problem in one line (no
/// file name, no advice; the caller words those).
public struct VerityError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The data is not a whole, non-zero number of 4 KiB blocks.
        case dataSize
        /// The tree covers another number of blocks than the data has.
        case coverage
        /// The hash device does not start with a superblock this module
        /// could have written, or one that counts an impossible number of
        /// blocks.
        case superblock
        /// The hash device is too small (or, where it must be exact, too
        /// large) for the tree its superblock announces.
        case hashTreeSize
        /// A data block does not match its hash in the tree.
        case dataBlock(UInt64)
        /// The stored tree differs from the recomputed one at this byte
        /// (somewhere other than the data blocks' hashes).
        case hashTree(at: Int)
        /// The root hash is not the expected one, or a root hash text is
        /// not a root hash.
        case rootHash
        /// Reading the data or the tree failed (`errno`), or it ended early (0).
        case read(errno: Int32)
        /// A key or certificate cannot be used, or they do not belong together.
        case keyOrCertificate
        /// A signature is not one, or does not verify.
        case signature
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
