import PortableService
import ImageReading

/// `inspect`'s two outputs: a summary for people, and JSON with every
/// entry (the schema in docs/inspect-diff.md; keys keep this order).
extension ImageReport {
    func text() -> String {
        let fs = image.fileSystem
        var lines = ["\(image.path): \(fs.format)" + (image.ddi.map { " in the \($0.root.name) partition of a DDI (bytes \($0.root.offset)..<\($0.root.offset + $0.root.size))" } ?? "")]
        for s in fs.settings { lines.append("  \(s.name): \(Self.text(s.value))") }
        let counts = EntryType.allCases.compactMap { t -> String? in
            let n = entries.filter { $0.type == t }.count
            return n == 0 ? nil : "\(n) \(t.rawValue)"
        }
        lines.append("  entries: \(entries.count) (\(counts.joined(separator: ", ")))")
        if !service.osRelease.isEmpty {
            lines.append("os-release:")
            for (k, v) in service.osRelease { lines.append("  \(k)=\(v)") }
        }
        if !service.units.isEmpty {
            lines.append("units: \(service.units.joined(separator: " "))")
            lines.append("  portablectl attach attaches (prefix \(service.prefix)): \(service.attached.isEmpty ? "none" : service.attached.joined(separator: " "))")
        }
        if !service.storePaths.isEmpty {
            lines.append("closure: \(service.storePaths.count) store paths")
            for p in service.storePaths { lines.append("  \(p)") }
        }
        lines.append("verity: \(verity.status): \(verity.detail)")
        if let signature {
            lines.append("signature: in \(signature.source), signed by \(signature.signer ?? "(no certificate in it)")")
        }
        // Names may hold control characters; each line stays one line.
        return lines.map { escapeForMessage($0) }.joined(separator: "\n")
    }

    static func text(_ value: SettingValue) -> String {
        switch value {
        case .number(let n): return "\(n)"
        case .text(let t): return t
        case .flag(let b): return b ? "yes" : "no"
        case .list(let l): return l.joined(separator: " ")
        }
    }

    static func json(_ value: SettingValue) -> JSONText {
        switch value {
        case .number(let n): return .number(Int64(clamping: n))
        case .text(let t): return .string(t)
        case .flag(let b): return .bool(b)
        case .list(let l): return .array(l.map { .string($0) })
        }
    }

    func json() -> JSONText {
        let fs = image.fileSystem
        var container: JSONText = .null
        if let ddi = image.ddi {
            container = .object([("type", .string("ddi")), ("partition", .string(ddi.root.name)),
                                 ("offset", .number(Int64(ddi.root.offset))), ("size", .number(Int64(ddi.root.size)))])
        }
        return .object([
            ("image", .string(image.path)),
            ("container", container),
            ("filesystem", .string(fs.format)),
            ("settings", .object(fs.settings.map { ($0.name, Self.json($0.value)) })),
            ("osRelease", .object(service.osRelease.map { ($0.key, .string($0.value)) })),
            ("units", .array(service.units.map { .string($0) })),
            ("attachedUnits", .array(service.attached.map { .string($0) })),
            ("storePaths", .array(service.storePaths.map { .string($0) })),
            ("verity", .object([("status", .string(verity.status)), ("detail", .string(verity.detail)),
                                ("signature", signature.map { .object([("source", .string($0.source)), ("signer", $0.signer.map(JSONText.string) ?? .null)]) } ?? .null)])),
            ("entries", .array(entries.map(entryJSON))),
        ])
    }

    func entryJSON(_ e: ImageEntry) -> JSONText {
        var m: [(String, JSONText)] = [
            ("path", .string(e.pathString)), ("type", .string(e.type.rawValue)),
            ("mode", .string(Self.octal(e.permissions))), ("uid", .number(Int64(e.uid))), ("gid", .number(Int64(e.gid))),
            ("mtime", .number(e.mtime)),
        ]
        switch e.type {
        case .file:
            m.append(("size", .number(Int64(clamping: e.size))))
            m.append(("sha256", .string(digests[e.pathString] ?? "")))
        case .symlink: m.append(("target", .string(String(decoding: e.target ?? [], as: UTF8.self))))
        case .char, .block:
            m.append(("major", .number(Int64(e.device?.major ?? 0))))
            m.append(("minor", .number(Int64(e.device?.minor ?? 0))))
        default: break
        }
        if e.linkCount > 1 && e.type != .directory { m.append(("links", .number(Int64(e.linkCount)))) }
        return .object(m)
    }

    static func octal(_ mode: UInt16) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
