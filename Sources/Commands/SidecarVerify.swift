import Hex
import Verity

/// `verify` of an image with verity sidecars: the tree in NAME.verity
/// against the image, the root hash against NAME.roothash, and with a
/// certificate, NAME.roothash.p7s.
enum SidecarVerify {
    static func verify(_ file: borrowing OpenFile, paths: SidecarPaths, certificate: String?) throws(CheckFailure) -> String {
        let image = file.path
        guard let hashes = try ImageFiles.openIfPresent(paths.verity) else {
            throw CheckFailure(message: "\(image): no \(paths.verity) beside it, so there is nothing to check it against; build it with --verity (pack) or verity = true (Nix)")
        }
        guard try ImageFiles.openIfPresent(paths.roothash) != nil else {
            throw CheckFailure(message: "\(image): no \(paths.roothash) beside it; without the root hash the tree proves nothing")
        }
        let tree: VerityHashes
        do {
            tree = try VerityCheck.check(data: .init(fd: file.fd.raw, offset: 0, size: file.size),
                                         hashes: .init(fd: hashes.fd.raw, offset: 0, size: hashes.size), exact: true)
        } catch {
            throw CheckFailure.verity(error, image: image, tree: paths.verity)
        }
        let rootText = try ImageFiles.readIfPresent(paths.roothash) ?? []
        try rootHash(tree, text: rootText, file: paths.roothash, image: image)
        var summary = "\(tree.superblock.dataBlocks) data blocks match \(paths.verity), root hash \(tree.rootHashHex) matches \(paths.roothash)"
        switch (try ImageFiles.readIfPresent(paths.signature), certificate) {
        case (let sig?, let cert?):
            do {
                try RootHashSignature.verify(signature: sig, rootHashHex: tree.rootHashHex, certificatePath: cert)
            } catch {
                throw CheckFailure(message: "\(paths.signature): \(error.message)")
            }
            summary += ", \(paths.signature) is a valid signature by \(cert)"
        case (nil, let cert?):
            throw CheckFailure(message: "\(image): no \(paths.signature) beside it, but --cert \(cert) asks for a signature; sign it with mkportable sign")
        case (.some, nil):
            summary += "; \(paths.signature) not checked (pass --cert CERT.pem)"
        case (nil, nil):
            break
        }
        return summary
    }

    /// The root hash in `text` (the content of `file`) is `tree`'s.
    static func rootHash(_ tree: VerityHashes, text: [UInt8], file: String, image: String) throws(CheckFailure) {
        let expected: [UInt8]
        do { expected = try RootHashFile.decode(text) } catch { throw CheckFailure(message: "\(file): \(error.message)") }
        do { try VerityCheck.checkRootHash(tree, expected: expected) } catch {
            throw CheckFailure(message: "\(image): \(error.message) in \(file); the image was changed; do not attach it")
        }
    }
}
