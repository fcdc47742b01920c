import DiskImage
import Hex
import Verity

/// `verify` of a DDI, once DiskImage has checked its tables and partition
/// set: the hash tree in root-verity against the root partition, the root
/// hash against the partition UUIDs and a `.roothash` beside, the
/// signature partition against a certificate.
enum DDIVerify {
    static func verify(_ ddi: DDIPartitions, file: borrowing OpenFile, certificate: String?) throws(CheckFailure) -> String {
        let image = file.path
        let treeName = "\(image) partition \(ddi.verity.name)"
        let tree: VerityHashes
        do {
            tree = try VerityCheck.check(data: .init(fd: file.fd.raw, offset: ddi.root.offset, size: ddi.root.size),
                                         hashes: .init(fd: file.fd.raw, offset: ddi.verity.offset, size: ddi.verity.size), exact: false)
            try VerityCheck.checkRootHash(tree, expected: ddi.root.uuid.bytes + ddi.verity.uuid.bytes)
        } catch where error.kind == .rootHash {
            throw CheckFailure(message: "\(image): the root hash of partition \(ddi.root.name) and its tree does not match the partition UUIDs (\(ddi.root.uuid), \(ddi.verity.uuid)); the image was changed; do not attach it")
        } catch {
            throw CheckFailure.verity(error, image: image, tree: treeName,
                                      notThis: "the tree is not this partition's, or the table was changed")
        }
        var summary = "DDI (\(ddi.types.rootLabel)), \(tree.superblock.dataBlocks) data blocks match partition \(ddi.verity.name), root hash \(tree.rootHashHex) matches the partition UUIDs"
        if let paths = SidecarPaths.of(image), let text = try ImageFiles.readIfPresent(paths.roothash) {
            try SidecarVerify.rootHash(tree, text: text, file: paths.roothash, image: image)
            summary += " and \(paths.roothash)"
        }
        switch (ddi.signature, certificate) {
        case (let sig?, let cert?):
            try signature(sig, of: tree, file: file, certificate: cert)
            summary += ", partition \(sig.name) is a valid signature by \(cert)"
        case (nil, let cert?):
            throw CheckFailure(message: "\(image): no \(ddi.types.rootVeritySignatureLabel) partition, but --cert \(cert) asks for a signature; sign it with mkportable sign")
        case (.some(let sig), nil):
            summary += "; partition \(sig.name) not checked (pass --cert CERT.pem)"
        case (nil, nil):
            break
        }
        return summary
    }

    /// The signature partition `sig` signs `tree`'s root hash with the
    /// certificate's key.
    static func signature(_ sig: GPTPartition, of tree: VerityHashes, file: borrowing OpenFile, certificate: String) throws(CheckFailure) {
        let image = file.path
        guard sig.size <= ImageFiles.sidecarLimit else {
            throw CheckFailure(message: "\(image): partition \(sig.name) is \(sig.size) bytes, more than the \(ImageFiles.sidecarLimit) a signature partition can hold; the DDI was changed")
        }
        let content = try ImageFiles.read(file, at: sig.offset, count: Int(sig.size))
        let parsed: SignaturePartition
        do { parsed = try SignaturePartition.decode(content) } catch { throw CheckFailure.disk(error, path: image) }
        guard parsed.rootHashHex == tree.rootHashHex else {
            throw CheckFailure(message: "\(image): the signature partition signs root hash \(parsed.rootHashHex), not the image's \(tree.rootHashHex)")
        }
        do {
            try RootHashSignature.verify(signature: parsed.signature, rootHashHex: tree.rootHashHex, certificatePath: certificate)
        } catch {
            throw CheckFailure(message: "\(image): partition \(sig.name): \(error.message)")
        }
    }
}
