#if canImport(Glibc)
import Glibc
#endif
import EROFS
import ImageReading
import SquashFS

/// `mkportable diff A B [--json]`: whether two images are the same bytes,
/// and if not, why: what differs in their trees, and when the trees are
/// the same, how the encoding differs and where the first differing byte
/// lies. Exit status as diff(1). The schema is in docs/inspect-diff.md.
enum DiffCommand {
    static let help = """
    Usage: mkportable diff [--json] A B

    Compares two images (squashfs or erofs, or DDIs holding one) and says why they
    differ: paths added and removed; type, mode, owner, size, content (with
    the first differing byte of the file), link target and device number of
    the others; and when the trees are the same, what differs in the
    encoding (compressor or its options, block size, time stamps, order or
    packing of data, fragments, the same data compressed to other bytes,
    metadata) and where the first differing byte of the image lies.

    Options:
      --json      print the comparison as one JSON object
                  (schema: docs/inspect-diff.md).
      -h, --help  show this help.

    Exit status 0: A and B are the same bytes. 1: they differ. 2: trouble
    (a usage error, an image that cannot be read), on one line of stderr.
    """

    static func run(arguments: [String]) -> Int32 {
        do {
            guard let parsed = try ReportArguments.parse(arguments, command: "mkportable diff", help: help) else { return 0 }
            let (json, images) = (parsed.json, parsed.images)
            guard images.count == 2 else {
                let problem = images.isEmpty ? "A and B are missing" : images.count == 1 ? "B is missing after \(images[0])" : "expected A and B, got \(images.count) operands"
                throw UsageError(message: "\(problem); usage: mkportable diff [--json] A B")
            }
            let report = try DiffReport(images[0], images[1])
            print(json ? report.json().render() : report.text())
            return report.identical ? 0 : 1
        } catch {
            reportError(error, prefix: "mkportable diff")
            return 2
        }
    }

    static var processors: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}

/// Everything `diff` reports.
struct DiffReport {
    let pathA: String
    let pathB: String
    let firstByte: UInt64?
    var identical: Bool { firstByte == nil }
    var tree: TreeComparison?
    var encoding: [EncodingDifference] = []
    var whereA = ""
    var whereB = ""
    /// When the first difference is in the superblock (whose sizes and
    /// table starts follow from everything else), the first one after it.
    var beyondSuperblock: (offset: UInt64, a: String, b: String)?

    init(_ a: String, _ b: String) throws {
        pathA = a
        pathB = b
        firstByte = try Self.firstDifference(a, b)
        guard let offset = firstByte else { return }
        let ia = try OpenedImage(path: a), ib = try OpenedImage(path: b)
        let ea = try ia.reading { try ia.fileSystem.entries() }, eb = try ib.reading { try ib.fileSystem.entries() }
        let tree = try ia.reading { try ib.reading {
            try TreeComparison(ia.fileSystem, ea, ib.fileSystem, eb, threads: DiffCommand.processors)
        } }
        self.tree = tree
        encoding = Self.encoding(ia.fileSystem, ea, ib.fileSystem, eb, pairs: tree.chunkPairs)
        whereA = Self.locate(offset, in: ia, entries: ea, other: ib)
        whereB = Self.locate(offset, in: ib, entries: eb, other: ia)
        let start = ia.fileSystem.range.offset
        // The bytes of blocks found equal in place are not read again.
        let known = tree.equalInPlace(offsetA: start, offsetB: ib.fileSystem.range.offset)
        // squashfs's superblock is bytes 0..<96, erofs's 1024..<1152.
        let superblock: Range<UInt64> = ia.fileSystem is EROFSImage ? 1024..<1152 : 0..<96
        if offset >= start + superblock.lowerBound && offset < start + superblock.upperBound,
           let next = try Self.firstDifference(a, b, from: start + superblock.upperBound, knownEqual: known) {
            beyondSuperblock = (next, Self.locate(next, in: ia, entries: ea, other: ib), Self.locate(next, in: ib, entries: eb, other: ia))
        }
    }

    /// How the two file systems encode their trees differently, in their
    /// format's terms; for two formats, that alone.
    static func encoding(_ a: any FileSystemImage, _ ea: [ImageEntry], _ b: any FileSystemImage, _ eb: [ImageEntry],
                         pairs: [ChunkPair]) -> [EncodingDifference] {
        if let sa = a as? SquashFSImage, let sb = b as? SquashFSImage {
            return SquashFSComparison.encoding(sa, ea, sb, eb, pairs: pairs)
        }
        if let xa = a as? EROFSImage, let xb = b as? EROFSImage {
            return EROFSComparison.encoding(xa, ea, xb, eb, pairs: pairs)
        }
        return [EncodingDifference(kind: "filesystem", detail: "A is \(a.format), B is \(b.format)")]
    }

    /// What byte `offset` of the file holds: in the file system (in its
    /// terms), or the DDI's partition table or other partitions.
    static func locate(_ offset: UInt64, in image: OpenedImage, entries: [ImageEntry], other: OpenedImage) -> String {
        let range = image.fileSystem.range
        guard offset >= range.offset, offset < range.offset + range.length else {
            if let ddi = image.ddi {
                for p in [ddi.verity, ddi.signature].compactMap({ $0 }) where offset >= p.offset && offset < p.offset + p.size {
                    return "the \(p.name) partition"
                }
                return "the DDI's partition table or the space between partitions"
            }
            return "past the end of the file (\(range.length) bytes)"
        }
        let inside = offset - range.offset
        let partition = range.offset > 0 ? " (byte \(inside) of the root partition)" : ""
        if let erofs = image.fileSystem as? EROFSImage { return erofs.describe(offset: inside, entries: entries) + partition }
        guard let squashfs = image.fileSystem as? SquashFSImage else { return "byte \(inside) of the file system" }
        return squashfs.describe(offset: inside, entries: entries, comparedWith: other.fileSystem as? SquashFSImage) + partition
    }

    /// The first byte at which the two files differ, nil when they are
    /// the same bytes (a shorter file differs where it ends).
    static func firstDifference(_ a: String, _ b: String, from start: UInt64 = 0,
                                knownEqual: [Range<UInt64>] = []) throws -> UInt64? {
        let fa: ImageFile, fb: ImageFile
        do { fa = try ImageFile(path: a) } catch { throw OpenedImage.Failure(message: "\(a): \(error.message)") }
        do { fb = try ImageFile(path: b) } catch { throw OpenedImage.Failure(message: "\(b): \(error.message)") }
        do {
            return try RangeComparison.firstMismatch(fa.whole, fb.whole, from: start, knownEqual: knownEqual,
                                                     threads: DiffCommand.processors)
        } catch { throw OpenedImage.Failure(message: "\(a), \(b): \(error)") }
    }
}
