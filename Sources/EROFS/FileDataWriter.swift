#if canImport(Glibc)
import Glibc
#endif
import SourceTree

/// Writes regular files' data, in inode order, and says where it went.
///
/// A file is compressed when that saves blocks over storing it flat:
/// flat, its full blocks go to the data area and its tail (size % 4096
/// bytes) inline after the inode when inode and tail fit one block, else
/// into a block of its own. Files under a block are never compressed (a
/// compressed file takes a whole block; inline, it takes none).
final class FileDataWriter {
    private let image: ImageFile
    private let extents: Extents?
    private let algorithm: UInt8
    private let buffer: UnsafeMutableRawBufferPointer

    init(image: ImageFile, compression: Compression) throws(EROFSError) {
        self.image = image
        extents = try makeEncoder(compression).map { Extents(encoder: $0) }
        algorithm = compression.algorithmNumber ?? 0
        buffer = .allocate(byteCount: 1 << 20, alignment: 64)
    }

    deinit {
        extents?.release()
        buffer.deallocate()
    }

    func write(_ file: File, name: String, digest: inout ContentDigest) throws(EROFSError) -> DataPlan {
        if file.size == 0 { return .flat(block: 0, inline: []) }
        let content = try FileContent(file, name: name)
        let inodeSize = file.size > UInt64(UInt32.max) ? ExtendedInode.size : CompactInode.size
        let tail = Int(file.size % UInt64(Geometry.blockSize))
        let inlined = tail > 0 && inodeSize + tail <= Geometry.blockSize
        let flatBlocks = (file.size >> UInt64(Geometry.blockBits)) + (tail > 0 && !inlined ? 1 : 0)
        var fed = false
        if let extents, file.size >= UInt64(Geometry.blockSize) {
            let start = image.position
            let cut = try extents.write(content, to: image, digest: &digest)
            fed = true
            if UInt64(cut.count) < flatBlocks {
                try content.checkEnd()
                let index = LclusterIndex.encode(extents: cut, size: file.size)
                return .compressed(blocks: UInt32(cut.count), index: index, algorithm: algorithm)
            }
            image.rewind(to: start)
        }
        let plan = try writeFlat(content, inlined: inlined, digest: &digest, feed: !fed)
        try content.checkEnd()
        return plan
    }

    /// Full blocks, then the tail inline or in a zero-padded block.
    private func writeFlat(_ content: FileContent, inlined: Bool, digest: inout ContentDigest, feed: Bool) throws(EROFSError) -> DataPlan {
        let first = image.block
        let full = content.size / UInt64(Geometry.blockSize) * UInt64(Geometry.blockSize)
        var at: UInt64 = 0
        while at < content.size {
            let n = Int(min(UInt64(buffer.count), (at < full ? full : content.size) - at))
            let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
            try content.read(into: chunk, at: at)
            if feed { digest.update(UnsafeRawBufferPointer(chunk)) }
            at += UInt64(n)
            if at > full {
                if inlined { return .flat(block: full > 0 ? first : 0, inline: Array(chunk)) }
                try image.append(UnsafeRawBufferPointer(chunk))
                try image.padToBlock()
                break
            }
            try image.append(UnsafeRawBufferPointer(chunk))
        }
        return .flat(block: first, inline: [])
    }
}
