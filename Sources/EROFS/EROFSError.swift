/// Every failure of the erofs writer: the bare problem in `message` and a
/// `kind` a caller handles or words in its own terms, so no caller parses
/// the message. The module knows no caller's option names: a refused
/// setting (`.invalidSetting`) carries the problem alone, and the command
/// that took the setting puts its own name in front.
import SourceTree

public struct EROFSError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        case other
        /// A setting (a compression string) is refused; `message` is the
        /// problem alone.
        case invalidSetting
        /// A system call failed with this errno.
        case io(Int32)
        /// A source file changed between the scan and its reading.
        case sourceChanged
        /// The tree cannot be written as erofs (a name too long, say).
        case unrepresentable
        /// The system refused a thread, with this errno.
        case resource(Int32)
        /// A buffer could not be had; the caller says how to ask for less.
        case outOfMemory
        /// An image being read breaks a rule of the format; `message` says
        /// where (the superblock, the inode or listing of which path) and
        /// what.
        case badImage
        /// An image being read uses what this reader does not read (an
        /// unknown incompatible feature, extra devices).
        case unsupportedImage
    }

    public var message: String
    public var kind: Kind

    public init(_ message: String, kind: Kind = .other) {
        self.message = message
        self.kind = kind
    }

    public var description: String { message }
}

extension EROFSError {
    /// A failure of the source tree (a file's reading), carried up whole.
    public init(_ e: SourceTreeError) {
        switch e.kind {
        case .other: self.init(e.message)
        case .io(let errno): self.init(e.message, kind: .io(errno.code))
        case .sourceChanged: self.init(e.message, kind: .sourceChanged)
        }
    }
}
