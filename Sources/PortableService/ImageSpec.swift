/// Everything an image is made of, as a plain value: what the derivation's
/// attributes asked for, already checked and typed (the compressor, the
/// block size and the output form included), so a bad value fails where it
/// is read. `Attrs.swift` makes one from the
/// attributes JSON; `Layout.swift` turns one into a file tree. Nothing here
/// touches the file system.
public struct ImageSpec: Sendable, Equatable {
    public struct Unit: Sendable, Equatable {
        /// The file name under /etc/systemd/system.
        public var name: String
        /// Where the unit file is on disk (a store path, read in place).
        public var path: String

        public init(name: String, path: String) {
            self.name = name
            self.path = path
        }
    }

    public struct Symlink: Sendable, Equatable {
        /// Where the link goes in the image, as components below the root
        /// (`["bin", "sh"]` for `/bin/sh`).
        public var path: [String]
        /// What the link points to, exactly as given (`object`).
        public var target: String

        public init(path: [String], target: String) {
            self.path = path
            self.target = target
        }
    }

    public var pname: String
    public var version: String
    public var units: [Unit]
    public var osRelease: OSRelease
    public var symlinks: [Symlink]
    /// The store directory the closure lives in, e.g. `/nix/store`.
    public var storeDir: String
    /// Every store path of the closure, sorted and unique. The image's store
    /// holds exactly these.
    public var storePaths: [String]
    /// `squash-compression` and `squash-block-size` (for erofs, their
    /// defaults, unused).
    public var squash: SquashSettings
    /// `filesystem` and, for erofs, `erofs-compression`.
    public var fileSystem: ImageFileSystem
    /// `verity`, `format` and the system (a DDI's partition types).
    public var output: OutputForm

    public init(
        pname: String, version: String, units: [Unit], osRelease: OSRelease,
        symlinks: [Symlink], storeDir: String, storePaths: [String],
        squash: SquashSettings, fileSystem: ImageFileSystem = .squashfs, output: OutputForm = .plain
    ) {
        self.pname = pname
        self.version = version
        self.units = units
        self.osRelease = osRelease
        self.symlinks = symlinks
        self.storeDir = storeDir
        self.storePaths = storePaths
        self.squash = squash
        self.fileSystem = fileSystem
        self.output = output
    }

    /// The image's file name, `${pname}_${version}.raw`: the portable
    /// services spec reads the part before `_` as the image name and the
    /// `.raw` suffix as the image type.
    public var imageFileName: String { "\(pname)_\(version).raw" }
}

/// Store path arithmetic on strings. A store path is `STOREDIR/NAME` where
/// NAME is `HASH-name`, HASH being 32 base-32 characters.
public enum StorePath {
    public static let defaultStoreDir = "/nix/store"
    static let hashLength = 32
    static let base32 = Array("0123456789abcdfghijklmnpqrsvwxyz".utf8)

    /// The name of `path` if it is a store path itself (not something inside
    /// one): `/nix/store/abc…-hello` → `abc…-hello`.
    public static func name(ofRoot path: String, storeDir: String) -> String? {
        guard let rest = below(storeDir, path) else { return nil }
        let name = String(decoding: rest, as: UTF8.self)
        return isValidName(name) ? name : nil
    }

    /// The bytes of `path` after `storeDir/`, or nil if it does not start
    /// so. Bytes, not `String.hasPrefix`, which compares by canonical
    /// equivalence and by whole characters (a combining mark after `/`
    /// makes "/" + mark one character).
    static func below(_ storeDir: String, _ path: String) -> ArraySlice<UInt8>? {
        let p = Array(path.utf8), s = Array(storeDir.utf8)
        guard p.count > s.count + 1, p.starts(with: s), p[s.count] == UInt8(ascii: "/") else { return nil }
        return p[(s.count + 1)...]
    }

    /// The store path that contains `path` (`/nix/store/abc…-x/bin/y` →
    /// `/nix/store/abc…-x`), or nil if `path` is not in the store.
    public static func root(of path: String, storeDir: String) -> String? {
        guard let rest = below(storeDir, path) else { return nil }
        let name = String(decoding: rest.prefix(while: { $0 != UInt8(ascii: "/") }), as: UTF8.self)
        return isValidName(name) ? storeDir + "/" + name : nil
    }

    /// `abc…-hello` → `hello`.
    public static func nameWithoutHash(_ name: String) -> String {
        let bytes = Array(name.utf8)
        guard bytes.count > hashLength + 1, bytes[hashLength] == UInt8(ascii: "-") else { return name }
        return String(decoding: bytes[(hashLength + 1)...], as: UTF8.self)
    }

    /// A store path name as Nix makes them: 32 base-32 hash characters, `-`,
    /// then a non-empty name of `A-Z a-z 0-9 + - . _ ? =` not starting
    /// with `.`.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard bytes.count > hashLength + 1, bytes[hashLength] == UInt8(ascii: "-") else { return false }
        for b in bytes[..<hashLength] where !base32.contains(b) { return false }
        let rest = bytes[(hashLength + 1)...]
        if rest.first == UInt8(ascii: ".") { return false }
        for b in rest {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                continue
            case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "?"), UInt8(ascii: "="):
                continue
            default:
                return false
            }
        }
        return true
    }

    /// Checks a store directory such as `/nix/store`: absolute, no empty,
    /// `.` or `..` components, no trailing slash.
    public static func isValidStoreDir(_ dir: String) -> Bool {
        let b = Array(dir.utf8)
        guard b.first == UInt8(ascii: "/"), b.count > 1, b.last != UInt8(ascii: "/") else { return false }
        for c in b.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            if c.isEmpty || Array(c) == Array(".".utf8) || Array(c) == Array("..".utf8) || c.contains(0) { return false }
        }
        return true
    }
}
