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
    static func verify(image: String, certificate: String?) throws(CheckFailure) -> String {
        let file = try ImageFiles.open(image)
        if let ddi = try DDIFile.read(file) {
            return try DDIVerify.verify(ddi, file: file, certificate: certificate)
        }
        guard let paths = SidecarPaths.of(image) else {
            throw CheckFailure(message: "\(image): neither a DDI (no GPT) nor named NAME.raw, as an image with verity sidecars must be (systemd looks for NAME.verity and NAME.roothash beside NAME.raw only)")
        }
        return try SidecarVerify.verify(file, paths: paths, certificate: certificate)
    }
}
