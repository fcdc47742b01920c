/// Where a symlink of the image leads once the image is mounted, so that
/// no spelling of its object gets a link into the store past the closure
/// check.
///
/// The rule: a symlink object is resolved as the kernel would resolve it
/// inside the image: a relative object from the link's own directory, an
/// absolute one from the image root; empty and `.` components are dropped,
/// `..` goes up one level (at the root it stays there, as the kernel
/// does), and a component that is another of the image's symlinks is
/// replaced by that link's object (at most `ClosurePath.maxLinks` times).
/// Once the resolved components enter a store path (`/nix/store/NAME…`),
/// the rest is `ClosurePath`'s walk: it must stay inside a store path of
/// the closure. So `STORE//H-x/f`, `STORE/./H-x/f`, `../nix/store/H-x/f`
/// from `/bin/x`, and a path through another link to the store directory
/// all meet the same check as `STORE/H-x/f`.
///
/// A link that leads somewhere outside the store (`/etc/ssl`, `/bin/sh`) or
/// to the store directory itself is not checked further: the image holds
/// no store path but the closure's, and what lies outside the store in the
/// image is its scaffold and its other links.
enum ImageLink {
    typealias Component = [UInt8]

    /// The closure outcome for `links[index]`, or nil when its object does
    /// not lead into a store path.
    static func outcome(of index: Int, in links: [ImageSpec.Symlink], closure: ClosurePath.Closure) -> ClosurePath.Outcome? {
        let store = components(closure.storeDir)
        let linkPaths = links.map { $0.path.map { Array($0.utf8) } }
        var stack: [Component] = Array(linkPaths[index].dropLast())
        var pending = start(links[index].target, stack: &stack)
        var followed = 0
        while let c = pending.popLast() {
            if c == Array(".".utf8) { continue }
            if c == Array("..".utf8) {
                _ = stack.popLast()
                continue
            }
            stack.append(c)
            if stack.count > store.count, stack.starts(with: store) {
                let rest = stack[store.count...] + pending.reversed()
                let path = closure.storeDir + "/" + rest.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/")
                return ClosurePath.resolve(path, in: closure)
            }
            if let j = linkPaths.firstIndex(of: stack) {
                followed += 1
                if followed > ClosurePath.maxLinks {
                    return .outside(why: "more than \(ClosurePath.maxLinks) of the image's symlinks are followed on the way (a loop?)")
                }
                stack.removeLast()
                pending += start(links[j].target, stack: &stack)
            }
        }
        return nil
    }

    /// The components of `target`, last first; an absolute target also
    /// empties `stack` (it starts again at the image root).
    static func start(_ target: String, stack: inout [Component]) -> [Component] {
        let bytes = Array(target.utf8)
        if bytes.first == UInt8(ascii: "/") { stack = [] }
        return bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map(Array.init).reversed()
    }

    static func components(_ path: String) -> [Component] {
        Array(path.utf8).split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map(Array.init)
    }
}
