#if canImport(Glibc)
import Glibc
#endif
import Hex
import Verity

/// `mkportable verify [--cert CERT.pem] IMAGE.raw`
///
/// systemd 252's `portablectl attach` copies an image's unit files to the
/// host before anything is mounted through dm-verity, so a changed unit
/// file would be installed as is. This checks the whole image, before
/// attaching, the way dm-verity would check each block as it is read.
enum VerifyCommand {
    static let help = """
    Usage: mkportable verify [--cert CERT.pem] IMAGE.raw

    Checks IMAGE.raw against its dm-verity data before it is attached:
    recomputes the hash tree from every byte of the image and compares it,
    byte for byte, with the tree in IMAGE.verity (or, for a DDI, the
    root-verity partition), and the root hash with IMAGE.roothash (and, for
    a DDI, with the partition UUIDs). With --cert, the signature
    (IMAGE.roothash.p7s, or a DDI's root-verity-sig partition) must be a
    valid signature of the root hash by that certificate's key.

    Options:
      --cert CERT.pem   the certificate the root hash must be signed with.
      -h, --help        show this help.

    Exit status 0: everything checked matches. 2: a usage error (an unknown
    option, no IMAGE). 1: a mismatch or any other error. Errors are one
    line on stderr.
    """

    static func run(arguments: [String]) -> Int32 {
        do {
            return try runThrowing(arguments)
        } catch let e as VerityCheck.Failure {
            reportError(PackCommand.Failure(message: e.message), prefix: "mkportable verify")
            return 1
        } catch {
            reportError(error, prefix: "mkportable verify")
            return exitStatus(for: error)
        }
    }

    static func runThrowing(_ arguments: [String]) throws -> Int32 {
        var cert: String?
        var images: [String] = []
        var cursor = ArgumentCursor(arguments, command: "mkportable verify")
        while let word = try cursor.next() {
            switch word {
            case .option("-h"), .option("--help"): print(help); return 0
            case .option("--cert"): cert = try cursor.value(of: "--cert", nonEmpty: true)
            case .option(let o): throw cursor.unknown(o)
            case .operand(let a): images.append(a)
            }
        }
        guard images.count == 1 else {
            let got = images.isEmpty ? "IMAGE.raw is missing" : "expected one IMAGE.raw, got \(images.count) (\(images.joined(separator: " ")))"
            throw UsageError(message: "\(got); usage: mkportable verify [--cert CERT.pem] IMAGE.raw")
        }
        let image = images[0]
        let summary = try verify(image: image, certificate: cert)
        print("\(image): OK: \(summary)")
        return 0
    }

    /// Verifies `image`; returns what was checked, throws the first mismatch.
    static func verify(image: String, certificate: String?) throws -> String {
        let size = try VerityCheck.fileSize(image)
        if let ddi = try DDIFile.read(path: image) {
            return try DiskImageCheck.verify(ddi, image: image, certificate: certificate)
        }
        let paths = try SidecarPaths(image: image)
        guard size > 0, size % 4096 == 0 else {
            throw VerityCheck.Failure(message: "\(image): \(size) bytes, not a whole number of 4096-byte blocks, as dm-verity needs; the image was truncated or changed (pack pads every image to 4 KiB)")
        }
        guard let hashFile = try VerityCheck.readIfPresent(paths.verity, limit: VerityCheck.hashTreeLimit(dataSize: size)) else {
            throw VerityCheck.Failure(message: "\(image): no \(paths.verity) beside it, so there is nothing to check it against; build it with --verity (pack) or verity = true (Nix)")
        }
        guard let rootText = try VerityCheck.readIfPresent(paths.roothash) else {
            throw VerityCheck.Failure(message: "\(image): no \(paths.roothash) beside it; without the root hash the tree proves nothing")
        }
        let expected = try VerityCheck.parseRootHash(rootText, path: paths.roothash)
        let tree = try VerityCheck.check(image: image, dataOffset: 0, dataSize: size, hashFile: hashFile, where: paths.verity)
        guard tree.rootHash == expected else {
            throw VerityCheck.Failure(message: "\(image): root hash \(tree.rootHashHex) of the image and its hash tree differs from \(hex(expected)) in \(paths.roothash); the image was changed; do not attach it")
        }
        var summary = "\(size / 4096) data blocks match \(paths.verity), root hash \(tree.rootHashHex) matches \(paths.roothash)"
        let signature = try VerityCheck.readIfPresent(paths.signature)
        switch (signature, certificate) {
        case (let sig?, let cert?):
            do {
                try RootHashSignature.verify(signature: sig, rootHashHex: tree.rootHashHex, certificatePath: cert)
            } catch {
                throw VerityCheck.Failure(message: "\(paths.signature): \(error.message)")
            }
            summary += ", \(paths.signature) is a valid signature by \(cert)"
        case (nil, let cert?):
            throw VerityCheck.Failure(message: "\(image): no \(paths.signature) beside it, but --cert \(cert) asks for a signature; sign it with mkportable sign")
        case (.some, nil):
            summary += "; \(paths.signature) not checked (pass --cert CERT.pem)"
        case (nil, nil):
            break
        }
        return summary
    }
}
