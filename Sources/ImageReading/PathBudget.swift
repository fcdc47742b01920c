/// The rule on how many bytes of paths a reader's walk may build: at most
/// 64 MiB plus 16 times the image's length, all entries' paths together.
/// Every `ImageEntry` carries its whole path, so a deep directory holding
/// many names (or a long chain of long names) costs depth × names bytes
/// that the image need not hold: a few KiB of compressed metadata can name
/// gigabytes of paths. Trees within the rule are those of any real system
/// (200,000 files with 100-byte paths are 20 MB; an image holds 16 times
/// more path bytes than its own only where empty files sit in directories
/// kilobytes deep); a walk past it stops before building the paths rather
/// than exhausting memory.
public struct PathBudget: Sendable {
    public let limit: UInt64
    public private(set) var used: UInt64 = 0

    public init(imageLength: UInt64) {
        let (scaled, overflow) = imageLength.multipliedReportingOverflow(by: 16)
        limit = overflow ? .max : scaled.addingReportingOverflow(64 << 20).partialValue
    }

    /// Counts a path of `bytes` bytes; false when it is over the limit
    /// (the caller refuses the image with `explanation`).
    public mutating func take(_ bytes: Int) -> Bool {
        guard UInt64(bytes) <= limit - used else { return false }
        used += UInt64(bytes)
        return true
    }

    /// What the refusal says, after the directory it stopped in.
    public var explanation: String {
        "the entries' paths need more than \(limit) bytes (64 MiB plus 16 times the image's length); a tree this deep and wide is not listed"
    }
}
