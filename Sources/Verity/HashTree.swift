import Hex

/// The dm-verity hash tree of a byte stream of 4 KiB blocks, as
/// `veritysetup format --data-block-size=4096 --hash-block-size=4096`
/// (format 1, sha256) lays it out, computed while the stream is written.
///
/// Rule (cryptsetup lib/verity/verity_hash.c):
/// - every data block's digest is SHA-256(salt || block);
/// - level 0 is the data blocks' digests, 32 bytes each, 128 to a 4 KiB hash
///   block, the last block zero-padded; level i+1 is the same over level i's
///   blocks; there are as many levels as it takes to reach one block (none
///   for a single data block, where the root is that block's digest);
/// - the root hash is SHA-256(salt || the top level's block);
/// - the hash file is the superblock's block, then the levels from the top
///   down: the top level's block first, level 0 last.
///
/// Bytes are fed in the order they are written. The first block is held in
/// memory and hashed only at `finish`: the writer may rewrite bytes in it
/// (a squashfs superblock is written last), and nowhere else. Every other
/// data block is hashed as soon as its last byte arrives, so the image is
/// never read back. The upper levels (1/128 of the data or less) are
/// hashed at `finish`, from memory.
public final class VerityHashTree {
    public static let blockSize = 4096
    public let salt: [UInt8]
    public let uuid: [UInt8]
    private let hasher = SHA256.Hasher()
    /// Level 0: 32 bytes per data block; block 0's are filled at `finish`.
    private var digests: [UInt8]
    private var first = [UInt8](repeating: 0, count: blockSize)
    private var pending = [UInt8](repeating: 0, count: blockSize)
    private var pendingCount = 0
    /// Bytes of stream seen so far.
    public private(set) var size: UInt64 = 0

    public init(salt: [UInt8], uuid: [UInt8]) {
        precondition(salt.count <= 256 && uuid.count == 16)
        self.salt = salt
        self.uuid = uuid
        digests = [UInt8](repeating: 0, count: SHA256.digestSize)
    }

    /// `bytes` stand at `offset` of the stream: either just after the bytes
    /// seen so far, or within the first block (a rewrite).
    public func append(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return }
        var n = bytes.count
        let bs = Self.blockSize
        if offset < size {
            precondition(offset + UInt64(n) <= UInt64(bs) && offset + UInt64(n) <= size,
                         "verity: only the first block may be rewritten")
            first.withUnsafeMutableBytes { ($0.baseAddress! + Int(offset)).copyMemory(from: p, byteCount: n) }
            return
        }
        precondition(offset == size, "verity: bytes must arrive in order")
        size += UInt64(n)
        var off = Int(clamping: offset)
        if offset < UInt64(bs) {
            let k = min(n, bs - off)
            first.withUnsafeMutableBytes { ($0.baseAddress! + off).copyMemory(from: p, byteCount: k) }
            p += k; n -= k; off += k
        }
        if n == 0 { return }
        if pendingCount > 0 {
            let k = min(n, bs - pendingCount)
            pending.withUnsafeMutableBytes { ($0.baseAddress! + pendingCount).copyMemory(from: p, byteCount: k) }
            pendingCount += k
            p += k; n -= k
            if pendingCount < bs { return }
            pending.withUnsafeBytes { hashBlock($0.baseAddress!) }
            pendingCount = 0
        }
        while n >= bs {
            hashBlock(p)
            p += bs; n -= bs
        }
        if n > 0 {
            pending.withUnsafeMutableBytes { $0.baseAddress!.copyMemory(from: p, byteCount: n) }
            pendingCount = n
        }
    }

    private func hashBlock(_ p: UnsafeRawPointer) {
        let at = digests.count
        digests.append(contentsOf: repeatElement(0, count: SHA256.digestSize))
        digests.withUnsafeMutableBytes { d in
            digest(UnsafeRawBufferPointer(start: p, count: Self.blockSize), into: d.baseAddress! + at)
        }
    }

    private func digest(_ block: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) {
        hasher.begin()
        salt.withUnsafeBytes { hasher.update($0) }
        hasher.update(block)
        hasher.end(into: out)
    }

    /// Completes the tree: the stream must be a whole, non-zero number of
    /// blocks.
    public func finish() throws(VerityError) -> VerityHashes {
        let bs = Self.blockSize
        guard size > 0, size % UInt64(bs) == 0 else {
            throw VerityError(.dataSize, "the data is \(size) bytes, not a whole number of \(bs)-byte blocks")
        }
        let blocks = size / UInt64(bs)
        first.withUnsafeBytes { f in digests.withUnsafeMutableBytes { digest(f, into: $0.baseAddress!) } }
        let sb = VeritySuperblock(uuid: uuid, dataBlocks: blocks, salt: salt)
        var file = sb.encode()
        file.append(contentsOf: repeatElement(0, count: bs - file.count))

        let levels = VerityTreeShape(dataBlocks: blocks).levels
        var root = [UInt8](repeating: 0, count: SHA256.digestSize)
        if levels == 0 {
            root = Array(digests[0..<SHA256.digestSize])
            return VerityHashes(rootHash: root, hashFile: file, superblock: sb)
        }
        // 128 digests of 32 bytes fill a block exactly: a level's area is
        // the digests below it, zero-padded to whole blocks.
        var areas: [[UInt8]] = []
        var below = digests
        digests = []
        for _ in 0..<levels {
            var area = below
            area.append(contentsOf: repeatElement(0, count: (bs - area.count % bs) % bs))
            let count = area.count / bs
            below = [UInt8](repeating: 0, count: count * SHA256.digestSize)
            area.withUnsafeBytes { a in
                below.withUnsafeMutableBytes { d in
                    for i in 0..<count {
                        digest(UnsafeRawBufferPointer(rebasing: a[(i * bs)..<((i + 1) * bs)]),
                               into: d.baseAddress! + i * SHA256.digestSize)
                    }
                }
            }
            areas.append(area)
        }
        precondition(below.count == SHA256.digestSize, "verity: the top level must be one block")
        root = below
        for area in areas.reversed() { file.append(contentsOf: area) }
        return VerityHashes(rootHash: root, hashFile: file, superblock: sb)
    }
}

/// What a finished tree gives: the root hash and the whole hash file.
public struct VerityHashes: Sendable {
    public var rootHash: [UInt8]
    /// The `.verity` file / `root-verity` partition content.
    public var hashFile: [UInt8]
    public var superblock: VeritySuperblock

    /// The root hash as systemd's `.roothash` holds it: lower-case hex.
    public var rootHashHex: String { hex(rootHash) }
}
