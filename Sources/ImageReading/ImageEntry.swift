/// The type of a file system entry, as `inspect --json` names it.
public enum EntryType: String, Sendable, CaseIterable {
    case file, directory, symlink, char, block, fifo, socket
}

/// One entry of an image's tree, whatever the file system: what a user
/// sees through a mount. Paths are absolute inside the image ("/" is the
/// root) and kept as bytes, since names need not be UTF-8.
public struct ImageEntry: Sendable {
    public var path: [UInt8]
    public var type: EntryType
    /// The permission bits, 0o7777.
    public var permissions: UInt16
    public var uid: UInt32
    public var gid: UInt32
    /// Files: the content's length. Symlinks: the target's length.
    /// Others: 0.
    public var size: UInt64
    /// Symlinks only.
    public var target: [UInt8]?
    /// Character and block devices only: (major, minor).
    public var device: (major: UInt32, minor: UInt32)?
    /// Modification time, seconds since the epoch.
    public var mtime: Int64
    /// The inode number inside the image; entries sharing one are hard
    /// links.
    public var inodeNumber: UInt32
    public var linkCount: UInt32
    /// Where the format reader finds the entry again (squashfs: the inode
    /// reference); meaningful to that reader only.
    public var handle: UInt64

    public init(path: [UInt8], type: EntryType, permissions: UInt16, uid: UInt32, gid: UInt32, size: UInt64,
                target: [UInt8]?, device: (major: UInt32, minor: UInt32)?, mtime: Int64, inodeNumber: UInt32,
                linkCount: UInt32, handle: UInt64) {
        self.path = path
        self.type = type
        self.permissions = permissions
        self.uid = uid
        self.gid = gid
        self.size = size
        self.target = target
        self.device = device
        self.mtime = mtime
        self.inodeNumber = inodeNumber
        self.linkCount = linkCount
        self.handle = handle
    }

    public var pathString: String { String(decoding: path, as: UTF8.self) }
}
