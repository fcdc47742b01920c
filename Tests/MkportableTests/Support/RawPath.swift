import Foundation

/// A path or name as raw bytes. POSIX names need not be UTF-8, so every
/// helper in Support keeps paths as bytes and only renders them (escaped)
/// for messages.
///
/// Relative manifest paths use "/" between components and the empty path
/// for the root of a tree.
public struct RawPath: Hashable, Comparable, ExpressibleByStringLiteral, CustomStringConvertible, Sendable {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { self.bytes = Array(string.utf8) }
    public init(stringLiteral value: String) { self.init(value) }

    public static let root = RawPath([UInt8]())

    public var isRoot: Bool { bytes.isEmpty }

    /// `self/component`, or `component` when self is the root.
    public func appending(_ component: RawPath) -> RawPath {
        if bytes.isEmpty { return component }
        if component.bytes.isEmpty { return self }
        if bytes.last == UInt8(ascii: "/") { return RawPath(bytes + component.bytes) }
        return RawPath(bytes + [UInt8(ascii: "/")] + component.bytes)
    }

    public static func + (lhs: RawPath, rhs: RawPath) -> RawPath { lhs.appending(rhs) }

    public var components: [RawPath] {
        bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map { RawPath(Array($0)) }
    }

    /// Last component ("" for the root).
    public var lastComponent: RawPath { components.last ?? .root }

    /// Everything before the last component (the root for top-level names).
    public var parent: RawPath {
        let c = components
        guard c.count > 1 else { return .root }
        return RawPath(Array(c.dropLast().map(\.bytes).joined(separator: [UInt8(ascii: "/")])))
    }

    public var depth: Int { components.count }

    /// The bytes as a String when they are valid UTF-8.
    public var utf8String: String? { String(validating: bytes, as: UTF8.self) }

    /// For APIs that take a String path (Foundation, Process): only valid
    /// for UTF-8 paths, which is what temporary directories are.
    public var string: String {
        guard let s = utf8String else { preconditionFailure("path is not UTF-8: \(self)") }
        return s
    }

    /// Bytewise order, the order squashfs sorts directory entries in.
    public static func < (a: RawPath, b: RawPath) -> Bool {
        let n = min(a.bytes.count, b.bytes.count)
        for i in 0..<n where a.bytes[i] != b.bytes[i] { return a.bytes[i] < b.bytes[i] }
        return a.bytes.count < b.bytes.count
    }

    /// Printable rendering: "." for the root, printable UTF-8 kept, every
    /// other byte as \xNN; long runs of one character are abbreviated so a
    /// 4000-byte name stays readable in a failure message.
    public var description: String {
        if bytes.isEmpty { return "." }
        return RawPath.render(bytes)
    }

    public static func render(_ bytes: [UInt8], abbreviate: Bool = true) -> String {
        var out = ""
        var i = 0
        while i < bytes.count {
            // Abbreviate runs of the same byte longer than 16.
            if abbreviate {
                var j = i
                while j < bytes.count && bytes[j] == bytes[i] { j += 1 }
                if j - i > 16 {
                    out += render([bytes[i]], abbreviate: false) + "{×\(j - i)}"
                    i = j
                    continue
                }
            }
            let b = bytes[i]
            if b >= 0x20 && b < 0x7f && b != UInt8(ascii: "\\") {
                out.unicodeScalars.append(Unicode.Scalar(b))
                i += 1
                continue
            }
            if b >= 0x80 {
                // Try to decode one UTF-8 scalar.
                let len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1
                if len > 1 && i + len <= bytes.count,
                   let s = String(validating: bytes[i..<i + len], as: UTF8.self) {
                    out += s
                    i += len
                    continue
                }
            }
            out += b == UInt8(ascii: "\\") ? "\\\\" : String(format: "\\x%02x", b)
            i += 1
        }
        return out
    }
}
