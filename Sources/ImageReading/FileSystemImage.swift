/// A value `inspect` shows about an image's file system.
public enum SettingValue: Sendable, Equatable {
    case number(UInt64)
    case text(String)
    case flag(Bool)
    case list([String])
}

/// A named setting or property of a file system (block size, compressor,
/// inode count), in the order a reader lists them.
public struct ImageSetting: Sendable, Equatable {
    public var name: String
    public var value: SettingValue
    public init(_ name: String, _ value: SettingValue) {
        self.name = name
        self.value = value
    }
}

/// A read-only file system image opened from a byte range of a file (a
/// whole file, or a partition of a disk image). Each format (squashfs,
/// erofs) has one reader conforming to this; the commands see only this.
///
/// A reader checks every count, offset, size and index it reads before
/// use, and throws its module's error with one line naming where the
/// image is bad. Readers may be used from several threads at once.
public protocol FileSystemImage: AnyObject, Sendable {
    /// "squashfs", "erofs".
    var format: String { get }
    /// The byte range the image was opened on.
    var range: ImageRange { get }
    /// The file system's settings and sizes, for `inspect`.
    var settings: [ImageSetting] { get }
    /// What must agree for equal stored chunk bytes to mean equal content
    /// (the compressor and its options).
    var storageCodec: String { get }
    /// Every entry, the root first, then sorted bytewise by path.
    func entries() throws -> [ImageEntry]
    /// How a file's content is stored, in file order; the lengths add up
    /// to the file's size.
    func chunks(of entry: ImageEntry) throws -> [StoredChunk]
    /// The chunk's bytes, decompressed (`length` of them).
    func contents(of chunk: StoredChunk) throws -> [UInt8]
}

extension FileSystemImage {
    /// Calls `visit` with a file's content, chunk by chunk, in order.
    public func readContents(of entry: ImageEntry, _ visit: ([UInt8]) throws -> Void) throws {
        for chunk in try chunks(of: entry) {
            try visit(try contents(of: chunk))
        }
    }
}
