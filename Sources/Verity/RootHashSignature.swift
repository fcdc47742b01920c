import CCrypto
import SystemIO
import Hex
#if canImport(Glibc)
import Glibc
#endif

/// The signature systemd checks beside a verity image (`NAME.roothash.p7s`)
/// or in a DDI's `root-verity-sig` partition.
///
/// Rule (systemd dissect-image.c, repart.c; the kernel's
/// `dm-verity.root_hash_sig_key_desc`): a detached PKCS#7 signature, DER,
/// without signed attributes, over the root hash written as lower-case hex
/// (the 64 characters, no newline).
public enum RootHashSignature {
    /// Signs `rootHashHex` with the PEM key and certificate at the paths.
    public static func sign(rootHashHex: String, keyPath: String, certificatePath: String) throws(VerityError) -> [UInt8] {
        let cert = try loadCertificate(certificatePath)
        defer { X509_free(cert) }
        let key = try loadPrivateKey(keyPath)
        defer { EVP_PKEY_free(key) }
        if X509_check_private_key(cert, key) != 1 {
            ERR_clear_error()
            throw VerityError(.keyOrCertificate, "\(keyPath): the key does not belong to the certificate \(certificatePath); give the key the certificate was made for")
        }
        let data = Array(rootHashHex.utf8)
        let flags = Int32(PKCS7_DETACHED | PKCS7_BINARY | PKCS7_NOATTR)
        let p7: UnsafeMutablePointer<PKCS7>? = data.withUnsafeBytes { d in
            guard let bio = BIO_new_mem_buf(d.baseAddress, Int32(d.count)) else { return nil }
            defer { BIO_free(bio) }
            return PKCS7_sign(cert, key, nil, bio, flags)
        }
        guard let p7 else { throw VerityError(.signature, "cannot sign the root hash: \(lastError())") }
        defer { PKCS7_free(p7) }
        let n = i2d_PKCS7(p7, nil)
        guard n > 0 else { throw VerityError(.signature, "cannot encode the signature: \(lastError())") }
        var out = [UInt8](repeating: 0, count: Int(n))
        out.withUnsafeMutableBufferPointer { b in
            var p: UnsafeMutablePointer<UInt8>? = b.baseAddress
            _ = i2d_PKCS7(p7, &p)
        }
        return out
    }

    /// Checks that `signature` (DER) is a signature of `rootHashHex` by the
    /// certificate's key. The certificate is trusted as given (as the kernel
    /// trusts a key in its keyring or systemd one in /etc/verity.d): no
    /// chain is built.
    public static func verify(signature: [UInt8], rootHashHex: String, certificatePath: String) throws(VerityError) {
        let cert = try loadCertificate(certificatePath)
        defer { X509_free(cert) }
        let parsed: UnsafeMutablePointer<PKCS7>? = signature.withUnsafeBufferPointer { b in
            var p: UnsafePointer<UInt8>? = b.baseAddress
            return d2i_PKCS7(nil, &p, b.count)
        }
        guard let p7 = parsed else {
            ERR_clear_error()
            throw VerityError(.signature, "the signature is not a DER PKCS#7 structure")
        }
        defer { PKCS7_free(p7) }
        guard let certs = OPENSSL_sk_new_null() else { throw VerityError(.signature, "out of memory") }
        defer { OPENSSL_sk_free(certs) }
        _ = OPENSSL_sk_push(certs, UnsafeRawPointer(cert))
        let data = Array(rootHashHex.utf8)
        let flags = Int32(PKCS7_NOINTERN | PKCS7_NOVERIFY | PKCS7_BINARY)
        let ok: Int32 = data.withUnsafeBytes { d in
            guard let bio = BIO_new_mem_buf(d.baseAddress, Int32(d.count)) else { return -1 }
            defer { BIO_free(bio) }
            return PKCS7_verify(p7, certs, nil, bio, nil, flags)
        }
        if ok != 1 {
            let why = lastError()
            throw VerityError(.signature, "the signature does not verify with \(certificatePath) for root hash \(rootHashHex) (\(why))")
        }
    }

    /// The subject of the certificate that made `signature` (DER PKCS#7),
    /// when the signature carries it (`sign` embeds it, as repart does);
    /// nil for anything else. It says who signed, not that the signature
    /// is valid: `verify` checks that against a certificate.
    public static func signerSubject(signature: [UInt8]) -> String? {
        let parsed: UnsafeMutablePointer<PKCS7>? = signature.withUnsafeBufferPointer { b in
            var p: UnsafePointer<UInt8>? = b.baseAddress
            return d2i_PKCS7(nil, &p, b.count)
        }
        guard let p7 = parsed, let signers = PKCS7_get0_signers(p7, nil, 0) else {
            ERR_clear_error()
            if let parsed { PKCS7_free(parsed) }
            return nil
        }
        defer {
            OPENSSL_sk_free(signers)
            PKCS7_free(p7)
        }
        guard OPENSSL_sk_num(signers) > 0, let first = OPENSSL_sk_value(signers, 0),
              let name = X509_get_subject_name(OpaquePointer(first)) else { return nil }
        var buffer = [CChar](repeating: 0, count: 512)
        guard X509_NAME_oneline(name, &buffer, Int32(buffer.count)) != nil else { return nil }
        return String(cString: buffer)
    }

    /// SHA-256 of the certificate's DER encoding, in hex: repart's
    /// `certificateFingerprint`.
    public static func certificateFingerprint(certificatePath: String) throws(VerityError) -> String {
        let cert = try loadCertificate(certificatePath)
        defer { X509_free(cert) }
        var md = [UInt8](repeating: 0, count: 32)
        var n: UInt32 = 0
        guard X509_digest(cert, EVP_sha256(), &md, &n) == 1, n == 32 else {
            throw VerityError(.keyOrCertificate, "\(certificatePath): cannot compute the certificate's fingerprint: \(lastError())")
        }
        return hex(md)
    }

    /// The PEM file's bytes: a regular file of at most 1 MiB, opened
    /// without blocking (a FIFO named here must not hang the command).
    static func readAll(_ path: String, what: String) throws(VerityError) -> [UInt8] {
        do {
            return try FileDescriptor.readRegularFile(path, limit: 1 << 20)
        } catch {
            switch error.kind {
            case .notRegularInput(let mode):
                throw VerityError(.keyOrCertificate, "\(path): is \(SystemError.fileKind(mode)), not a regular file; give the \(what) as a PEM file")
            case .tooLarge:
                throw VerityError(.keyOrCertificate, "\(path): over 1 MiB, not a PEM \(what)")
            default:
                throw VerityError(.keyOrCertificate, "\(path): cannot read the \(what) (\(error.errno)); give a readable PEM file")
            }
        }
    }

    static func loadCertificate(_ path: String) throws(VerityError) -> OpaquePointer {
        let bytes = try readAll(path, what: "certificate")
        let cert: OpaquePointer? = bytes.withUnsafeBytes { b in
            guard let bio = BIO_new_mem_buf(b.baseAddress, Int32(b.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_X509(bio, nil, nil, nil)
        }
        guard let cert else {
            ERR_clear_error()
            throw VerityError(.keyOrCertificate, "\(path): not a PEM X.509 certificate (-----BEGIN CERTIFICATE-----)")
        }
        return cert
    }

    static func loadPrivateKey(_ path: String) throws(VerityError) -> OpaquePointer {
        let bytes = try readAll(path, what: "private key")
        let key: OpaquePointer? = bytes.withUnsafeBytes { b in
            guard let bio = BIO_new_mem_buf(b.baseAddress, Int32(b.count)) else { return nil }
            defer { BIO_free(bio) }
            // No passphrase callback: an encrypted key fails here.
            return PEM_read_bio_PrivateKey(bio, nil, { _, _, _, _ in 0 }, nil)
        }
        guard let key else {
            ERR_clear_error()
            throw VerityError(.keyOrCertificate, "\(path): not an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----); decrypt it first, e.g. openssl pkey -in KEY -out KEY.pem")
        }
        return key
    }

    static func lastError() -> String {
        let e = ERR_get_error()
        ERR_clear_error()
        if e == 0 { return "no detail from libcrypto" }
        var buf = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(e, &buf, buf.count)
        return String(cString: buf)
    }
}
