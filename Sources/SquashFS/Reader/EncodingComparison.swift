import ImageReading

/// Classifies how two squashfs images differ in encoding: the settings in
/// their superblocks and options blocks, their time stamps, where their
/// data lies, how tails are packed, blocks holding the same data but
/// compressed to other bytes, and the metadata tables' bytes.
public enum SquashFSComparison {
    public static func encoding(_ a: SquashFSImage, _ entriesA: [ImageEntry], _ b: SquashFSImage, _ entriesB: [ImageEntry],
                                pairs: [ChunkPair]) -> [EncodingDifference] {
        var out = settings(a, b)
        out += timestamps(a, entriesA, b, entriesB)
        out += DataEncoding.differences(pairs, sameCodec: a.storageCodec == b.storageCodec && a.blockSize == b.blockSize)
        out += metadata(a, b)
        if a.range.length != b.range.length {
            out.append(EncodingDifference(kind: "size", detail: "the images are \(a.range.length) and \(b.range.length) bytes (bytes_used \(a.superblock.bytesUsed) and \(b.superblock.bytesUsed))"))
        }
        return out
    }

    static func settings(_ a: SquashFSImage, _ b: SquashFSImage) -> [EncodingDifference] {
        var out: [EncodingDifference] = []
        // By the settings, not the options bytes: xz's stored dictionary
        // follows the block size, which is reported on its own.
        if a.superblock.compressor != b.superblock.compressor || a.compressorDescription != b.compressorDescription {
            out.append(EncodingDifference(kind: "compressor", detail: "compressor \"\(a.compressorDescription)\" vs \"\(b.compressorDescription)\""))
        }
        if a.blockSize != b.blockSize {
            out.append(EncodingDifference(kind: "blockSize", detail: "block size \(a.blockSize) vs \(b.blockSize)"))
        }
        if a.superblock.flags != b.superblock.flags {
            let names = { (s: SquashFSImage) in SquashFSImage.flagNames.filter { s.superblock.flags.contains($0.0) }.map(\.1).joined(separator: " ") }
            out.append(EncodingDifference(kind: "flags", detail: "superblock flags [\(names(a))] vs [\(names(b))]"))
        }
        return out
    }

    static func timestamps(_ a: SquashFSImage, _ entriesA: [ImageEntry], _ b: SquashFSImage, _ entriesB: [ImageEntry]) -> [EncodingDifference] {
        var parts: [String] = []
        if a.superblock.modificationTime != b.superblock.modificationTime {
            parts.append("the superblock's modification time \(a.superblock.modificationTime) vs \(b.superblock.modificationTime)")
        }
        if let entries = DataEncoding.changedTimes(entriesA, entriesB) { parts.append(entries) }
        return parts.isEmpty ? [] : [EncodingDifference(kind: "timestamps", detail: parts.joined(separator: "; "))]
    }

    static func metadata(_ a: SquashFSImage, _ b: SquashFSImage) -> [EncodingDifference] {
        let la = ImageLayout(a), lb = ImageLayout(b)
        var differing: [String] = []
        for ta in la.tables {
            guard let tb = lb.tables.first(where: { $0.name == ta.name }) else {
                differing.append("\(ta.name) (only in A)")
                continue
            }
            let ba = try? a.range.read(Int(ta.end - ta.start), at: ta.start)
            let bb = try? b.range.read(Int(tb.end - tb.start), at: tb.start)
            if ba == nil || ba != bb { differing.append("\(ta.name) (\(ta.end - ta.start) vs \(tb.end - tb.start) bytes)") }
        }
        for tb in lb.tables where !la.tables.contains(where: { $0.name == tb.name }) { differing.append("\(tb.name) (only in B)") }
        return differing.isEmpty ? [] : [EncodingDifference(kind: "metadata", detail: "the bytes of the " + differing.joined(separator: ", ") + " differ")]
    }
}
