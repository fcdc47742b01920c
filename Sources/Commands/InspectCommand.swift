#if canImport(Glibc)
import Glibc
#endif
import DiskImage
import Hex
import ImageReading
import Verity

/// `mkportable inspect IMAGE [--json]`: what an image holds, read by the
/// project's own reader (no mount, no root): the file system's settings,
/// the portable service (os-release, units, closure), verity, and with
/// --json every entry. The schema is documented in docs/inspect-diff.md.
enum InspectCommand {
    static let help = """
    Usage: mkportable inspect [--json] IMAGE

    Shows what IMAGE (a squashfs or erofs image, or a DDI whose root
    partition holds one) contains: the file system's settings (compressor
    and options, block size, sizes, inode count, time stamp, flags or
    features); for a portable service its
    os-release fields, its unit files and which of them `portablectl attach`
    would attach for the image's file name, and the store paths of its
    closure; its dm-verity data (checked as `mkportable verify` does).

    Options:
      --json      print everything, every entry included, as one JSON object
                  (schema: docs/inspect-diff.md).
      -h, --help  show this help.

    Exit status 0: the image was read. 1: it could not be read (the one line
    on stderr says where it is damaged). 2: a usage error.
    """

    static func run(arguments: [String]) -> Int32 {
        do {
            guard let parsed = try ReportArguments.parse(arguments, command: "mkportable inspect", help: help) else { return 0 }
            let (json, images) = (parsed.json, parsed.images)
            guard images.count == 1 else {
                let problem = images.isEmpty ? "IMAGE is missing" : "expected one IMAGE, got \(images.count) operands"
                throw UsageError(message: "\(problem); usage: mkportable inspect [--json] IMAGE")
            }
            let report = try ImageReport(path: images[0])
            print(json ? report.json().render() : report.text())
            return 0
        } catch let e as UsageError {
            reportError(e, prefix: "mkportable inspect")
            return 2
        } catch {
            reportError(error, prefix: "mkportable inspect")
            return 1
        }
    }
}

/// Everything `inspect` reports about one image.
struct ImageReport {
    let image: OpenedImage
    let entries: [ImageEntry]
    let digests: [String: String]
    let service: ServiceFacts
    let verity: (status: String, detail: String)
    /// Where the root hash signature is, and its signer's subject.
    let signature: (source: String, signer: String?)?

    init(path: String) throws {
        image = try OpenedImage(path: path)
        let fs = image.fileSystem
        entries = try image.reading { try fs.entries() }
        // Hard links share an inode (one handle): its content is read once,
        // so a small image naming a large file many times stays cheap.
        var digests: [String: String] = [:], byInode: [UInt64: String] = [:]
        for e in entries where e.type == .file {
            let digest = try byInode[e.handle] ?? image.reading { try Self.sha256(of: e, in: fs) }
            byInode[e.handle] = digest
            digests[e.pathString] = digest
        }
        self.digests = digests
        let all = entries, opened = image
        service = try opened.reading {
            try ServiceFacts(entries: all, imageName: path) { e in
                var bytes: [UInt8] = []
                try fs.readContents(of: e) { bytes += $0 }
                return bytes
            }
        }
        verity = Self.verityStatus(path, hasDDI: image.ddi != nil)
        signature = Self.signature(path, image: image)
    }

    /// The signature beside the image (`NAME.roothash.p7s`) or in a DDI's
    /// signature partition, and who made it (not whether it is valid:
    /// `verify --cert` says that).
    static func signature(_ path: String, image: OpenedImage) -> (source: String, signer: String?)? {
        if let part = image.ddi?.signature {
            guard part.size <= SignaturePartition.size, let content = try? image.fileSystem.range.file.whole.read(Int(part.size), at: part.offset),
                  let decoded = try? SignaturePartition.decode(content) else {
                return ("the \(part.name) partition", nil)
            }
            return ("the \(part.name) partition", RootHashSignature.signerSubject(signature: decoded.signature))
        }
        guard let paths = SidecarPaths.of(path), access(paths.signature, F_OK) == 0 else { return nil }
        let bytes = (try? ImageFiles.readIfPresent(paths.signature)) ?? nil
        return (paths.signature, bytes.flatMap { RootHashSignature.signerSubject(signature: $0) })
    }

    static func sha256(of entry: ImageEntry, in fs: any FileSystemImage) throws -> String {
        let hasher = SHA256.Hasher()
        hasher.begin()
        try fs.readContents(of: entry) { chunk in chunk.withUnsafeBytes { hasher.update($0) } }
        var digest = [UInt8](repeating: 0, count: SHA256.digestSize)
        digest.withUnsafeMutableBytes { hasher.end(into: $0.baseAddress!) }
        return hex(digest)
    }

    /// verify's checks, reused: "none" without verity data, "ok" with what
    /// matched, or "mismatch" with verify's message.
    static func verityStatus(_ path: String, hasDDI: Bool) -> (status: String, detail: String) {
        if !hasDDI {
            guard let paths = SidecarPaths.of(path), access(paths.verity, F_OK) == 0 else {
                return ("none", "no dm-verity data: neither a DDI nor a NAME.verity beside a NAME.raw")
            }
        }
        do {
            return ("ok", try VerifyCommand.verify(image: path, certificate: nil))
        } catch {
            return ("mismatch", error.message)
        }
    }
}
