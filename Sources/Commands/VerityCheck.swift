#if canImport(Glibc)
import Glibc
#endif
import Hex
import Verity

/// Recomputes an image's hash tree from its data and compares it with the
/// stored one, byte for byte, and the root hash with the expected one.
/// Used by `verify` and, before it signs anything, by `sign`.
enum VerityCheck {
    struct Failure: Error { let message: String }

    /// Reads `count` bytes at `offset` of `path`.
    static func read(_ path: String, offset: UInt64, count: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw Failure(message: "\(path): cannot open (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if n < 0 { if errno == EINTR { continue }; throw Failure(message: "\(path): read failed (\(String(cString: strerror(errno))))") }
            if n == 0 { throw Failure(message: "\(path): ends before byte \(offset + UInt64(count))") }
            done += n
        }
        return out
    }

    static func fileSize(_ path: String) throws -> UInt64 {
        var st = stat()
        if stat(path, &st) != 0 {
            throw Failure(message: "\(path): cannot read (\(String(cString: strerror(errno))))")
        }
        guard st.st_mode & S_IFMT == S_IFREG else { throw Failure(message: "\(path): not a regular file") }
        return UInt64(st.st_size)
    }

    /// The most a `.roothash` or `.roothash.p7s` may hold: a root hash is
    /// 64 hex digits, a PKCS#7 signature a few KiB with its certificate.
    static let sidecarLimit: UInt64 = 1 << 20

    /// Reads a whole regular file of at most `limit` bytes; nil if it does
    /// not exist. A larger file is refused before anything is read, so a
    /// sidecar swapped for something huge cannot exhaust memory.
    static func readIfPresent(_ path: String, limit: UInt64 = sidecarLimit) throws -> [UInt8]? {
        if access(path, F_OK) != 0 && errno == ENOENT { return nil }
        let size = try fileSize(path)
        guard size <= limit else {
            throw Failure(message: "\(path): \(size) bytes, more than the \(limit) such a file can hold; it is not what pack or sign wrote")
        }
        return try read(path, offset: 0, count: Int(size))
    }

    /// The largest hash tree an image of `dataSize` bytes can have: its
    /// superblock block plus, level by level, one 32-byte hash per block
    /// below (4 KiB blocks hold 128), each level rounded up to a block.
    static func hashTreeLimit(dataSize: UInt64) -> UInt64 {
        var total: UInt64 = 4096
        var blocks = (dataSize + 4095) / 4096
        repeat {
            blocks = (blocks + 127) / 128
            total += blocks * 4096
        } while blocks > 1
        return total
    }

    /// Parses a `.roothash` as systemd does: hex, surrounding whitespace
    /// ignored, at least 16 bytes.
    static func parseRootHash(_ bytes: [UInt8], path: String) throws -> [UInt8] {
        let text = String(decoding: bytes, as: UTF8.self)
        let trimmed = text.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed()
        guard let h = unhex(Substring(String(trimmed))), h.count >= 16 else {
            throw Failure(message: "\(path): not a root hash (one line of hex digits, at least 32)")
        }
        return h
    }

    /// Decodes a verity superblock and checks its block count can describe
    /// an image at all (not 0, and not so many blocks that their size
    /// overflows), so later arithmetic on it is safe.
    static func superblock(_ bytes: [UInt8], name: String) throws -> VeritySuperblock {
        let sb: VeritySuperblock
        switch VeritySuperblock.decode(bytes) {
        case .success(let s): sb = s
        case .failure(let e): throw Failure(message: "\(name): \(e.message)")
        }
        guard sb.dataBlocks > 0, sb.dataBlocks <= UInt64(1) << 50 else {
            throw Failure(message: "\(name): the verity superblock counts \(sb.dataBlocks) data blocks, which no image has; the hash tree is damaged or not a tree of this image")
        }
        return sb
    }

    /// Checks the tree stored in `hashFile` against the data at
    /// `dataOffset..<dataOffset+dataSize` of `image`. `where` names the
    /// hash file in messages. Returns the recomputed tree.
    static func check(image: String, dataOffset: UInt64, dataSize: UInt64, hashFile: [UInt8], where name: String) throws -> VerityHashes {
        guard dataSize > 0, dataSize % 4096 == 0 else {
            throw Failure(message: "\(image): \(dataSize) bytes of data, not a whole number of 4096-byte blocks, as dm-verity needs; the image was truncated or changed (pack pads every image to 4 KiB)")
        }
        let sb = try superblock(hashFile, name: name)
        guard sb.dataBlocks * 4096 == dataSize else {
            throw Failure(message: "\(name): covers \(sb.dataBlocks) blocks of 4096 bytes, but \(image) holds \(dataSize) bytes of data; the hash tree is not this image's")
        }
        let tree = VerityHashTree(salt: sb.salt, uuid: sb.uuid)
        let fd = open(image, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw Failure(message: "\(image): cannot open (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        var at: UInt64 = 0
        while at < dataSize {
            let want = Int(min(UInt64(chunk), dataSize - at))
            let n = pread(fd, buffer, want, off_t(dataOffset + at))
            if n < 0 { if errno == EINTR { continue }; throw Failure(message: "\(image): read failed (\(String(cString: strerror(errno))))") }
            if n == 0 { throw Failure(message: "\(image): ends at byte \(dataOffset + at), before the data the hash tree covers") }
            tree.append(UnsafeRawBufferPointer(start: buffer, count: n), at: at)
            at += UInt64(n)
        }
        let got: VerityHashes
        do { got = try tree.finish() } catch { throw Failure(message: "\(image): \(error.message)") }
        if got.hashFile != hashFile {
            // Level 0 (the data blocks' digests) is last in the file: a
            // difference there names the changed data block.
            let level0 = Int((sb.dataBlocks * 32 + 4095) / 4096 * 4096)
            if got.hashFile.count == hashFile.count && got.hashFile.count > 4096 {
                let start = got.hashFile.count - level0
                if let at = (start..<got.hashFile.count).first(where: { got.hashFile[$0] != hashFile[$0] }) {
                    let block = UInt64(at - start) / 32
                    throw Failure(message: "\(image): data block \(block) (bytes \(dataOffset + block * 4096)-\(dataOffset + block * 4096 + 4095)) does not match its hash in \(name): the image was changed after it was built; do not attach it")
                }
            }
            let common = min(got.hashFile.count, hashFile.count)
            let first = (0..<common).first { got.hashFile[$0] != hashFile[$0] } ?? common
            throw Failure(message: "\(name): the hash tree differs from the image's at byte \(first) (\(hashFile.count) bytes, expected \(got.hashFile.count)); the image or its hash tree was changed; do not attach it")
        }
        return got
    }
}
