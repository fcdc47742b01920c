#if canImport(Glibc)
import Glibc
#endif
import DiskImage
import Hex
import SystemIO
import Verity

/// `mkportable sign --key KEY.pem --cert CERT.pem --out DIR IMAGE.raw`
///
/// Private keys must never enter the Nix store, so signing is a step after
/// the build, on a copy: images in the store are read-only, and a signed
/// image is a different file (a DDI) or a different set of files (sidecars).
/// The copy goes into a new directory DIR, built under a temporary name and
/// renamed into place once everything in it verifies, so a failure leaves
/// no DIR at all.
enum SignCommand {
    static let help = """
    Usage: mkportable sign --key KEY.pem --cert CERT.pem --out DIR IMAGE.raw

    Signs the root hash of a verity image for systemd: a detached PKCS#7
    signature (DER, no signed attributes) over the root hash in hex.
    IMAGE.raw is first checked against its hash tree (as mkportable verify
    does); nothing is signed that does not verify.

    DIR, which must not exist, receives a copy:
    - sidecar image: IMAGE.raw, IMAGE.verity, IMAGE.roothash and the new
      IMAGE.roothash.p7s;
    - DDI: IMAGE.raw with a root-verity-sig partition added (the JSON
      {"rootHash", "certificateFingerprint", "signature"} systemd-repart
      writes, NUL-padded to 16 KiB), and IMAGE.roothash.

    Options:
      --key KEY.pem     the private key (PEM, unencrypted).
      --cert CERT.pem   its X.509 certificate (PEM); hosts trust it when it
                        is in /etc/verity.d/ (systemd 254+) or the kernel's
                        keyring.
      --out DIR         the new directory for the signed copy.
      -h, --help        show this help.

    Exit status: 0 signed; 2 a usage error (an unknown or missing option,
    no IMAGE); 1 any other failure. Errors are one line on stderr.
    """

    static func run(arguments: [String]) -> Int32 {
        do {
            return try runThrowing(arguments)
        } catch {
            reportError(error, prefix: "mkportable sign")
            return exitStatus(for: error)
        }
    }

    /// What the command line asks for; nil when it asked for --help.
    struct Request { var key: String, cert: String, out: String, image: String }

    static func request(_ arguments: [String]) throws -> Request? {
        var key: String?, cert: String?, out: String?
        var images: [String] = []
        var cursor = ArgumentCursor(arguments, command: "mkportable sign")
        while let word = try cursor.next() {
            switch word {
            case .option("-h"), .option("--help"): print(help); return nil
            case .option("--key"): key = try cursor.value(of: "--key", nonEmpty: true)
            case .option("--cert"): cert = try cursor.value(of: "--cert", nonEmpty: true)
            case .option("--out"): out = try cursor.value(of: "--out", nonEmpty: true)
            case .option(let o): throw cursor.unknown(o)
            case .operand(let a): images.append(a)
            }
        }
        let usage = "usage: mkportable sign --key KEY.pem --cert CERT.pem --out DIR IMAGE.raw"
        let missing = [(key, "--key KEY.pem"), (cert, "--cert CERT.pem"), (out, "--out DIR")].filter { $0.0 == nil }.map(\.1)
        guard missing.isEmpty, let key, let cert, let out else {
            throw UsageError(message: "\(missing.joined(separator: " and ")) \(missing.count == 1 ? "is" : "are") missing; \(usage)")
        }
        guard images.count == 1 else {
            let got = images.isEmpty ? "IMAGE.raw is missing" : "expected one IMAGE.raw, got \(images.count) (\(images.joined(separator: " ")))"
            throw UsageError(message: "\(got); \(usage)")
        }
        return Request(key: key, cert: cert, out: out, image: images[0])
    }

    static func runThrowing(_ arguments: [String]) throws -> Int32 {
        guard let request = try request(arguments) else { return 0 }
        let (key, cert, out, image) = (request.key, request.cert, request.out, request.image)
        var st = stat()
        if lstat(out, &st) == 0 {
            throw CheckFailure(message: "\(out): already exists; give a new directory for the signed copy (images in the Nix store stay as they are)")
        }
        // Key and certificate first: a mismatch should cost nothing.
        _ = try signature(rootHashHex: String(repeating: "0", count: 64), key: key, cert: cert)
        // Then the image: nothing is signed that does not verify.
        _ = try VerifyCommand.verify(image: image, certificate: nil)

        let name = image.split(separator: "/").last.map(String.init) ?? image
        // DIR.tmp-PID, removed on any failure and on every catchable
        // signal, renamed to DIR once the copy verifies.
        let dir: PendingDirectory
        do { dir = try PendingDirectory(out) } catch {
            throw CheckFailure(message: "\(out): cannot create the directory (\(error.errno)); make sure its parent exists and is writable")
        }
        let copy = dir.temporaryPath + "/" + name
        try copyFile(image, into: dir, as: name)
        let rootHashHex = try signCopy(image: image, copy: copy, into: dir, key: key, cert: cert)
        // The copy must verify with the certificate before it is published.
        _ = try VerifyCommand.verify(image: copy, certificate: cert)
        do { try dir.publish() } catch {
            if error.kind == .appeared {
                throw CheckFailure(message: "\(out): appeared while signing; give a new directory for the signed copy")
            }
            throw CheckFailure(message: "\(out): cannot move the signed copy into place (\(error.errno))")
        }
        print("\(out)/\(name): signed root hash \(rootHashHex) with \(cert)")
        return 0
    }

    /// Signs `copy` (of `image`, which verified): a DDI gets a signature
    /// partition (and a copy of a `.roothash` beside it, if there is one);
    /// an image with sidecars, copies of them and NAME.roothash.p7s.
    /// Returns the root hash signed.
    static func signCopy(image: String, copy: String, into dir: PendingDirectory, key: String, cert: String) throws(CheckFailure) -> String {
        let file = try ImageFiles.open(copy)
        let paths = SidecarPaths.of(image), names = SidecarPaths.of(copy.split(separator: "/").last.map(String.init) ?? copy)
        if let ddi = try DDIFile.read(file) {
            let rootHashHex = hex(ddi.root.uuid.bytes + ddi.verity.uuid.bytes)
            let signature = try signature(rootHashHex: rootHashHex, key: key, cert: cert)
            try addSignaturePartition(ddi, disk: copy, rootHashHex: rootHashHex, signature: signature, certificate: cert)
            if let paths, let names, access(paths.roothash, F_OK) == 0 { try copyFile(paths.roothash, into: dir, as: names.roothash) }
            return rootHashHex
        }
        guard let paths, let names else { throw CheckFailure(message: SidecarPaths.unnamed(image)) }
        let rootHash: [UInt8]
        let text = try ImageFiles.readIfPresent(paths.roothash) ?? []
        do { rootHash = try RootHashFile.decode(text) } catch {
            throw CheckFailure(message: "\(paths.roothash): \(error.message)")
        }
        let signature = try signature(rootHashHex: hex(rootHash), key: key, cert: cert)
        try copyFile(paths.verity, into: dir, as: names.verity)
        try copyFile(paths.roothash, into: dir, as: names.roothash)
        try writeNew(into: dir, as: names.signature, signature)
        return hex(rootHash)
    }

    static func signature(rootHashHex: String, key: String, cert: String) throws(CheckFailure) -> [UInt8] {
        do { return try RootHashSignature.sign(rootHashHex: rootHashHex, keyPath: key, certificatePath: cert) } catch {
            throw CheckFailure(message: error.message)
        }
    }

    /// Adds (or replaces) the root-verity-sig partition in the free space
    /// after the hash tree, and rewrites both GPTs.
    static func addSignaturePartition(_ ddi: DDIPartitions, disk: String, rootHashHex: String, signature: [UInt8], certificate: String) throws(CheckFailure) {
        let fingerprint: String
        do { fingerprint = try RootHashSignature.certificateFingerprint(certificatePath: certificate) } catch {
            throw CheckFailure(message: error.message)
        }
        guard let content = SignaturePartition(rootHashHex: rootHashHex, certificateFingerprint: fingerprint, signature: signature).encode() else {
            throw CheckFailure(message: "\(certificate): the signature is over 16 KiB; use a smaller certificate chain")
        }
        // repart derives it from its seed and the type; here the root hash
        // stands in for the seed, so re-signing keeps the UUID.
        let uuid = GUID(bytes: v4UUID(SHA256.hmac(key: unhex(Substring(rootHashHex))!, message: ddi.types.rootVeritySignature.bytes)))
        guard let (gpt, partition) = ddi.addingSignature(uuid: uuid) else {
            throw CheckFailure(message: "\(disk): no free 16 KiB after the root-verity partition for the signature; build the DDI with mkportable pack --ddi")
        }
        let (head, tail) = gpt.encode()
        try write(disk, [(content, partition.offset), (head, 0), (tail, gpt.tailOffset)], create: false)
    }

    /// Writes each piece at its offset of `path` (a new file with
    /// `create`) and syncs it.
    static func write(_ path: String, _ pieces: [([UInt8], UInt64)], create: Bool) throws(CheckFailure) {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(path, O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), mode: 0o644) } catch {
            throw CheckFailure(message: "\(path): cannot \(create ? "create" : "open") (\(error.errno))")
        }
        do {
            for (bytes, offset) in pieces { try fd.writeAll(bytes, at: offset) }
        } catch {
            throw CheckFailure(message: "\(path): write failed (\(ImageOutput.writeProblem(error.errno)))")
        }
        do { try fd.sync() } catch { throw CheckFailure(message: "\(path): fsync failed (\(error.errno))") }
    }

    /// A new file `name` in `dir` holding `bytes`, synced.
    static func writeNew(into dir: PendingDirectory, as name: String, _ bytes: [UInt8]) throws(CheckFailure) {
        let fd = try create(name, in: dir)
        let path = "\(dir.temporaryPath)/\(name)"
        do { try fd.writeAll(bytes, at: 0) } catch {
            throw CheckFailure(message: "\(path): write failed (\(ImageOutput.writeProblem(error.errno)))")
        }
        do { try fd.sync() } catch { throw CheckFailure(message: "\(path): fsync failed (\(error.errno))") }
    }

    /// Copies a regular file into `dir` as `name`, in-kernel (a reflink
    /// where possible), and syncs it.
    static func copyFile(_ from: String, into dir: PendingDirectory, as name: String) throws(CheckFailure) {
        let src = try ImageFiles.open(from)
        let dst = try create(name, in: dir)
        let to = "\(dir.temporaryPath)/\(name)"
        do {
            try FileDescriptor.copy(src.fd.raw, to: dst.raw, count: Int(src.size))
        } catch {
            throw CheckFailure(message: "\(to): copy failed (\(ImageOutput.writeProblem(error.errno)))")
        }
        do { try dst.sync() } catch { throw CheckFailure(message: "\(to): fsync failed (\(error.errno))") }
    }

    private static func create(_ name: String, in dir: PendingDirectory) throws(CheckFailure) -> FileDescriptor {
        do { return try dir.create(name) } catch { throw CheckFailure(message: worded(error)) }
    }
}
