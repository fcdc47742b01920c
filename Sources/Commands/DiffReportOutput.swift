import PortableService
import ImageReading
import SquashFS

/// `diff`'s two outputs: lines for people (the first one a summary a
/// build log can show), and JSON (schema in docs/inspect-diff.md).
extension DiffReport {
    func text() -> String {
        guard let offset = firstByte, let tree else { return "\(pathA) and \(pathB) are identical" }
        var lines: [String] = []
        if tree.sameContent {
            lines.append("\(pathA) and \(pathB) differ, but their trees are the same (paths, types, modes, owners, sizes, contents, link targets, devices); the encoding differs:")
            lines += encoding.map { "  \($0.kind): \($0.detail)" }
            if encoding.isEmpty { lines.append("  (no difference in settings, time stamps, data or tables was found)") }
        } else {
            lines.append("\(pathA) and \(pathB) differ: \(tree.differences.count) difference\(tree.differences.count == 1 ? "" : "s") in the tree")
            lines += tree.differences.map { "  " + Self.describe($0) }
            if !encoding.isEmpty {
                lines.append("encoding:")
                lines += encoding.map { "  \($0.kind): \($0.detail)" }
            }
        }
        lines.append("first differing byte: \(offset); in A \(whereA); in B \(whereB)")
        if let next = beyondSuperblock {
            lines.append("first differing byte after the superblock: \(next.offset); in A \(next.a); in B \(next.b)")
        }
        // Names may hold control characters; each line stays one line.
        return lines.map { escapeForMessage($0) }.joined(separator: "\n")
    }

    static func describe(_ d: TreeDifference) -> String {
        switch d.kind {
        case .added: return "\(d.path): added (\(d.b ?? "?"))"
        case .removed: return "\(d.path): removed (\(d.a ?? "?"))"
        case .content: return "\(d.path): content differs from byte \(d.offset ?? 0)"
        default: return "\(d.path): \(d.kind.rawValue) \(d.a ?? "none") -> \(d.b ?? "none")"
        }
    }

    func json() -> JSONText {
        guard let offset = firstByte, let tree else {
            return .object([("a", .string(pathA)), ("b", .string(pathB)), ("identical", .bool(true)), ("sameContent", .bool(true)),
                            ("differences", .array([])), ("encoding", .array([])), ("firstDifference", .null),
                            ("firstDifferenceAfterSuperblock", .null)])
        }
        let differences = tree.differences.map { d -> JSONText in
            var m: [(String, JSONText)] = [("path", .string(d.path)), ("kind", .string(d.kind.rawValue))]
            if let a = d.a { m.append(("a", .string(a))) }
            if let b = d.b { m.append(("b", .string(b))) }
            if let o = d.offset { m.append(("offset", .number(Int64(clamping: o)))) }
            return .object(m)
        }
        return .object([
            ("a", .string(pathA)), ("b", .string(pathB)),
            ("identical", .bool(false)), ("sameContent", .bool(tree.sameContent)),
            ("differences", .array(differences)),
            ("encoding", .array(encoding.map { .object([("kind", .string($0.kind)), ("detail", .string($0.detail))]) })),
            ("firstDifference", .object([("offset", .number(Int64(clamping: offset))), ("a", .string(whereA)), ("b", .string(whereB))])),
            ("firstDifferenceAfterSuperblock", beyondSuperblock.map {
                .object([("offset", .number(Int64(clamping: $0.offset))), ("a", .string($0.a)), ("b", .string($0.b))])
            } ?? .null),
        ])
    }
}
