/// The rule on how many bytes of file content a reader's walk may list:
/// the distinct regular files (hard links counted once) together hold at
/// most 65536 times the image's length. Inodes may share blocks (squashfs
/// duplicates, erofs pclusters), fragments or holes (sparse blocks,
/// chunk holes), so no structure bounds their sizes: without this rule a
/// 4 KiB image of one sparse 100 GiB file, or many inodes naming one block,
/// asks `inspect` to hash and `diff` to compare that many bytes.
public struct FileBytesBudget: Sendable {
    public let imageLength: UInt64
    public let limit: UInt64
    public private(set) var total: UInt64 = 0
    private var counted: Set<UInt64> = []

    public init(imageLength: UInt64) {
        self.imageLength = imageLength
        let (product, overflow) = imageLength.multipliedReportingOverflow(by: 65536)
        limit = overflow ? .max : product
    }

    /// Counts the file `id` (an inode's number or reference) of `size`
    /// bytes, once; false when the files are over the limit (the caller
    /// refuses the image with `explanation`).
    public mutating func take(id: UInt64, size: UInt64) -> Bool {
        guard counted.insert(id).inserted else { return true }
        guard size <= limit - total else { return false }
        total += size
        return true
    }

    /// What the refusal says, after "the image's files".
    public var explanation: String {
        "they hold more than 65536 times the image's \(imageLength) bytes (inodes sharing blocks, fragments or holes); such an image is not read"
    }
}
