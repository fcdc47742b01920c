/// The superblock's feature_incompat bits. A kernel refuses to mount an
/// image with a bit it does not know, and so must a reader. The writer
/// sets zeroPadding, compressionConfigs/bigPcluster, ztailpacking and
/// fragments (Linux 6.1).
struct IncompatibleFeatures: OptionSet {
    let rawValue: UInt32

    /// Compressed data is right-aligned in its physical cluster, zeros
    /// before it (the reader skips them to find the compressed length).
    static let zeroPadding = IncompatibleFeatures(rawValue: 0x01)
    /// Per-algorithm configuration records follow the superblock.
    static let compressionConfigs = IncompatibleFeatures(rawValue: 0x02)
    /// Physical clusters of more than one block (the same bit: big
    /// pclusters came with the configuration records).
    static let bigPcluster = IncompatibleFeatures(rawValue: 0x02)
    static let chunkedFiles = IncompatibleFeatures(rawValue: 0x04)
    /// The device table, and compressed heads of the second algorithm.
    static let deviceTableOrHead2 = IncompatibleFeatures(rawValue: 0x08)
    /// A compressed file's last pcluster may be inline after its index.
    static let ztailpacking = IncompatibleFeatures(rawValue: 0x10)
    /// Fragments in the packed inode, and deduplicated extents.
    static let fragments = IncompatibleFeatures(rawValue: 0x20)
    static let xattrPrefixes = IncompatibleFeatures(rawValue: 0x40)
    static let wide48Bit = IncompatibleFeatures(rawValue: 0x80)
    static let metabox = IncompatibleFeatures(rawValue: 0x100)

    /// Every bit the reader knows, and those of them it does not read.
    static let known = IncompatibleFeatures(rawValue: 0x1FF)
    static let unread: IncompatibleFeatures = [.wide48Bit, .metabox]

    static let allNames: [(IncompatibleFeatures, String)] = [
        (.zeroPadding, "zero-padding"), (.compressionConfigs, "compression-configs/big-pcluster"),
        (.chunkedFiles, "chunked-files"), (.deviceTableOrHead2, "device-table/compressed-head2"),
        (.ztailpacking, "ztailpacking"), (.fragments, "fragments/dedupe"), (.xattrPrefixes, "xattr-prefixes"),
        (.wide48Bit, "48bit"), (.metabox, "metabox"),
    ]

    var names: [String] { Self.allNames.filter { contains($0.0) }.map(\.1) }
}
