#if canImport(Glibc)
import Glibc
#endif
import SourceTree

/// Finds the regular files whose bytes equal an earlier file's (in inode
/// order), before any is written, so that they name the earlier file's
/// data instead of storing it again: erofs lets two inodes point at the
/// same blocks (and the same tail in the packed inode); nothing on disk
/// counts the sharing. Only files of equal size are compared: first by
/// `ContentHash`, then byte for byte. So which files share depends on the
/// tree alone.
enum DuplicateFiles {
    private static let chunk = 1 << 20

    /// The items whose data equals an earlier item's, each with that
    /// earlier item; only items `considered` are looked at. Only the
    /// duplicates are kept: an entry for every item (an `Int?`, 16 bytes)
    /// was 3 MB on 200,000 small files, held through the data pass.
    static func find(_ items: FileDataWriter.Items, considered: (UInt64) -> Bool) throws(EROFSError) -> [Int: Int] {
        var bySize: [UInt64: [Int]] = [:]
        for k in items.indices where items[k].file.size > 0 && considered(items[k].file.size) {
            bySize[items[k].file.size, default: []].append(k)
        }
        var twin: [Int: Int] = [:]
        let a = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
        let b = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
        defer { a.deallocate(); b.deallocate() }
        for group in bySize.values where group.count > 1 {
            var byHash: [UInt64: [Int]] = [:]
            for k in group {
                let h = try hash(items[k], buffer: a)
                var found: Int? = nil
                for j in byHash[h] ?? [] where try same(items[j], items[k], a, b) {
                    found = j
                    break
                }
                if let found { twin[k] = found } else { byHash[h, default: []].append(k) }
            }
        }
        return twin
    }

    private static func hash(_ item: FileDataWriter.Item, buffer: UnsafeMutableRawBufferPointer) throws(EROFSError) -> UInt64 {
        let content = try FileContent(item.file, name: item.name)
        var h = ContentHash()
        var at: UInt64 = 0
        while at < content.size {
            let n = Int(min(UInt64(chunk), content.size - at))
            try content.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n]), at: at)
            h.update(buffer.baseAddress!, n)
            at += UInt64(n)
        }
        return h.value
    }

    private static func same(_ x: FileDataWriter.Item, _ y: FileDataWriter.Item, _ a: UnsafeMutableRawBufferPointer,
                             _ b: UnsafeMutableRawBufferPointer) throws(EROFSError) -> Bool {
        let p = try FileContent(x.file, name: x.name), q = try FileContent(y.file, name: y.name)
        var at: UInt64 = 0
        while at < p.size {
            let n = Int(min(UInt64(chunk), p.size - at))
            try p.read(into: UnsafeMutableRawBufferPointer(rebasing: a[0..<n]), at: at)
            try q.read(into: UnsafeMutableRawBufferPointer(rebasing: b[0..<n]), at: at)
            if memcmp(a.baseAddress!, b.baseAddress!, n) != 0 { return false }
            at += UInt64(n)
        }
        return true
    }
}
