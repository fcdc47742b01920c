import Hex
import SystemIO

/// Checks data against its stored dm-verity hash tree the way the kernel
/// checks each block as it reads it, but all at once: the tree is
/// recomputed from every data block and compared, byte for byte, with the
/// stored one; then the root hash with the expected one.
///
/// Rule: the hash device starts with a superblock (`VeritySuperblock`)
/// that counts exactly the data's 4 KiB blocks (at least 1, at most
/// 2^50); it holds at least the tree of that shape (`VerityTreeShape`),
/// exactly that where it is a file of its own; and that tree is the one
/// `VerityHashTree` computes from the data with the superblock's salt.
public enum VerityCheck {
    /// More blocks than any disk holds (4 EiB of data); a larger count is
    /// damage, and refusing it keeps every size computed from it in range.
    public static let maxDataBlocks: UInt64 = 1 << 50

    /// A byte range of an open file.
    public struct Region: Sendable {
        public var fd: Int32
        public var offset: UInt64
        public var size: UInt64
        public init(fd: Int32, offset: UInt64, size: UInt64) {
            self.fd = fd; self.offset = offset; self.size = size
        }
    }

    /// Decodes a superblock and checks that its block count can describe
    /// data at all.
    public static func superblock(_ bytes: [UInt8]) throws(VerityError) -> VeritySuperblock {
        let sb = try VeritySuperblock.decode(bytes).get()
        guard sb.dataBlocks > 0, sb.dataBlocks <= maxDataBlocks else {
            throw VerityError(.superblock, "the verity superblock counts \(sb.dataBlocks) data blocks, which no image has")
        }
        return sb
    }

    /// Checks the tree in `hashes` against the data in `data`. With
    /// `exact`, `hashes` must be the tree's size (a `.verity` file); else
    /// it may be larger (a partition with room to spare). Returns the
    /// recomputed tree.
    public static func check(data: Region, hashes: Region, exact: Bool) throws(VerityError) -> VerityHashes {
        let blockSize = VerityTreeShape.blockSize
        guard data.size > 0, data.size % blockSize == 0 else {
            throw VerityError(.dataSize, "the data is \(data.size) bytes, not a whole number of \(blockSize)-byte blocks, as dm-verity needs")
        }
        let sb = try superblock(try read(hashes.fd, at: hashes.offset, count: Int(min(hashes.size, blockSize))))
        guard sb.dataBlocks == data.size / blockSize else {
            throw VerityError(.coverage, "the hash tree covers \(sb.dataBlocks) blocks of \(blockSize) bytes, but the data is \(data.size) bytes")
        }
        let shape = VerityTreeShape(dataBlocks: sb.dataBlocks)
        if exact ? hashes.size > shape.hashFileSize : hashes.size < shape.hashFileSize {
            throw VerityError(.hashTreeSize, "the hash tree is \(hashes.size) bytes, \(exact ? "more" : "less") than the \(shape.hashFileSize) bytes of the tree its superblock announces")
        }
        let stored = try read(hashes.fd, at: hashes.offset, count: Int(min(hashes.size, shape.hashFileSize)))
        let got = try recompute(data, salt: sb.salt, uuid: sb.uuid)
        if got.hashFile != stored { throw difference(got.hashFile, stored, shape: shape, dataOffset: data.offset) }
        return got
    }

    /// The tree of the data in `data`.
    static func recompute(_ data: Region, salt: [UInt8], uuid: [UInt8]) throws(VerityError) -> VerityHashes {
        let tree = VerityHashTree(salt: salt, uuid: uuid)
        let chunk = 1 << 20
        guard let buffer = Posix.allocateBuffer(chunk, alignment: 4096) else {
            throw VerityError(.read(errno: 12), "out of memory for a \(chunk)-byte read buffer")
        }
        defer { buffer.deallocate() }
        var at: UInt64 = 0
        while at < data.size {
            let want = Int(min(UInt64(chunk), data.size - at))
            let n: Int
            do { n = try Posix.preadFully(data.fd, buffer, want, data.offset + at) } catch {
                throw VerityError(.read(errno: error.errno.code), "cannot read the data at byte \(data.offset + at)")
            }
            guard n == want else {
                throw VerityError(.read(errno: 0), "the data ends at byte \(data.offset + at + UInt64(n)), before the \(data.size) bytes the tree covers")
            }
            tree.append(UnsafeRawBufferPointer(start: buffer, count: n), at: at)
            at += UInt64(n)
        }
        return try tree.finish()
    }

    /// Where `stored` differs from the recomputed tree: a data block when
    /// the difference is among level 0's hashes (the data blocks' own),
    /// else the first differing byte.
    static func difference(_ got: [UInt8], _ stored: [UInt8], shape: VerityTreeShape, dataOffset: UInt64) -> VerityError {
        let start = Int(shape.level0Offset)
        if stored.count == got.count, shape.levels > 0,
           let at = (start..<got.count).first(where: { got[$0] != stored[$0] }) {
            let block = UInt64(at - start) / 32
            if block < shape.dataBlocks {
                let first = dataOffset + block * VerityTreeShape.blockSize
                return VerityError(.dataBlock(block), "data block \(block) (bytes \(first)-\(first + VerityTreeShape.blockSize - 1)) does not match its hash")
            }
        }
        let common = min(got.count, stored.count)
        let first = (0..<common).first { got[$0] != stored[$0] } ?? common
        return VerityError(.hashTree(at: first), "the hash tree differs from the image's at byte \(first) (\(stored.count) bytes, expected \(got.count))")
    }

    /// Checks the recomputed root hash against the expected one.
    public static func checkRootHash(_ tree: VerityHashes, expected: [UInt8]) throws(VerityError) {
        guard tree.rootHash == expected else {
            throw VerityError(.rootHash, "root hash \(tree.rootHashHex) differs from \(hex(expected))")
        }
    }

    static func read(_ fd: Int32, at offset: UInt64, count: Int) throws(VerityError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        if count == 0 { return out }
        let result: Result<Int, SystemError> = out.withUnsafeMutableBytes { b in
            do throws(SystemError) { return .success(try Posix.preadFully(fd, b.baseAddress!, count, offset)) } catch { return .failure(error) }
        }
        switch result {
        case .failure(let e): throw VerityError(.read(errno: e.errno.code), "cannot read the hash tree at byte \(offset)")
        case .success(let n) where n < count: return Array(out[0..<n])
        case .success: return out
        }
    }
}
