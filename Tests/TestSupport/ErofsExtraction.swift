import Foundation

/// `fsck.erofs --extract` of erofs-utils 1.9.3, made to work on images
/// with a packed inode (fragments).
///
/// fsck.erofs 1.9.3 cannot extract the root of such an image, mkfs.erofs's
/// own included: it checks the packed inode first with the code that
/// extracts files (`erofs_is_packed_inode` compares a path pointer that
/// only mkfs.erofs sets), writes it where the root directory must go, and
/// then fails ("path is not a directory", or "failed to verify packed
/// file" when the directory exists). So on such images each entry of the
/// root, as dump.erofs 1.9.3 lists it, is extracted on its own with
/// `--path`, over the copy of the packed inode that lands first at its
/// target (`--overwrite`); the root directory is made by hand.
public enum ErofsExtraction {
    /// Extracts `image` to `out` (which must not exist) with `fsck`;
    /// returns nil on success, else what the tool said.
    public static func extract(_ fsck: String, image: String, to out: String) throws -> String? {
        guard try hasFragments(image) else {
            let r = try Subprocess.run(fsck, ["--extract=" + out, image])
            return r.status == 0 ? nil : r.text
        }
        let dump = URL(fileURLWithPath: fsck).deletingLastPathComponent().appendingPathComponent("dump.erofs").path
        let listing = try Subprocess.run(dump, ["--ls", "--path=/", image])
        guard listing.status == 0 else { return "dump.erofs --ls: " + listing.text }
        var lines = listing.text.split(separator: "\n").map(String.init)
        guard let header = lines.firstIndex(where: { $0.contains("FILENAME") }) else { return "dump.erofs --ls: no listing" }
        lines.removeFirst(header + 1)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        for line in lines {
            guard let name = entryName(line), name != ".", name != ".." else { continue }
            let r = try Subprocess.run(fsck, ["--extract=" + out + "/" + name, "--overwrite", "--path=/" + name, image])
            if r.status != 0 { return "--path=/\(name): " + r.text }
        }
        return nil
    }

    /// The name in a line of dump.erofs's listing: the nid and the type
    /// right-aligned, two spaces, then the name as it is.
    static func entryName(_ line: String) -> String? {
        var rest = Substring(line)
        for _ in 0..<2 {
            rest = rest.drop { $0 == " " }
            guard let digit = rest.first, digit.isNumber else { return nil }
            rest = rest.drop { $0.isNumber }
        }
        guard rest.hasPrefix("  ") else { return nil }
        return String(rest.dropFirst(2))
    }

    /// The packed inode's size as dump.erofs (next to `fsck`) shows it
    /// (its superblock's packed nid, then that inode), nil without one.
    public static func packedSize(_ fsck: String, image: String) throws -> UInt64? {
        let dump = URL(fileURLWithPath: fsck).deletingLastPathComponent().appendingPathComponent("dump.erofs").path
        func field(_ text: String, _ name: String) -> UInt64? {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name) }) else { return nil }
            return UInt64(line.dropFirst(name.count).drop { $0 == " " }.prefix { $0.isNumber })
        }
        guard let nid = field(try Subprocess.run(dump, [image]).text, "Filesystem packed nid:"), nid > 0 else { return nil }
        return field(try Subprocess.run(dump, ["--nid=\(nid)", image]).text, "Size:")
    }

    /// Whether the superblock sets FRAGMENTS (feature_incompat 0x20).
    public static func hasFragments(_ image: String) throws -> Bool {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: image))
        defer { try? handle.close() }
        let head = handle.readData(ofLength: 1024 + 84)
        return head.count == 1024 + 84 && head[head.startIndex + 1024 + 80] & 0x20 != 0
    }
}
