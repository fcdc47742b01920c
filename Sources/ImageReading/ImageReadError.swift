/// Every failure of this module: reading a byte range of an image file.
/// `kind` says what the caller may handle; `message` is the bare problem
/// (the format reader that asked for the bytes says where in the image).
public struct ImageReadError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// A system call failed with this errno.
        case io(Int32)
        /// The bytes asked for lie (partly) outside the range.
        case outOfRange
    }

    public var kind: Kind
    public var message: String

    public init(_ message: String, kind: Kind) {
        self.message = message
        self.kind = kind
    }

    public var description: String { message }
}
