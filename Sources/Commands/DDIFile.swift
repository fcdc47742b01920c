#if canImport(Glibc)
import Glibc
#endif
import DiskImage
import Hex
import Verity

/// Writing and reading portable DDIs as files.
enum DDIFile {
    struct Failure: Error { let message: String }

    /// The partition types for `uname -m`.
    static func hostTypes() -> PartitionTypes? {
        var u = utsname()
        uname(&u)
        let machine = withUnsafeBytes(of: u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return PartitionTypes.forSystem(machine)
    }

    /// Completes the disk in `fd`, whose root partition (at LBA 40, as repart puts it) already
    /// holds the file system: the hash tree after it, the protective MBR and
    /// primary GPT before it, the backup GPT at the end.
    static func wrap(_ fd: Int32, layout: PortableDDI, hashFile: [UInt8]) throws(PendingFile.WriteError) {
        let (head, tail) = layout.gpt().encode()
        if ftruncate(fd, off_t(layout.diskSize)) != 0 { throw PendingFile.WriteError(errno: errno) }
        try PendingFile.writeAll(fd, head, at: 0)
        try PendingFile.writeAll(fd, hashFile, at: layout.verityOffset)
        try PendingFile.writeAll(fd, tail, at: layout.gpt().tailOffset)
    }

    typealias CopyFileRange = @convention(c) (Int32, UnsafeMutablePointer<off_t>?, Int32, UnsafeMutablePointer<off_t>?, Int, UInt32) -> Int
    /// glibc's copy_file_range(2), which Swift's Glibc module does not
    /// export (it needs _GNU_SOURCE); nil before glibc 2.27.
    static let copyFileRange: CopyFileRange? = {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "copy_file_range") else { return nil }
        return unsafeBitCast(sym, to: CopyFileRange.self)
    }()

    /// Copies `count` bytes from the start of `src` to `fd` at `at`,
    /// in-kernel where possible.
    static func copy(_ src: Int32, to fd: Int32, at: off_t = 0, count: Int) throws(PendingFile.WriteError) {
        var inOff = off_t(0)
        var outOff = at
        var left = count
        while left > 0 {
            guard let copyRange = copyFileRange else {
                try copyByReading(src, from: inOff, to: fd, at: outOff, count: left)
                return
            }
            let n = copyRange(src, &inOff, fd, &outOff, left, 0)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL {
                    try copyByReading(src, from: inOff, to: fd, at: outOff, count: left)
                    return
                }
                throw PendingFile.WriteError(errno: errno)
            }
            if n == 0 { throw PendingFile.WriteError(errno: EIO) }
            left -= n
        }
    }

    static func copyByReading(_ src: Int32, from: off_t, to fd: Int32, at: off_t, count: Int) throws(PendingFile.WriteError) {
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var done = 0
        while done < count {
            let n = buf.withUnsafeMutableBytes { pread(src, $0.baseAddress!, min($0.count, count - done), from + off_t(done)) }
            if n < 0 { if errno == EINTR { continue }; throw PendingFile.WriteError(errno: errno) }
            if n == 0 { throw PendingFile.WriteError(errno: EIO) }
            try PendingFile.writeAll(fd, Array(buf[0..<n]), at: UInt64(at) + UInt64(done))
            done += n
        }
    }

    /// A DDI found in a file: its GPT and the root, verity and (if present)
    /// signature partitions.
    struct Found {
        var gpt: GPT
        var types: PartitionTypes
        var root: GPTPartition
        var verity: GPTPartition
        var signature: GPTPartition?
    }

    /// nil if `path` has no GPT; throws if it has one that is not a
    /// portable DDI of this kind.
    static func read(path: String) throws -> Found? {
        let size = try VerityCheck.fileSize(path)
        guard size >= 34 * 512 else { return nil }
        let head = try VerityCheck.read(path, offset: 0, count: 34 * 512)
        guard let result = GPT.decode(head: head, diskSize: size) else { return nil }
        let gpt: GPT
        switch result {
        case .success(let g): gpt = g
        case .failure(let e): throw Failure(message: "\(path): \(e.message); the partition table is damaged")
        }
        // The backup header must be intact and describe the same entries.
        guard size % GPT.sectorSize == 0 else {
            throw Failure(message: "\(path): \(size) bytes, not a whole number of 512-byte sectors; the disk image was changed or truncated")
        }
        let sectors = size / GPT.sectorSize
        let alternate = head[512 + 32..<512 + 40].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard alternate == sectors - 1 else {
            throw Failure(message: "\(path): the GPT puts its backup header at LBA \(alternate), but the disk's last sector is \(sectors - 1); the image was truncated, extended or changed")
        }
        let tail = try VerityCheck.read(path, offset: size - 33 * 512, count: 33 * 512)
        if !GPT.backupMatches(tail: tail, primaryHead: head) {
            throw Failure(message: "\(path): the backup GPT at the end of the disk is damaged or differs from the primary; the image was changed or truncated")
        }
        // Every partition inside the usable area, none overlapping another,
        // before any size is computed from them.
        let lastUsable = sectors - 34
        for p in gpt.partitions {
            guard p.firstLBA <= p.lastLBA, p.firstLBA >= gpt.firstUsableLBA, gpt.firstUsableLBA >= 34, p.lastLBA <= lastUsable else {
                throw Failure(message: "\(path): partition \(p.name.isEmpty ? p.type.description : p.name) spans LBA \(p.firstLBA)-\(p.lastLBA), outside the disk's usable sectors \(gpt.firstUsableLBA)-\(lastUsable); the partition table is damaged")
            }
        }
        let sorted = gpt.partitions.sorted { $0.firstLBA < $1.firstLBA }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.firstLBA <= a.lastLBA {
            throw Failure(message: "\(path): partitions \(a.name) and \(b.name) overlap (LBA \(b.firstLBA)-\(min(a.lastLBA, b.lastLBA))); the partition table is damaged")
        }
        guard let rootPart = gpt.partitions.first(where: { PartitionTypes.containing($0.type)?.root == $0.type }),
              let types = PartitionTypes.containing(rootPart.type) else {
            throw Failure(message: "\(path): a GPT disk without a root partition of a known architecture; not a portable DDI")
        }
        // systemd-dissect refuses a disk with two partitions of one
        // discoverable type (which would it mount?); so does verify.
        for type in [types.root, types.rootVerity, types.rootVeritySignature] where gpt.partitions.filter({ $0.type == type }).count > 1 {
            throw Failure(message: "\(path): more than one partition of type \(type); systemd refuses such a disk, and which one it checks would be a guess")
        }
        guard let verity = gpt.partitions.first(where: { $0.type == types.rootVerity }) else {
            throw Failure(message: "\(path): no \(types.rootVerityLabel) partition; the DDI carries no hash tree to check")
        }
        return Found(gpt: gpt, types: types, root: rootPart, verity: verity,
                     signature: gpt.partitions.first { $0.type == types.rootVeritySignature })
    }
}

/// `verify` of a DDI: the hash tree in root-verity against the root
/// partition, the root hash against the partition UUIDs and a `.roothash`
/// beside, the signature partition against a certificate.
enum DiskImageCheck {
    static func verify(_ ddi: DDIFile.Found, image: String, certificate: String?) throws -> String {
        let name = "\(image) partition \(ddi.verity.name)"
        // The superblock first, then only as much of the partition as the
        // tree it announces (the partition may have slack, as repart's do;
        // a huge partition is never read whole).
        guard ddi.verity.size >= 4096 else {
            throw VerityCheck.Failure(message: "\(name): \(ddi.verity.size) bytes, smaller than a verity superblock block; the DDI is damaged")
        }
        let sb = try VerityCheck.superblock(try VerityCheck.read(image, offset: ddi.verity.offset, count: 4096), name: name)
        guard sb.dataBlocks * 4096 == ddi.root.size else {
            throw VerityCheck.Failure(message: "\(name): the hash tree covers \(sb.dataBlocks) blocks of 4096 bytes, but partition \(ddi.root.name) holds \(ddi.root.size) bytes; the tree is not this partition's, or the table was changed")
        }
        let treeSize = 4096 * (1 + treeBlocks(dataBlocks: sb.dataBlocks))
        guard treeSize <= ddi.verity.size else {
            throw VerityCheck.Failure(message: "\(name): \(ddi.verity.size) bytes, smaller than the \(treeSize)-byte hash tree its superblock announces; the DDI is damaged or truncated")
        }
        let hashFile = try VerityCheck.read(image, offset: ddi.verity.offset, count: Int(treeSize))
        let tree = try VerityCheck.check(image: image, dataOffset: ddi.root.offset, dataSize: ddi.root.size,
                                         hashFile: hashFile, where: name)
        let h = tree.rootHash
        guard ddi.root.uuid.bytes == Array(h[0..<16]), ddi.verity.uuid.bytes == Array(h[16..<32]) else {
            throw VerityCheck.Failure(message: "\(image): root hash \(tree.rootHashHex) does not match the partition UUIDs (\(ddi.root.uuid), \(ddi.verity.uuid)); the image was changed; do not attach it")
        }
        var summary = "DDI (\(ddi.types.rootLabel)), \(sb.dataBlocks) data blocks match partition \(ddi.verity.name), root hash \(tree.rootHashHex) matches the partition UUIDs"
        if let paths = try? SidecarPaths(image: image), let text = try VerityCheck.readIfPresent(paths.roothash) {
            let expected = try VerityCheck.parseRootHash(text, path: paths.roothash)
            guard expected == h else {
                throw VerityCheck.Failure(message: "\(image): root hash \(tree.rootHashHex) differs from \(hex(expected)) in \(paths.roothash); the image was changed; do not attach it")
            }
            summary += " and \(paths.roothash)"
        }
        switch (ddi.signature, certificate) {
        case (let sig?, let cert?):
            guard sig.size <= VerityCheck.sidecarLimit else {
                throw VerityCheck.Failure(message: "\(image): partition \(sig.name) is \(sig.size) bytes, more than the \(VerityCheck.sidecarLimit) a signature partition can hold; the DDI was changed")
            }
            let content = try VerityCheck.read(image, offset: sig.offset, count: Int(sig.size))
            let (signedHash, signature) = try SignaturePartition.parse(content, image: image)
            guard signedHash == tree.rootHashHex else {
                throw VerityCheck.Failure(message: "\(image): the signature partition signs root hash \(signedHash), not the image's \(tree.rootHashHex)")
            }
            do {
                try RootHashSignature.verify(signature: signature, rootHashHex: tree.rootHashHex, certificatePath: cert)
            } catch {
                throw VerityCheck.Failure(message: "\(image): partition \(sig.name): \(error.message)")
            }
            summary += ", partition \(sig.name) is a valid signature by \(cert)"
        case (nil, let cert?):
            throw VerityCheck.Failure(message: "\(image): no \(ddi.types.rootVeritySignatureLabel) partition, but --cert \(cert) asks for a signature; sign it with mkportable sign")
        case (.some(let sig), nil):
            summary += "; partition \(sig.name) not checked (pass --cert CERT.pem)"
        case (nil, nil):
            break
        }
        return summary
    }

    /// Hash blocks of the tree for `dataBlocks` (as veritysetup counts).
    static func treeBlocks(dataBlocks: UInt64) -> UInt64 {
        var levels = 0
        while 7 * levels < 64 && (dataBlocks - 1) >> UInt64(7 * levels) != 0 { levels += 1 }
        var total: UInt64 = 0
        for i in 0..<levels {
            let shift = UInt64(7 * (i + 1))
            total += (dataBlocks + (1 << shift) - 1) >> shift
        }
        return total
    }
}

/// Reads the JSON of a `root-verity-sig` partition: just the two string
/// fields needed, `rootHash` and `signature` (base64).
enum SignaturePartition {
    static func parse(_ content: [UInt8], image: String) throws -> (rootHash: String, signature: [UInt8]) {
        let text = Array(content.prefix { $0 != 0 })
        func field(_ name: String) -> String? {
            let key = Array("\"\(name)\":\"".utf8)
            guard text.count >= key.count,
                  let at = (0...(text.count - key.count)).first(where: { text[$0..<($0 + key.count)].elementsEqual(key) }) else { return nil }
            let rest = text[(at + key.count)...]
            guard let end = rest.firstIndex(of: UInt8(ascii: "\"")) else { return nil }
            return String(decoding: rest[..<end], as: UTF8.self)
        }
        guard let hash = field("rootHash"), let sig = field("signature"), let der = unbase64(sig) else {
            throw VerityCheck.Failure(message: "\(image): the signature partition does not hold {\"rootHash\":...,\"signature\":...} JSON")
        }
        return (hash, der)
    }

    static func unbase64(_ s: String) -> [UInt8]? {
        var map = [Int](repeating: -1, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { map[Int(c)] = i }
        var out: [UInt8] = []
        var acc = 0, bits = 0
        for c in s.utf8 {
            if c == UInt8(ascii: "=") { break }
            let v = map[Int(c)]
            if v < 0 { return nil }
            acc = acc << 6 | v
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> bits))
            }
        }
        return out
    }
}
