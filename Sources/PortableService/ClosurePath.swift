#if canImport(Glibc)
import Glibc
#endif

/// Where a path the builder reads for the image really leads.
///
/// The rule: every file the builder reads (a unit) or points the image at
/// (a symlink object in the store) must, with every symlink on the way
/// followed one link at a time and every `..` applied to the path reached
/// so far, be a place inside a store path of the closure. A link to an
/// absolute path outside the store, a relative link or a `..` that climbs
/// out of the store, and a link into a store path that is not in the
/// closure are refused, without looking at (or even stat-ing) where they
/// point: outside the sandbox (`mkportable build`, or `sandbox = false`)
/// that could be the host's /etc/shadow.
///
/// Nothing outside the store directory is ever touched: the walk starts
/// at the store directory and only ever lstat()s and readlink()s paths
/// below it, inside store paths of the closure. Names are compared as
/// bytes.
///
/// Closure paths themselves need no walk: the scanner reads them with
/// lstat and never follows a link (a store path that is a symlink is
/// packed as one).
public enum ClosurePath {
    public enum Outcome: Equatable, Sendable {
        /// It leads to `path` (no symlink in it), inside the closure.
        case inside(path: String)
        /// It leads, inside the closure, to `path`, which does not exist.
        /// `firstLink` is the target of the first symlink followed, if any.
        case missing(path: String, firstLink: String?)
        /// It leads out of the closure; `why` says where and how.
        case outside(why: String)
    }

    /// The kernel's limit on symlinks followed in one lookup (MAXSYMLINKS).
    static let maxLinks = 40

    /// The closure's store path names, made once for many `resolve` calls
    /// (a closure can hold 300,000 paths).
    public struct Closure: Sendable {
        let storeDir: String
        let names: Set<[UInt8]>
        public init(storeDir: String, paths: some Sequence<String>) {
            self.storeDir = storeDir
            names = Set(paths.compactMap { StorePath.name(ofRoot: $0, storeDir: storeDir).map { Array($0.utf8) } })
        }
    }

    public static func resolve(_ path: String, storeDir: String, closure: Set<String>) -> Outcome {
        resolve(path, in: Closure(storeDir: storeDir, paths: closure))
    }

    public static func resolve(_ path: String, in closure: Closure) -> Outcome {
        let store = Array(closure.storeDir.utf8)
        let bytes = Array(path.utf8)
        guard bytes.count > store.count, bytes.starts(with: store), bytes[store.count] == Walk.slash else {
            return .outside(why: "\(quoted(path)) is not in the store \(closure.storeDir)")
        }
        var walk = Walk(closure: closure, store: store, pending: Walk.components(bytes[(store.count + 1)...]).reversed())
        while let c = walk.pending.popLast() {
            if let end = walk.step(c) { return end }
        }
        if walk.stack.isEmpty {
            return .outside(why: "it leads to the store directory \(closure.storeDir) itself")
        }
        return .inside(path: walk.render(walk.stack))
    }

    /// One resolution in progress: the components reached (`stack`, below
    /// the store directory) and those still to walk (`pending`, last first).
    private struct Walk {
        static let slash = UInt8(ascii: "/")
        let closure: Closure
        let store: [UInt8]
        var stack: [[UInt8]] = []
        var pending: [[UInt8]]
        var links = 0
        var firstLink: String?

        init(closure: Closure, store: [UInt8], pending: [[UInt8]]) {
            self.closure = closure
            self.store = store
            self.pending = pending
        }

        static func components(_ b: ArraySlice<UInt8>) -> [[UInt8]] {
            b.split(separator: slash, omittingEmptySubsequences: true).map(Array.init)
        }

        func render(_ stack: [[UInt8]]) -> String {
            String(decoding: store + stack.flatMap { [Walk.slash] + $0 }, as: UTF8.self)
        }

        /// Takes component `c`; an outcome ends the walk.
        mutating func step(_ c: [UInt8]) -> Outcome? {
            if c == [UInt8(ascii: ".")] { return nil }
            if c == [UInt8(ascii: "."), UInt8(ascii: ".")] {
                if stack.isEmpty {
                    return .outside(why: "'..' climbs out of the store \(closure.storeDir)")
                }
                stack.removeLast()
                return nil
            }
            stack.append(c)
            if stack.count == 1 && !closure.names.contains(c) {
                return .outside(why: "it leads into \(quoted(render(stack))), which is not in the closure")
            }
            let here = render(stack)
            var st = stat()
            if lstat(here, &st) != 0 {
                return .missing(path: pending.isEmpty ? here : render(stack + pending.reversed()), firstLink: firstLink)
            }
            guard st.st_mode & S_IFMT == S_IFLNK else {
                if st.st_mode & S_IFMT != S_IFDIR && pending.contains(where: { !$0.isEmpty }) {
                    return .missing(path: render(stack + pending.reversed()), firstLink: firstLink)
                }
                return nil
            }
            return follow(here)
        }

        /// Replaces the symlink `here` (the top of the stack) by its target.
        mutating func follow(_ here: String) -> Outcome? {
            links += 1
            if links > ClosurePath.maxLinks {
                return .outside(why: "more than \(ClosurePath.maxLinks) symlinks are followed on the way (a loop?)")
            }
            guard let target = ClosurePath.readLinkBytes(here) else {
                return .missing(path: here, firstLink: firstLink)
            }
            let shown = String(decoding: target, as: UTF8.self)
            if firstLink == nil { firstLink = shown }
            stack.removeLast()
            if target.first == Walk.slash {
                guard target.count > store.count, target.starts(with: store), target[store.count] == Walk.slash else {
                    return .outside(why: "\(quoted(here)) is a symlink to \(quoted(shown)), outside the store \(closure.storeDir)")
                }
                stack = []
                pending += Walk.components(target[(store.count + 1)...]).reversed()
            } else {
                pending += Walk.components(target[...]).reversed()
            }
            return nil
        }
    }

    static func readLinkBytes(_ path: String) -> [UInt8]? {
        var cap = 256
        while cap <= 1 << 16 {
            var buf = [UInt8](repeating: 0, count: cap)
            let n = buf.withUnsafeMutableBufferPointer { b in
                b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: cap) { readlink(path, $0, cap) }
            }
            if n < 0 { return nil }
            if n < cap { return Array(buf[0..<n]) }
            cap *= 2
        }
        return nil
    }
}
