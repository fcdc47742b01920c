import ImageReading

/// What an image holds as a portable service, found by systemd's rules:
/// the os-release (`/etc/os-release`, else `/usr/lib/os-release`, as
/// portablectl opens it), the unit files in the system unit search path
/// (the first of a name wins), which of them `portablectl attach IMAGE`
/// would attach (systemd's src/portable/portable.c: a name ending in
/// .service, .socket, .target, .timer or .path that starts with the
/// image's prefix followed by `-`, `.`, `@` or nothing; the prefix is the
/// image file's name up to its first `_`, else without `.raw`), and the
/// store paths under /nix/store.
struct ServiceFacts {
    var osRelease: [(key: String, value: String)]
    var units: [String]
    var attached: [String]
    var prefix: String
    var storePaths: [String]

    static let unitDirectories = ["/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
                                  "/usr/lib/systemd/system", "/lib/systemd/system"]
    static let unitSuffixes = [".service", ".socket", ".target", ".timer", ".path"]

    init(entries: [ImageEntry], imageName: String, read: (ImageEntry) throws -> [UInt8]) throws {
        let byPath = Dictionary(entries.map { ($0.pathString, $0) }, uniquingKeysWith: { a, _ in a })
        osRelease = []
        for candidate in ["/etc/os-release", "/usr/lib/os-release"] {
            if let e = byPath[candidate], e.type == .file, e.size <= 1 << 16 {
                osRelease = Self.parseOSRelease(String(decoding: try read(e), as: UTF8.self))
                break
            }
        }
        var seen: Set<String> = []
        units = []
        for directory in Self.unitDirectories {
            for e in entries where e.type == .file || e.type == .symlink {
                let path = e.pathString
                guard path.hasPrefix(directory + "/") else { continue }
                let name = String(path.dropFirst(directory.count + 1))
                if !name.contains("/"), seen.insert(name).inserted { units.append(name) }
            }
        }
        prefix = Self.imagePrefix(imageName)
        let prefix = self.prefix
        attached = units.filter { Self.attaches($0, prefix: prefix) }
        storePaths = entries.map(\.pathString).filter {
            $0.hasPrefix("/nix/store/") && !$0.dropFirst("/nix/store/".count).contains("/")
        }
    }

    static func imagePrefix(_ imageName: String) -> String {
        let base = imageName.split(separator: "/").last.map(String.init) ?? imageName
        if let underscore = base.firstIndex(of: "_") { return String(base[..<underscore]) }
        return base.hasSuffix(".raw") ? String(base.dropLast(4)) : base
    }

    static func attaches(_ unit: String, prefix: String) -> Bool {
        guard let dot = unit.lastIndex(of: "."), unitSuffixes.contains(String(unit[dot...])),
              unit.hasPrefix(prefix) else { return false }
        let after = unit.dropFirst(prefix.count).first
        return after == nil || after == "-" || after == "." || after == "@"
    }

    /// os-release(5): KEY=value lines; values may be quoted with " or ',
    /// and backslash escapes inside double quotes; # starts a comment.
    static func parseOSRelease(_ text: String) -> [(key: String, value: String)] {
        var out: [(key: String, value: String)] = []
        for line in text.split(separator: "\n") {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            guard !trimmed.hasPrefix("#"), let eq = trimmed.firstIndex(of: "=") else { continue }
            let key = String(trimmed[..<eq])
            var raw = trimmed[trimmed.index(after: eq)...]
            var value = ""
            if let quote = raw.first, quote == "\"" || quote == "'" {
                raw = raw.dropFirst()
                var escaped = false
                for c in raw {
                    if escaped { value.append(c); escaped = false; continue }
                    if c == "\\" && quote == "\"" { escaped = true; continue }
                    if c == quote { break }
                    value.append(c)
                }
            } else {
                value = String(raw)
            }
            out.append((key, value))
        }
        return out
    }
}
