/// Every failure of the writer: one line that says what is wrong, where,
/// and how to fix it.
public struct SquashFSError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
