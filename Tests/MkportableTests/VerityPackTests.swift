import Foundation
import XCTest

/// `mkportable pack --verity`: the image is the one `pack` writes without
/// it, every reader reads it, and NAME.verity is byte for byte what
/// `veritysetup format` writes for the same salt and UUID; veritysetup
/// verifies it, and stops verifying it after one flipped byte.
final class VerityPackTests: ImageTestCase {
    func veritysetup() throws -> String {
        guard let v = Shell.which("veritysetup") else {
            throw XCTSkip("veritysetup is not installed (Debian: cryptsetup-bin; scripts/install-deps installs it)")
        }
        return v
    }

    /// Salt and UUID straight from the superblock bytes (offsets from
    /// cryptsetup's struct verity_sb), not through mkportable's decoder.
    static func saltAndUUID(_ verity: [UInt8]) -> (salt: String, uuid: String) {
        let saltSize = Int(verity[80]) | Int(verity[81]) << 8
        let salt = verity[88..<(88 + saltSize)].map { String(format: "%02x", $0) }.joined()
        let u = verity[16..<32].map { String(format: "%02x", $0) }.joined()
        let c = Array(u)
        let uuid = [c[0..<8], c[8..<12], c[12..<16], c[16..<20], c[20..<32]].map { String($0) }.joined(separator: "-")
        return (salt, uuid)
    }

    func checkAgainstVeritysetup(image: RawPath, stem: String, label: String) throws {
        let vs = try veritysetup()
        let verityPath = work.sub(RawPath(stem + ".verity"))
        let roothash = String(decoding: try Posix.readFile(work.sub(RawPath(stem + ".roothash"))), as: UTF8.self)
        XCTAssertTrue(roothash.hasSuffix("\n") && roothash.dropLast().allSatisfy(\.isHexDigit) && roothash.count == 65,
                      "[\(label)] .roothash is not one line of 64 hex digits: \(roothash.debugDescription)")
        let hash = String(roothash.dropLast())
        let ours = try Posix.readFile(verityPath)
        let (salt, uuid) = Self.saltAndUUID(ours)
        XCTAssertEqual(salt.count, 64, "[\(label)] salt size")
        let ref = work.sub(RawPath(stem + ".ref-verity"))
        let r = try Shell.check(vs, ["format", "--salt=\(salt)", "--uuid=\(uuid)", "--data-block-size=4096",
                                     "--hash-block-size=4096", image.string, ref.string])
        XCTAssertTrue(r.stdoutText.contains(hash), "[\(label)] veritysetup's root hash differs from .roothash \(hash):\n\(r.stdoutText)")
        XCTAssertTrue(try Posix.readFile(ref) == ours, "[\(label)] \(stem).verity differs from veritysetup format's for the same salt and UUID")
        Posix.removeTree(ref)

        XCTAssertEqual(try Shell.run(vs, ["verify", image.string, verityPath.string, hash]).status, 0,
                       "[\(label)] veritysetup verify rejects the image")
        // One flipped byte, in the first block (superblock) and in a later
        // one: verification must fail.
        let size = try Posix.lstat(image).st_size
        for offset in [UInt64(10), UInt64(size) - 4096 + 17, UInt64(size / 2)] {
            let copy = work.sub(RawPath(stem + ".flipped.raw"))
            try Posix.writeFile(copy, try Posix.readFile(image))
            let b = try Posix.readFile(copy)[Int(offset)]
            try Posix.writeAt(copy, offset: offset, [b ^ 0x40])
            let v = try Shell.run(vs, ["verify", copy.string, verityPath.string, hash])
            XCTAssertNotEqual(v.status, 0, "[\(label)] veritysetup verify accepts the image with byte \(offset) flipped")
            Posix.removeTree(copy)
        }
    }

    func testPackVerityMatchesVeritysetupAndEveryReader() throws {
        let source = work.sub("src")
        try SampleTrees.kitchenSink().build(at: source)
        for (i, comp) in ["xz", "zstd", "gzip"].enumerated() {
            let stem = "svc\(i)_1.0"
            var options = PackOptions(comp: comp, blockSize: ["1M", "128K", "4K"][i], mtime: 1_700_000_000)
            let plain = try pack(source, options: options, name: stem + "-plain.raw")
            options.verity = true
            let (image, _) = try packAndVerify(source, options: options, label: "--verity --comp \(comp)", name: stem + ".raw")
            XCTAssertTrue(try Posix.readFile(plain) == Posix.readFile(image), "[\(comp)] --verity changed the image")
            try checkAgainstVeritysetup(image: image, stem: stem, label: "--comp \(comp)")
        }
    }

    func testVeritySidecarsDependOnTheImageOnly() throws {
        let src = try newSource()
        try src.file("a", "one")
        try src.file("dir/b", [UInt8](repeating: 7, count: 300_000))
        var options = PackOptions(comp: "zstd", blockSize: "4K", jobs: 1)
        options.verity = true
        try pack(src.root, options: options, name: "a_1.raw")
        options.jobs = 2
        try pack(src.root, options: options, name: "b_1.raw")
        for ext in [".raw", ".verity", ".roothash"] {
            XCTAssertTrue(try Posix.readFile(work.sub(RawPath("a_1" + ext))) == Posix.readFile(work.sub(RawPath("b_1" + ext))),
                          "\(ext) differs between --jobs 1 and --jobs 2")
        }
        // Another tree: another salt.
        try src.file("c", "two")
        try pack(src.root, options: options, name: "c_1.raw")
        XCTAssertNotEqual(Self.saltAndUUID(try Posix.readFile(work.sub("a_1.verity"))).salt,
                          Self.saltAndUUID(try Posix.readFile(work.sub("c_1.verity"))).salt)
        try checkAgainstVeritysetup(image: work.sub("c_1.raw"), stem: "c_1", label: "small")
    }

    func testVerityBadInputLeavesNothing() throws {
        let src = try newSource()
        try src.file("a", "one")
        var options = PackOptions()
        options.verity = true
        let out = work.sub("out")
        try Posix.makeDirectories(out)
        func listing() throws -> [String] { try Posix.listDirectory(out).map(\.string).sorted() }

        // Not NAME.raw.
        var r = try packer.run(source: src.root, image: out.appending("image.sqfs"), options: options)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(r.stderrText.split(separator: "\n").count, 1, r.stderrText)
        XCTAssertTrue(r.stderrText.contains("NAME.raw"), r.stderrText)
        XCTAssertEqual(try listing(), [])

        // A sidecar exists: refused without --force, and left alone.
        try Posix.writeFile(out.appending("svc.verity"), Array("keep".utf8))
        r = try packer.run(source: src.root, image: out.appending("svc.raw"), options: options)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertEqual(r.stderrText.split(separator: "\n").count, 1, r.stderrText)
        XCTAssertTrue(r.stderrText.contains("svc.verity: already exists"), r.stderrText)
        XCTAssertEqual(try listing(), ["svc.verity"])
        XCTAssertEqual(try Posix.readFile(out.appending("svc.verity")), Array("keep".utf8))

        options.force = true
        try packer.pack(source: src.root, image: out.appending("svc.raw"), options: options)
        XCTAssertEqual(try listing(), ["svc.raw", "svc.roothash", "svc.verity"])
    }
}
