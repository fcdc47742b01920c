import Hex

/// A GPT GUID. Held as the 16 bytes of its text form, in text order (as
/// systemd's sd_id128 holds it); GPT stores the first three fields
/// little-endian ("mixed endian"), which `diskBytes` gives.
public struct GUID: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16)
        self.bytes = bytes
    }

    /// From `4f68bce3-e8cd-4db1-96e7-fbcaf984b709`: five groups of 8, 4,
    /// 4, 4 and 12 hex digits (either case) joined by `-`; nil otherwise.
    public init?(_ text: String) {
        let groups = text.split(separator: "-", omittingEmptySubsequences: false)
        guard groups.map(\.utf8.count) == [8, 4, 4, 4, 12],
              let b = unhex(Substring(groups.joined())) else { return nil }
        bytes = b
    }

    /// From the 16 bytes GPT stores.
    public init(diskBytes d: ArraySlice<UInt8>) {
        bytes = Self.swapMixedEndian(Array(d))
    }

    public var diskBytes: [UInt8] { Self.swapMixedEndian(bytes) }

    /// Text order <-> GPT order: the first three fields (4, 2 and 2 bytes)
    /// reversed, the last 8 bytes as they are. Its own inverse.
    private static func swapMixedEndian(_ b: [UInt8]) -> [UInt8] {
        precondition(b.count == 16)
        return [b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6]] + b[8..<16]
    }

    public var description: String {
        let h = Array(hex(bytes))
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(h[$0]) }.joined(separator: "-")
    }

    public static let zero = GUID(bytes: [UInt8](repeating: 0, count: 16))
}
