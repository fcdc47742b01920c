import Foundation
import XCTest

/// `mkportable sign`: signatures openssl verifies (smime and cms, no signed
/// attributes), a signed DDI systemd-dissect calls signed, and refusals
/// that leave nothing behind.
final class SignTests: ImageTestCase {
    var key = "", cert = "", otherKey = "", otherCert = ""

    override func setUpWithError() throws {
        try super.setUpWithError()
        guard Shell.which("openssl") != nil else { throw XCTSkip("openssl is not installed (Debian: openssl)") }
        for (k, c, cn) in [("k.pem", "c.pem", "mkportable test"), ("k2.pem", "c2.pem", "someone else")] {
            try Shell.check("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", work.sub(RawPath(k)).string,
                                        "-out", work.sub(RawPath(c)).string, "-subj", "/CN=\(cn)", "-days", "3650"])
        }
        key = work.sub("k.pem").string; cert = work.sub("c.pem").string
        otherKey = work.sub("k2.pem").string; otherCert = work.sub("c2.pem").string
    }

    func mkportable(_ args: [String]) throws -> CommandResult { try Shell.run(try MkportableBinary.path(), args) }

    func source() throws -> RawPath {
        let src = try newSource()
        try src.file("etc/os-release", "ID=nixos\nPORTABLE_PREFIXES=svc\n")
        try src.file("etc/systemd/system/svc.service", "[Service]\nExecStart=/bin/true\n")
        var x: UInt32 = 7
        try src.file("usr/share/data", (0..<200_000).map { _ in x = x &* 1_103_515_245 &+ 12345; return UInt8(truncatingIfNeeded: x >> 16) })
        return src.root
    }

    /// openssl's own verdict on a detached signature of `content`.
    func opensslVerifies(_ signature: RawPath, content: String, cert: String) throws -> Bool {
        let c = work.sub("content.txt")
        try Posix.writeFile(c, Array(content.utf8))
        let smime = try Shell.run("openssl", ["smime", "-verify", "-binary", "-inform", "DER", "-in", signature.string,
                                              "-content", c.string, "-certfile", cert, "-nointern", "-noverify"])
        let cms = try Shell.run("openssl", ["cms", "-verify", "-binary", "-inform", "DER", "-in", signature.string,
                                            "-content", c.string, "-certfile", cert, "-nointern", "-noverify"])
        XCTAssertEqual(smime.succeeded, cms.succeeded, "openssl smime and cms disagree: \(smime.summary) / \(cms.summary)")
        return smime.succeeded && cms.succeeded
    }

    func checkNoSignedAttributes(_ signature: RawPath) throws {
        let dump = try Shell.check("openssl", ["cms", "-cmsout", "-print", "-inform", "DER", "-in", signature.string]).stdoutText
        let lines = dump.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let i = lines.firstIndex(of: "signedAttrs:") else { return XCTFail("no signedAttrs field in:\n\(dump)") }
        XCTAssertEqual(lines[i + 1], "<ABSENT>", "the signature has signed attributes")
    }

    func testSignSidecarImage() throws {
        var options = PackOptions()
        options.verity = true
        let image = try pack(try source(), options: options, name: "svc_1.raw")
        let out = work.sub("signed")
        let r = try mkportable(["sign", "--key", key, "--cert", cert, "--out", out.string, image.string])
        XCTAssertTrue(r.succeeded, r.summary)
        XCTAssertEqual(try Posix.listDirectory(out).map(\.string).sorted(), ["svc_1.raw", "svc_1.roothash", "svc_1.roothash.p7s", "svc_1.verity"])
        for ext in [".raw", ".verity", ".roothash"] {
            XCTAssertTrue(try Posix.readFile(out.appending(RawPath("svc_1" + ext))) == Posix.readFile(work.sub(RawPath("svc_1" + ext))), "\(ext) changed")
        }
        let hash = String(String(decoding: try Posix.readFile(work.sub("svc_1.roothash")), as: UTF8.self).dropLast())
        let p7s = out.appending("svc_1.roothash.p7s")
        XCTAssertTrue(try opensslVerifies(p7s, content: hash, cert: cert), "openssl rejects the signature")
        XCTAssertFalse(try opensslVerifies(p7s, content: hash + "\n", cert: cert), "the signature is not over the bare hex")
        XCTAssertFalse(try opensslVerifies(p7s, content: hash, cert: otherCert), "another certificate verifies it")
        try checkNoSignedAttributes(p7s)
        XCTAssertTrue(try mkportable(["verify", "--cert", cert, out.appending("svc_1.raw").string]).succeeded)
        let wrong = try mkportable(["verify", "--cert", otherCert, out.appending("svc_1.raw").string])
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertEqual(wrong.stderrText.split(separator: "\n").count, 1, wrong.stderrText)
    }

    func testSignDDI() throws {
        let image = work.sub("svc_1.raw")
        XCTAssertTrue(try mkportable(["pack", "--ddi", "--arch", "x86_64", try source().string, image.string]).succeeded)
        let out = work.sub("signed")
        let r = try mkportable(["sign", "--key", key, "--cert", cert, "--out", out.string, image.string])
        XCTAssertTrue(r.succeeded, r.summary)
        let signed = out.appending("svc_1.raw")
        let table = try XCTUnwrap(try JSONSerialization.jsonObject(with: Shell.check("sfdisk", ["--json", signed.string]).stdout) as? [String: Any])
        let parts = try XCTUnwrap((table["partitiontable"] as? [String: Any])?["partitions"] as? [[String: Any]])
        XCTAssertEqual(parts.compactMap { ($0["type"] as? String)?.lowercased() },
                       ["4f68bce3-e8cd-4db1-96e7-fbcaf984b709", "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5", "41092b05-9fc8-4523-994f-2def0408b176"])
        XCTAssertEqual(parts.last?["name"] as? String, "root-x86-64-verity-sig")
        XCTAssertEqual(parts.last?["size"] as? Int, 32)
        let v = try Shell.run("sfdisk", ["--verify", signed.string])
        XCTAssertTrue(v.stdoutText.contains("No errors detected"), v.stdoutText)

        // Only the table and the signature partition changed.
        let before = try Posix.readFile(image), after = try Posix.readFile(signed)
        XCTAssertEqual(before.count, after.count)
        let sigStart = (parts[2]["start"] as! Int) * 512
        XCTAssertTrue(before[(34 * 512)..<sigStart] == after[(34 * 512)..<sigStart], "root or verity partition changed")

        // The JSON, as systemd reads it.
        let content = Array(after[sigStart..<(sigStart + 16384)])
        let jsonEnd = content.firstIndex(of: 0) ?? content.count
        XCTAssertTrue(content[jsonEnd...].allSatisfy { $0 == 0 }, "not NUL-padded")
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(content[..<jsonEnd])) as? [String: String])
        let hash = String(String(decoding: try Posix.readFile(work.sub("svc_1.roothash")), as: UTF8.self).dropLast())
        XCTAssertEqual(object["rootHash"], hash)
        let fp = try Shell.check("openssl", ["x509", "-in", cert, "-noout", "-fingerprint", "-sha256"]).stdoutText
        let want = fp.split(separator: "=").last.map { $0.replacingOccurrences(of: ":", with: "").trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }
        XCTAssertEqual(object["certificateFingerprint"], want)
        let der = try XCTUnwrap(Data(base64Encoded: object["signature"] ?? ""))
        let p7s = work.sub("from-partition.p7s")
        try Posix.writeFile(p7s, Array(der))
        XCTAssertTrue(try opensslVerifies(p7s, content: hash, cert: cert))
        try checkNoSignedAttributes(p7s)
        XCTAssertTrue(try mkportable(["verify", "--cert", cert, signed.string]).succeeded)
        XCTAssertNotEqual(try mkportable(["verify", "--cert", otherCert, signed.string]).status, 0)

        try checkDissectSeesSigned(signed, fsType: "squashfs")
    }

    /// systemd-dissect calls the DDI's root (of `fsType`) signed and finds
    /// the signature partition.
    func checkDissectSeesSigned(_ signed: RawPath, fsType: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let dissect = try KernelMount.dissector(for: "systemd-dissect of the signed DDI")
        let d = try Shell.run(dissect, ["--no-pager", signed.string])
        XCTAssertTrue(d.succeeded, d.summary, file: file, line: line)
        let root = d.stdoutText.split(separator: "\n").first { $0.contains(" root ") && $0.contains(fsType) }
        XCTAssertTrue(root?.contains(" signed ") ?? false, "systemd-dissect does not see a signed \(fsType) root: \(d.stdoutText)", file: file, line: line)
        XCTAssertTrue(d.stdoutText.contains("verity_hash_signature"), d.stdoutText, file: file, line: line)
    }

    /// `sign` of erofs images (issue 20): the sidecar image's
    /// .roothash.p7s over its root hash, which openssl verifies, and the
    /// DDI's signature partition, whose erofs root systemd-dissect calls
    /// signed; `verify --cert` takes both with the certificate and refuses
    /// them with another. The images themselves do not change.
    func testSignErofsSidecarAndDDI() throws {
        let src = try source()
        let side = work.sub("side"), ddi = work.sub("ddi")
        for (args, dir) in [(["--verity"], side), (["--ddi", "--arch", "x86_64"], ddi)] {
            try Posix.makeDirectories(dir)
            let image = dir.appending("svc_1.raw")
            let r = try mkportable(["pack", "--filesystem", "erofs"] + args + [src.string, image.string])
            XCTAssertTrue(r.succeeded, r.summary)
            // erofs's magic at byte 1024 of the file system (the DDI's root
            // partition starts at LBA 40).
            let at = (dir == ddi ? 40 * 512 : 0) + 1024
            XCTAssertEqual(Array(try Posix.readFile(image)[at ..< at + 4]), [0xE2, 0xE1, 0xF5, 0xE0], "\(image): no erofs magic")
        }
        for dir in [side, ddi] {
            let out = dir.appending("signed")
            let r = try mkportable(["sign", "--key", key, "--cert", cert, "--out", out.string, dir.appending("svc_1.raw").string])
            XCTAssertTrue(r.succeeded, r.summary)
            let signed = out.appending("svc_1.raw")
            XCTAssertTrue(try mkportable(["verify", "--cert", cert, signed.string]).succeeded, "verify --cert of \(signed)")
            let wrong = try mkportable(["verify", "--cert", otherCert, signed.string])
            XCTAssertNotEqual(wrong.status, 0, "verify --cert with another certificate took \(signed)")
            XCTAssertEqual(wrong.stderrText.split(separator: "\n").count, 1, wrong.stderrText)
        }
        XCTAssertTrue(try Posix.readFile(side.appending("signed/svc_1.raw")) == Posix.readFile(side.appending("svc_1.raw")), "sign changed the erofs image")
        let hash = String(String(decoding: try Posix.readFile(side.appending("svc_1.roothash")), as: UTF8.self).dropLast())
        XCTAssertTrue(try opensslVerifies(side.appending("signed/svc_1.roothash.p7s"), content: hash, cert: cert), "openssl rejects the signature")
        XCTAssertEqual(try Posix.readFile(ddi.appending("svc_1.roothash")), try Posix.readFile(side.appending("svc_1.roothash")),
                       "the erofs DDI and sidecars of one tree must have one root hash")
        try checkDissectSeesSigned(ddi.appending("signed/svc_1.raw"), fsType: "erofs")
    }

    func testSignRefusesAndLeavesNothing() throws {
        var options = PackOptions()
        options.verity = true
        let image = try pack(try source(), options: options, name: "svc_1.raw")
        let out = work.sub("signed")
        func refused(_ args: [String], _ word: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let r = try mkportable(["sign"] + args)
            XCTAssertNotEqual(r.status, 0, file: file, line: line)
            XCTAssertEqual(r.stderrText.split(separator: "\n").count, 1, r.stderrText, file: file, line: line)
            XCTAssertTrue(r.stderrText.contains(word), "expected '\(word)': \(r.stderrText)", file: file, line: line)
            XCTAssertNil(try Posix.lstatIfExists(out), "left \(out) behind", file: file, line: line)
            let leftovers = try Posix.listDirectory(work.path).filter { $0.string.hasPrefix("signed") }
            XCTAssertEqual(leftovers, [], file: file, line: line)
        }
        try refused(["--key", otherKey, "--cert", cert, "--out", out.string, image.string], "does not belong to the certificate")
        try refused(["--key", work.sub("missing.pem").string, "--cert", cert, "--out", out.string, image.string], "cannot read the private key")
        try refused(["--key", cert, "--cert", cert, "--out", out.string, image.string], "not an unencrypted PEM private key")
        // An image whose tree does not match it.
        let bytes = try Posix.readFile(image)
        try Posix.writeAt(image, offset: 5000, [bytes[5000] ^ 0x10])
        try refused(["--key", key, "--cert", cert, "--out", out.string, image.string], "does not match its hash")
        // An existing output.
        try Posix.makeDirectories(out)
        let r = try mkportable(["sign", "--key", key, "--cert", cert, "--out", out.string, image.string])
        XCTAssertTrue(r.status != 0 && r.stderrText.contains("already exists"), r.summary)
        XCTAssertEqual(try Posix.listDirectory(out), [])
    }

    /// Issue 22.5: `--cert` or `--key` naming a FIFO (no writer) used to
    /// hang in fopen, in sign and verify alike. Now it is opened without
    /// blocking and refused as not a regular file, in one line, at once.
    func testCertOrKeyNamingAFIFOIsRefusedAtOnce() throws {
        var options = PackOptions()
        options.verity = true
        let image = try pack(try source(), options: options, name: "svc_1.raw")
        let fifo = work.sub("fifo.pem")
        try Posix.mkfifo(fifo)
        let out = work.sub("signed")
        let good = work.sub("good")
        XCTAssertTrue(try mkportable(["sign", "--key", key, "--cert", cert, "--out", good.string, image.string]).succeeded)
        let cases: [([String], String)] = [
            (["sign", "--key", fifo.string, "--cert", cert, "--out", out.string, image.string], "sign --key FIFO"),
            (["sign", "--key", key, "--cert", fifo.string, "--out", out.string, image.string], "sign --cert FIFO"),
            (["verify", "--cert", fifo.string, good.appending("svc_1.raw").string], "verify --cert FIFO"),
        ]
        for (args, label) in cases {
            let r = try runLimited(try MkportableBinary.path(), args, timeout: 20)
            XCTAssertEqual(r.status, 1, "[\(label)] \(r.summary)")
            XCTAssertEqual(r.stderrText.split(separator: "\n").count, 1, "[\(label)] \(r.stderrText)")
            XCTAssertTrue(r.stderrText.contains("\(fifo): is a FIFO, not a regular file"), "[\(label)] \(r.stderrText)")
            XCTAssertNil(try Posix.lstatIfExists(out), "[\(label)] left \(out)")
        }
    }

    /// Issue 22.6: SIGINT, SIGTERM or SIGHUP while sign fills DIR.tmp-PID
    /// (polled for, then signalled) removes it and its files: no DIR, no
    /// DIR.tmp-*, and the process dies of the signal. Three rounds per
    /// signal; the temporary directory exists for most of sign's run.
    func testSignalWhileSigningLeavesNothing() throws {
        var options = PackOptions()
        options.verity = true
        let src = try newSource()
        try src.file("etc/os-release", "ID=nixos\nPORTABLE_PREFIXES=svc\n")
        try src.file("big", (0..<24_000_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) })
        let image = try pack(src.root, options: options, name: "svc_1.raw")
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            for round in 0..<3 {
                let out = work.sub(RawPath("signed-\(sig)-\(round)"))
                let p = Process()
                p.executableURL = URL(fileURLWithPath: try MkportableBinary.path())
                p.arguments = ["sign", "--key", key, "--cert", cert, "--out", out.string, image.string]
                p.standardOutput = FileHandle.nullDevice
                p.standardError = FileHandle.nullDevice
                try p.run()
                let temp = RawPath(out.string + ".tmp-\(p.processIdentifier)")
                var sawTemporary = false
                while p.isRunning {
                    if (try? Posix.lstatIfExists(temp)) ?? nil != nil {
                        sawTemporary = true
                        kill(p.processIdentifier, sig)
                        break
                    }
                    usleep(200)
                }
                p.waitUntilExit()
                let label = "[signal \(sig), round \(round)]"
                XCTAssertTrue(sawTemporary, "\(label) sign finished before DIR.tmp-PID was seen")
                XCTAssertEqual(p.terminationReason, .uncaughtSignal, label)
                XCTAssertEqual(p.terminationStatus, sig, label)
                XCTAssertNil(try Posix.lstatIfExists(out), "\(label) left \(out)")
                XCTAssertNil(try Posix.lstatIfExists(temp), "\(label) left \(temp)")
            }
        }
    }
}
