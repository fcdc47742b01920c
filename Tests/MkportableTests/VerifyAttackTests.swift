import Foundation
import XCTest

/// `mkportable verify` and `sign` on crafted inputs: damaged or forged
/// sidecars, superblocks, root hashes, signatures and partition tables
/// (with their CRC32s recomputed, as an attacker would). Each case must end
/// with exit status 1, one line on stderr naming the problem, no crash and
/// no file written or changed; `sign` must leave no output directory.
final class VerifyAttackTests: ImageTestCase {
    var bin = ""
    var side: [String: [UInt8]] = [:]  // "raw", "verity", "roothash" of a sidecar image
    var disk: [UInt8] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        bin = try MkportableBinary.path()
        let src = try newSource()
        try src.file("etc/os-release", "ID=nixos\nPORTABLE_PREFIXES=svc\n")
        try src.file("etc/systemd/system/svc.service", "[Service]\nExecStart=/bin/true\n")
        try src.file("usr/bin/blob", TestData.random(900_000, seed: 3), mode: 0o755)
        let dir = work.sub("made")
        try Posix.mkdir(dir)
        try Shell.check(bin, ["pack", "--verity", "--comp", "zstd", src.root.string, dir.appending("s_1.raw").string])
        try Shell.check(bin, ["pack", "--ddi", "--arch", "x86_64", "--comp", "zstd", src.root.string, dir.appending("d_1.raw").string])
        for ext in ["raw", "verity", "roothash"] { side[ext] = try Posix.readFile(dir.appending(RawPath("s_1." + ext))) }
        disk = try Posix.readFile(dir.appending("d_1.raw"))
    }

    /// Names, sizes and bytes of every file in `dir`.
    func snapshot(_ dir: RawPath) throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for n in try Posix.listDirectory(dir) { out[n.string] = try Posix.readFile(dir.appending(n)) }
        return out
    }

    /// Runs `verify` (and `sign`) in a fresh directory holding `files`;
    /// both must refuse with one line containing `word`.
    func assertRefused(_ label: String, _ files: [String: [UInt8]], image: String, word: String, cert: Bool = false,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = work.sub(RawPath("case-\(label.replacingOccurrences(of: " ", with: "-").replacingOccurrences(of: "/", with: "_"))"))
        try Posix.mkdir(dir)
        for (name, bytes) in files { try Posix.writeFile(dir.appending(RawPath(name)), bytes) }
        let before = try snapshot(dir)
        let img = dir.appending(RawPath(image)).string
        var runs = [("verify", try Shell.run(bin, ["verify"] + (cert ? ["--cert", work.sub("c.pem").string] : []) + [img]))]
        if !cert {
            let out = dir.appending("signed").string
            runs.append(("sign", try Shell.run(bin, ["sign", "--key", work.sub("k.pem").string, "--cert", work.sub("c.pem").string, "--out", out, img])))
        }
        for (what, r) in runs {
            XCTAssertEqual(r.status, 1, "[\(label)] \(what) must refuse: \(r.summary)", file: file, line: line)
            let lines = r.stderrText.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "[\(label)] \(what): one line: \(r.stderrText)", file: file, line: line)
            XCTAssertTrue(r.stderrText.contains(word), "[\(label)] \(what): expected '\(word)': \(r.stderrText)", file: file, line: line)
            XCTAssertFalse(r.stderrText.contains("Fatal error") || r.stderrText.contains("crashed"), "[\(label)] \(what) crashed", file: file, line: line)
        }
        XCTAssertEqual(try snapshot(dir), before, "[\(label)] a file was written or changed", file: file, line: line)
    }

    func makeKeys() throws {
        guard Shell.which("openssl") != nil else { throw XCTSkip("openssl is not installed (Debian: openssl)") }
        try Shell.check("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", work.sub("k.pem").string,
                                    "-out", work.sub("c.pem").string, "-subj", "/CN=attack test", "-days", "30"])
    }

    func sidecars(raw: [UInt8]? = nil, verity: [UInt8]? = nil, roothash: [UInt8]? = nil) -> [String: [UInt8]] {
        ["t_1.raw": raw ?? side["raw"]!, "t_1.verity": verity ?? side["verity"]!, "t_1.roothash": roothash ?? side["roothash"]!]
    }

    func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

    func patched(_ b: [UInt8], at o: Int, _ bytes: [UInt8]) -> [UInt8] {
        var c = b
        c.replaceSubrange(o..<(o + bytes.count), with: bytes)
        return c
    }

    func testForgedSidecarsAreRefused() throws {
        try makeKeys()
        let v = side["verity"]!, raw = side["raw"]!, hash = side["roothash"]!
        let blocks = UInt64(raw.count / 4096)
        let cases: [(String, [String: [UInt8]], String)] = [
            ("verity truncated to 100 bytes", sidecars(verity: Array(v.prefix(100))), "shorter than a verity superblock"),
            ("verity truncated to its superblock", sidecars(verity: Array(v.prefix(4096))), "hash tree differs"),
            ("verity cut mid-block", sidecars(verity: Array(v.dropLast(100))), "hash tree differs"),
            ("verity oversized", sidecars(verity: v + [UInt8](repeating: 0, count: 8192)), "more than"),
            ("empty verity", sidecars(verity: []), "shorter than a verity superblock"),
            ("hash type 0", sidecars(verity: patched(v, at: 12, le(0, 4))), "hash type 0"),
            ("version 2", sidecars(verity: patched(v, at: 8, le(2, 4))), "version 2"),
            ("data block size 512", sidecars(verity: patched(v, at: 64, le(512, 4))), "block sizes 512/4096"),
            ("hash block size 1024", sidecars(verity: patched(v, at: 68, le(1024, 4))), "block sizes 4096/1024"),
            ("salt size 300", sidecars(verity: patched(v, at: 80, le(300, 2))), "salt size 300 is over 256"),
            ("sha1", sidecars(verity: patched(v, at: 32, Array("sha1".utf8) + [UInt8](repeating: 0, count: 28))), "only sha256"),
            ("0 data blocks", sidecars(verity: patched(v, at: 72, le(0, 8))), "counts 0 data blocks"),
            ("one block too many", sidecars(verity: patched(v, at: 72, le(blocks + 1, 8))), "covers \(blocks + 1) blocks"),
            ("2^60 data blocks", sidecars(verity: patched(v, at: 72, le(1 << 60, 8))), "which no image has"),
            ("2^64-1 data blocks", sidecars(verity: patched(v, at: 72, le(UInt64.max, 8))), "which no image has"),
            ("salt byte", sidecars(verity: patched(v, at: 100, [v[100] ^ 1])), "does not match its hash"),
            ("hash area byte", sidecars(verity: patched(v, at: 5000, [v[5000] ^ 1])), "hash tree differs from the image's at byte 5000"),
            ("superblock padding byte", sidecars(verity: patched(v, at: 400, [v[400] ^ 1])), "hash tree differs from the image's at byte 400"),
            ("data byte", sidecars(raw: patched(raw, at: 300_000, [raw[300_000] ^ 1])), "data block 73"),
            ("squashfs superblock byte", sidecars(raw: patched(raw, at: 10, [raw[10] ^ 1])), "data block 0"),
            ("image not a multiple of 4096", sidecars(raw: raw + [0]), "not a whole number of 4096-byte blocks"),
            ("image truncated by a block", sidecars(raw: Array(raw.dropLast(4096))), "covers \(blocks) blocks"),
            ("empty image", sidecars(raw: []), "0 bytes, not a whole number"),
            ("roothash of another image", sidecars(roothash: Array((String(repeating: "ab", count: 32) + "\n").utf8)), "differs from abab"),
            ("roothash cut to 20 bytes", sidecars(roothash: Array(hash.prefix(40)) + [10]), "differs from"),
            ("roothash odd digits", sidecars(roothash: Array(hash.prefix(63)) + [10]), "not a root hash"),
            ("roothash non-hex", sidecars(roothash: Array("zz".utf8) + Array(hash.dropFirst(2))), "not a root hash"),
            ("roothash 0x prefix", sidecars(roothash: Array("0x".utf8) + hash), "not a root hash"),
            ("roothash with a NUL", sidecars(roothash: Array(hash.dropLast()) + [0]), "not a root hash"),
            ("empty roothash", sidecars(roothash: []), "not a root hash"),
        ]
        for (label, files, word) in cases { try assertRefused(label, files, image: "t_1.raw", word: word) }

        // Signatures: garbage, empty, and a valid signature of another hash.
        let other = work.sub("other.p7s")
        try Posix.writeFile(work.sub("other.hash"), Array(String(repeating: "a", count: 64).utf8))
        let signed = try Shell.run("openssl", ["smime", "-sign", "-binary", "-noattr", "-outform", "DER", "-signer", work.sub("c.pem").string,
                                               "-inkey", work.sub("k.pem").string, "-out", other.string, "-in", work.sub("other.hash").string])
        XCTAssertTrue(signed.succeeded, signed.summary)
        for (label, p7s, word) in [("garbage p7s", Array("garbage".utf8), "not a DER PKCS#7"), ("empty p7s", [], "not a DER PKCS#7"),
                                   ("p7s of another hash", try Posix.readFile(other), "does not verify")] {
            var files = sidecars()
            files["t_1.roothash.p7s"] = p7s
            try assertRefused(label, files, image: "t_1.raw", word: word, cert: true)
        }
    }

    /// What systemd accepts in a `.roothash` (its hex parser takes either
    /// case; surrounding whitespace is stripped), verify accepts; and the
    /// superblock's UUID, which no hash covers (veritysetup verify ignores
    /// it too), is a label, not something to verify.
    func testRootHashSpellingsSystemdAcceptsAreAccepted() throws {
        let hash = side["roothash"]!
        for (label, text) in [("upper case", Array(String(decoding: hash, as: UTF8.self).uppercased().utf8)),
                              ("no newline", Array(hash.dropLast())), ("two newlines", hash + [10]), ("spaces", [32] + hash + [32])] {
            let dir = work.sub(RawPath("ok-\(label.replacingOccurrences(of: " ", with: "-"))"))
            try Posix.mkdir(dir)
            for (name, bytes) in sidecars(roothash: text) { try Posix.writeFile(dir.appending(RawPath(name)), bytes) }
            let r = try Shell.run(bin, ["verify", dir.appending("t_1.raw").string])
            XCTAssertTrue(r.succeeded, "[\(label)] \(r.summary)")
        }
    }

    // MARK: DDIs

    static func crc32(_ b: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for x in b {
            c ^= UInt32(x)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0xEDB8_8320 : c >> 1 }
        }
        return ~c
    }

    /// The disk with its entry array changed by `edit` and both GPTs'
    /// CRC32s recomputed (a forgery, not a damaged table).
    func forged(_ d: [UInt8], _ edit: (inout [UInt8]) -> Void) -> [UInt8] {
        var d = d
        let sectors = d.count / 512
        var entries = Array(d[1024..<(1024 + 16384)])
        edit(&entries)
        let crc = UInt64(Self.crc32(entries[...]))
        d.replaceSubrange(1024..<(1024 + 16384), with: entries)
        d.replaceSubrange(((sectors - 33) * 512)..<((sectors - 1) * 512), with: entries)
        for h in [512, (sectors - 1) * 512] {
            d.replaceSubrange((h + 88)..<(h + 92), with: le(crc, 4))
            d.replaceSubrange((h + 16)..<(h + 20), with: [0, 0, 0, 0])
            d.replaceSubrange((h + 16)..<(h + 20), with: le(UInt64(Self.crc32(d[h..<(h + 92)])), 4))
        }
        return d
    }

    func lba(_ e: inout [UInt8], _ i: Int, first: UInt64? = nil, last: UInt64? = nil) {
        if let first { e.replaceSubrange((i * 128 + 32)..<(i * 128 + 40), with: le(first, 8)) }
        if let last { e.replaceSubrange((i * 128 + 40)..<(i * 128 + 48), with: le(last, 8)) }
    }

    func rd(_ b: [UInt8], _ o: Int) -> UInt64 { (0..<8).reversed().reduce(0) { $0 << 8 | UInt64(b[o + $1]) } }

    func testForgedDDIsAreRefused() throws {
        try makeKeys()
        let d = disk
        let sectors = UInt64(d.count / 512)
        let rootFirst = rd(d, 1024 + 32), rootLast = rd(d, 1024 + 40), verityFirst = rd(d, 1024 + 128 + 32)
        let verityOffset = Int(verityFirst * 512)
        let cases: [(String, [UInt8], String)] = [
            ("backup header byte", patched(d, at: d.count - 512 + 60, [d[d.count - 512 + 60] ^ 1]), "backup GPT"),
            ("backup array byte", patched(d, at: d.count - 1024, [d[d.count - 1024] ^ 1]), "backup GPT"),
            ("backup cut off", Array(d.dropLast(33 * 512)), "backup header at LBA \(sectors - 1)"),
            ("disk extended by a sector", d + [UInt8](repeating: 0, count: 512), "backup header at LBA \(sectors - 1)"),
            ("disk not whole sectors", d + [1], "not a whole number of 512-byte sectors"),
            ("root overlaps verity", forged(d) { lba(&$0, 0, last: verityFirst + 4) }, "overlap"),
            ("verity overlaps root", forged(d) { lba(&$0, 1, first: rootLast - 7) }, "overlap"),
            ("root beyond the disk", forged(d) { lba(&$0, 0, last: sectors + 100) }, "outside the disk's usable sectors"),
            ("verity at LBA 10^12", forged(d) { lba(&$0, 1, last: 1_000_000_000_000) }, "outside the disk's usable sectors"),
            ("last LBA before first", forged(d) { lba(&$0, 0, first: rootLast, last: rootFirst) }, "outside the disk's usable sectors"),
            ("LBAs near 2^64", forged(d) { lba(&$0, 1, first: 1 << 63, last: UInt64.max) }, "outside the disk's usable sectors"),
            ("root over the GPT", forged(d) { lba(&$0, 0, first: 1) }, "outside the disk's usable sectors"),
            ("two verity partitions", forged(d) { e in
                e.replaceSubrange(256..<384, with: e[128..<256]); lba(&e, 2, first: sectors - 40, last: sectors - 35)
            }, "more than one partition of type"),
            ("root UUID changed", forged(d) { $0[16] ^= 1 }, "does not match the partition UUIDs"),
            ("data byte", patched(d, at: Int(rootFirst * 512) + 300_000, [d[Int(rootFirst * 512) + 300_000] ^ 1]), "data block 73"),
            ("hash area byte", patched(d, at: verityOffset + 6000, [d[verityOffset + 6000] ^ 1]), "hash tree differs"),
            ("verity superblock: one block more", patched(d, at: verityOffset + 72, le(rd(d, verityOffset + 72) + 1, 8)), "the tree is not this partition's"),
            ("verity superblock: 2^60 blocks", patched(d, at: verityOffset + 72, le(1 << 60, 8)), "which no image has"),
            ("verity superblock: 0 blocks", patched(d, at: verityOffset + 72, le(0, 8)), "which no image has"),
            ("squashfs superblock byte", patched(d, at: Int(rootFirst * 512) + 10, [d[Int(rootFirst * 512) + 10] ^ 1]), "data block 0"),
        ]
        for (label, bytes, word) in cases { try assertRefused(label, ["u_1.raw": bytes], image: "u_1.raw", word: word) }
    }

    /// `d` with `bytes` at `o` of the primary (or backup) GPT header and
    /// that header's CRC32 recomputed.
    func header(_ d: [UInt8], backup: Bool = false, at o: Int, _ bytes: [UInt8]) -> [UInt8] {
        var d = patched(d, at: (backup ? d.count - 512 : 512) + o, bytes)
        let h = backup ? d.count - 512 : 512
        d.replaceSubrange((h + 16)..<(h + 20), with: [0, 0, 0, 0])
        d.replaceSubrange((h + 16)..<(h + 20), with: le(UInt64(Self.crc32(d[h..<(h + 92)])), 4))
        return d
    }

    /// `d` with one more partition entry (index 2) of `type` over `sectors`
    /// sectors right after root-verity, where sign would put the signature.
    func extraPartition(_ d: [UInt8], type: String, name: String, sectors: UInt64 = 8, flags: UInt64 = 0) -> [UInt8] {
        let start = rd(d, 1024 + 128 + 40) + 1
        return forged(d) { e in
            var entry = self.guidBytes(type) + self.guidBytes("aaaaaaaa-2222-4333-8444-555555555555")
            entry += self.le(start, 8) + self.le(start + sectors - 1, 8) + self.le(flags, 8)
            entry += Array(name.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
            entry += [UInt8](repeating: 0, count: 128 - entry.count)
            e.replaceSubrange(256..<384, with: entry)
        }
    }

    /// A GUID's 16 bytes as GPT stores them (first three fields little-endian).
    func guidBytes(_ text: String) -> [UInt8] {
        let h = Array(text.replacingOccurrences(of: "-", with: "").utf8)
        let b = (0..<16).map { UInt8(String(decoding: h[(2 * $0)..<(2 * $0 + 2)], as: UTF8.self), radix: 16)! }
        return [b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6]] + b[8..<16]
    }

    /// What systemd's dissection reads besides the GPT's CRC-covered
    /// entries: the MBR (blkid reads a disk without a protective MBR as a
    /// DOS disk, and dissection falls back to its partitions), the bytes
    /// no partition holds, partitions other than root, root-verity and
    /// root-verity-sig (var, srv, home are mounted unverified), their
    /// types and flags, and both GPT headers' every field (issue 22,
    /// defects 2 and 3). verify and sign refuse each.
    func testDDIsDissectionWouldReadOtherwiseAreRefused() throws {
        try makeKeys()
        let d = disk
        let sectors = UInt64(d.count / 512), last = sectors - 1
        let sigStart = Int(rd(d, 1024 + 128 + 40) + 1) * 512
        let root = [UInt8](d[20480..<(20480 + 4096)])
        let cases: [(String, [UInt8], String)] = [
            ("DOS table over the gap", patched(patched(d, at: 446, [0x80, 0, 0, 0, 0x83, 0, 0, 0] + le(34, 4) + le(6, 4)), at: 34 * 512, Array(root[0..<3072])),
             "first partition record has type 0x83, not 0xEE"),
            ("second MBR record", patched(d, at: 462, [0, 0, 0, 0, 0x83, 0, 0, 0] + le(34, 4) + le(6, 4)), "MBR partition record 2 (type 0x83)"),
            ("hybrid MBR: 0xEE record 2", patched(d, at: 462, [0, 0, 2, 0, 0xEE, 0xFF, 0xFF, 0xFF] + le(1, 4) + le(100, 4)), "MBR partition record 2 (type 0xee)"),
            ("boot code", patched(d, at: 0, [0xEB, 0x63, 0x90]), "boot code"),
            ("disk signature", patched(d, at: 440, [1, 2, 3, 4]), "boot code or a disk signature at byte 440"),
            ("protective record too short", patched(d, at: 458, le(sectors - 10, 4)), "protective record differs"),
            ("no 55 AA", patched(d, at: 510, [0, 0]), "55 AA"),
            ("bytes between the entry array and root", patched(d, at: 34 * 512, Array(root[0..<3072])), "byte 17408, outside every partition, is not zero"),
            ("bytes after root-verity", patched(d, at: sigStart + 100, [1]), "byte \(sigStart + 100), outside every partition"),
            ("var partition", extraPartition(d, type: "4d21b016-b534-45c2-a9fb-5c16e091fd2d", name: "var"),
             "partition var (type 4d21b016-b534-45c2-a9fb-5c16e091fd2d) is not part of a portable DDI"),
            ("srv partition", extraPartition(d, type: "3b8f8425-20e0-4f3b-907f-1a25a76f98e8", name: "srv"), "partition srv"),
            ("home partition", extraPartition(d, type: "933ac7e1-2eb4-4f13-b844-0e14e2aef915", name: "home"), "partition home"),
            ("usr partition", extraPartition(d, type: "8484680c-9521-48c6-9c11-b0720656f69e", name: "usr-x86-64"), "partition usr-x86-64"),
            ("generic Linux partition", extraPartition(d, type: "0fc63daf-8483-4772-8e79-3d69d8477de4", name: ""), "partition of type 0fc63daf"),
            ("arm64 signature beside x86-64", extraPartition(d, type: "6db69de6-29f4-4758-a7a5-962190f00ce3", name: "sig"), "partition sig"),
            ("arm64 verity type", forged(d) { $0.replaceSubrange(128..<144, with: self.guidBytes("df3300ce-d69f-4c92-978c-9bfb0f38d820")) },
             "partition root-x86-64-verity (type df3300ce-d69f-4c92-978c-9bfb0f38d820) is not part of a portable DDI"),
            ("root flagged no-auto", forged(d) { $0[48 + 7] |= 0x80 }, "attribute flags 0x9000000000000000"),
            ("signature flagged", extraPartition(d, type: "41092b05-9fc8-4523-994f-2def0408b176", name: "root-x86-64-verity-sig", sectors: 32, flags: 1 << 60),
             "attribute flags 0x1000000000000000, not 0x0"),
            ("an unused entry not zero", forged(d) { $0[5 * 128 + 60] = 1 }, "GPT entry 6 is unused"),
            ("primary header revision", header(d, at: 8, le(0x10001, 4)), "primary GPT header has revision 0x10001"),
            ("backup header size 96", header(d, backup: true, at: 12, le(96, 4)), "backup GPT header is 96 bytes"),
            ("backup my_lba", header(d, backup: true, at: 24, le(last - 1, 8)), "backup GPT header says it is at LBA \(last - 1)"),
            ("backup alternate_lba", header(d, backup: true, at: 32, le(2, 8)), "with the other at LBA 2"),
            ("first usable LBA 33", header(header(d, at: 40, le(33, 8)), backup: true, at: 40, le(33, 8)), "usable LBAs 33-"),
            ("last usable over the backup array", header(header(d, at: 48, le(last - 1, 8)), backup: true, at: 48, le(last - 1, 8)), "not between the entry arrays"),
            ("backup usable LBAs differ", header(d, backup: true, at: 48, le(last - 40, 8)), "disagrees with the primary"),
            ("backup disk GUID differs", header(d, backup: true, at: 60, [0x5A]), "disagrees with the primary"),
            ("entry array at LBA 3", header(d, at: 72, le(3, 8)), "puts its entry array at LBA 3"),
            ("129 entries", header(d, at: 80, le(129, 4)), "129 entries of 128 bytes"),
            ("entries of 256 bytes", header(d, at: 84, le(256, 4)), "128 entries of 256 bytes"),
            ("header padding", header(d, at: 200, [1]), "after its 92 bytes"),
        ]
        for (label, bytes, word) in cases { try assertRefused(label, ["u_1.raw": bytes], image: "u_1.raw", word: word) }
    }

    /// A DDI is a DDI whatever its name: verify and sign accept one not
    /// named NAME.raw, and refuse it, damaged, as they refuse a NAME.raw
    /// (issue 22, defect 13); and a signature partition is read only in
    /// the form sign writes.
    func testDDINotNamedRawIsSignedAndCheckedAsADDI() throws {
        try makeKeys()
        let dir = work.sub("named")
        try Posix.mkdir(dir)
        try Posix.writeFile(dir.appending("d.img"), disk)
        let out = dir.appending("signed")
        let signed = try Shell.run(bin, ["sign", "--key", work.sub("k.pem").string, "--cert", work.sub("c.pem").string,
                                         "--out", out.string, dir.appending("d.img").string])
        XCTAssertEqual(signed.status, 0, signed.summary)
        XCTAssertEqual(try Posix.listDirectory(out).map(\.string), ["d.img"])
        let verified = try Shell.run(bin, ["verify", "--cert", work.sub("c.pem").string, out.appending("d.img").string])
        XCTAssertEqual(verified.status, 0, verified.summary)
        XCTAssertTrue(verified.stdoutText.contains("partition root-x86-64-verity-sig is a valid signature"), verified.stdoutText)

        let s = try Posix.readFile(out.appending("d.img"))
        let sig = Int(rd(s, 1024 + 256 + 32) * 512)
        try assertRefused("damaged DDI named .img", ["u.img": patched(disk, at: 30000, [disk[30000] ^ 1])], image: "u.img", word: "does not match its hash")
        let text = String(decoding: s[sig..<(sig + 16384)].prefix { $0 != 0 }, as: UTF8.self)
        for (label, json, word) in [
            ("signature JSON with a space", text.replacingOccurrences(of: "\"rootHash\":", with: "\"rootHash\": "), "in the compact form systemd-repart writes"),
            ("signature JSON in upper case", text.uppercased(), "in the compact form systemd-repart writes"),
            ("signature base64 cut", text.replacingOccurrences(of: "\"}", with: "A\"}"), "base64"),
        ] {
            let bytes = Array(json.utf8) + [UInt8](repeating: 0, count: 16384 - json.utf8.count)
            try assertRefused(label, ["u.img": patched(s, at: sig, bytes)], image: "u.img", word: word, cert: true)
        }
        try assertRefused("bytes after the signature's NULs", ["u.img": patched(s, at: sig + 16000, [1])], image: "u.img",
                          word: "not one JSON object followed by NUL bytes", cert: true)
    }
}
