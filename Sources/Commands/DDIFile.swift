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

    /// nil if `path` has no GPT; throws if it has one that is not a
    /// portable DDI as pack writes it.
    static func read(path: String) throws -> DDIPartitions? {
        let size = try VerityCheck.fileSize(path)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw Failure(message: "\(path): cannot open (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        do {
            return try DDIPartitions.read(fd: fd, size: size)
        } catch {
            throw Failure(message: message(error, path: path))
        }
    }

    /// `path: problem; advice` for a DiskImage error.
    static func message(_ e: DiskImageError, path: String) -> String {
        switch e.kind {
        case .read(let errno) where errno != 0:
            return "\(path): \(e.problem) (\(String(cString: strerror(errno))))"
        case .read:
            return "\(path): \(e.problem); the image was truncated"
        case .protectiveMBR, .partitionTable, .partitionBounds, .gap:
            return "\(path): \(e.problem); the partition table is damaged or the image was changed; do not attach it"
        case .partitionSet:
            return "\(path): \(e.problem); not a portable DDI as mkportable pack --ddi writes it; do not attach it"
        case .signaturePartition:
            return "\(path): \(e.problem); sign the image again with mkportable sign"
        }
    }
}

/// `verify` of a DDI: the hash tree in root-verity against the root
/// partition, the root hash against the partition UUIDs and a `.roothash`
/// beside, the signature partition against a certificate.
enum DiskImageCheck {
    static func verify(_ ddi: DDIPartitions, image: String, certificate: String?) throws -> String {
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
            let parsed: SignaturePartition
            do { parsed = try SignaturePartition.decode(content) } catch {
                throw VerityCheck.Failure(message: DDIFile.message(error, path: image))
            }
            let signature = parsed.signature
            guard parsed.rootHashHex == tree.rootHashHex else {
                throw VerityCheck.Failure(message: "\(image): the signature partition signs root hash \(parsed.rootHashHex), not the image's \(tree.rootHashHex)")
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
