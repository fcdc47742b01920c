import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

// Issue 21, "getting and using the command": what every command says and
// how it exits. The commands run in process (`runInProcess`), with their
// stdout and stderr captured; every image made is read back by unsquashfs.

final class CommandLineTests: XCTestCase {
    var tmp: TemporaryDirectory!
    var src: RawPath!

    override func setUpWithError() throws {
        tmp = try TemporaryDirectory(prefix: "command-line")
        src = tmp.sub("src")
        let tree = try TreeBuilder(root: src)
        try tree.file("bin/tool", "#!/bin/sh\necho tool\n", mode: 0o755)
        try tree.file("share/data", TestData.text(50_000, seed: 7))
    }

    override func tearDown() {
        tmp?.remove()
        super.tearDown()
    }

    func pack(_ options: [String], _ image: RawPath) throws -> CommandResult {
        try runInProcess(["pack"] + options + [src.string, image.string])
    }

    /// unsquashfs's superblock report of `image` (which also proves it reads).
    func superblock(_ image: RawPath) throws -> String {
        XCTAssertTrue(try Shell.check("unsquashfs", ["-lln", image.string]).stdoutText.contains("squashfs-root/share/data"))
        return try Shell.check("unsquashfs", ["-s", image.string]).stdoutText
    }

    // MARK: --opt=value

    func testLongOptionsTakeTheirValueAfterEquals() throws {
        let image = tmp.sub("eq.raw")
        let r = try pack(["--comp=zstd -Xcompression-level 3", "--block-size=128K", "--mtime=5", "--jobs=2"], image)
        XCTAssertEqual(r.status, 0, r.summary)
        let sb = try superblock(image)
        XCTAssertTrue(sb.contains("Compression zstd") && sb.contains("Block size 131072"), sb)
        XCTAssertTrue(sb.contains("compression-level 3"), sb)
        // The same as the two-word spelling, byte for byte.
        let two = tmp.sub("two.raw")
        XCTAssertEqual(try pack(["--comp", "zstd -Xcompression-level 3", "--block-size", "128K", "--mtime", "5"], two).status, 0)
        XCTAssertEqual(try Posix.readFile(image), try Posix.readFile(two))
        // An empty value after "=" is a value, and refused as one.
        assertCleanFailure(try pack(["--comp="], tmp.sub("x.raw")), prefix: "mkportable pack: error: ",
                           ["--comp \"\": no compressor named"], images: [tmp.sub("x.raw")])
        // A flag takes no value.
        assertCleanFailure(try pack(["--force=yes"], tmp.sub("x.raw")), status: 2, prefix: "mkportable pack: error: ",
                           ["--force takes no value; write --force alone"], images: [tmp.sub("x.raw")])
        // The other commands take it too.
        let v = try runInProcess(["verify", "--cert=/nonexistent.pem", tmp.sub("none.raw").string])
        XCTAssertEqual(v.status, 1, v.summary)
        XCTAssertFalse(v.stderrText.contains("unknown option"), v.stderrText)
    }

    // MARK: exit status: 2 for usage, 1 for failures, in every command

    func testUsageErrorsExit2AndFailuresExit1InEveryCommand() throws {
        let image = tmp.sub("u.raw").string
        let cases: [([String], Int32, String, [String])] = [
            (["pack", "--frobnicate", src.string, image], 2, "mkportable pack", ["unknown option --frobnicate; see mkportable pack --help"]),
            (["pack", src.string], 2, "mkportable pack", ["IMAGE is missing after \(src.string)"]),
            (["pack"], 2, "mkportable pack", ["SOURCE_DIR and IMAGE are missing"]),
            (["pack", src.string, image, "extra"], 2, "mkportable pack", ["expected SOURCE_DIR and IMAGE, got 3 operands"]),
            (["pack", "--comp"], 2, "mkportable pack", ["--comp needs a value"]),
            (["pack", "--arch", "aarch64", src.string, image], 2, "mkportable pack", ["--arch only applies to --ddi"]),
            (["pack", "--comp", "brotli", src.string, image], 1, "mkportable pack", ["--comp \"brotli\": unknown compressor"]),
            (["pack", tmp.sub("missing").string, image], 1, "mkportable pack", ["missing"]),
            (["verify"], 2, "mkportable verify", ["IMAGE.raw is missing"]),
            (["verify", "--bogus", image], 2, "mkportable verify", ["unknown option --bogus"]),
            (["verify", image], 1, "mkportable verify", [image]),
            (["sign", "--key", "k.pem", "--cert", "c.pem", "--out", tmp.sub("o").string], 2, "mkportable sign", ["IMAGE.raw is missing"]),
            (["sign", "--bogus"], 2, "mkportable sign", ["unknown option --bogus"]),
            (["build", "--attrs", tmp.sub("a.json").string], 2, "mkportable", ["--out DIR is required"]),
            (["build", "--attrs", tmp.sub("a.json").string, "--out", tmp.sub("o").string], 1, "mkportable", ["no such file"]),
            (["frobnicate"], 2, "mkportable", ["unknown command frobnicate"]),
            (["inspect"], 2, "mkportable inspect", ["IMAGE is missing"]),
            (["inspect", "--bogus", image], 2, "mkportable inspect", ["unknown option --bogus"]),
            (["inspect", image], 1, "mkportable inspect", [image]),
            (["diff", image], 2, "mkportable diff", ["B is missing after \(image)"]),
            // diff(1)'s convention: trouble is 2, as 1 means "they differ".
            (["diff", image, image], 2, "mkportable diff", [image]),
        ]
        for (arguments, status, prefix, fragments) in cases {
            let r = try runInProcess(arguments)
            assertCleanFailure(r, status: status, prefix: "\(prefix): error: ", fragments,
                               images: [RawPath(image)], label: arguments.joined(separator: " "))
        }
        // The help of every command documents it.
        for command in [["--help"], ["pack", "--help"], ["verify", "--help"], ["sign", "--help"], ["build", "--help"],
                        ["inspect", "--help"], ["diff", "--help"]] {
            let r = try runInProcess(command)
            XCTAssertEqual(r.status, 0, r.summary)
            XCTAssertTrue(r.stdoutText.contains("2") && r.stdoutText.contains("usage error"), "\(command): \(r.stdoutText)")
        }
    }

    func testSignSaysWhichOptionIsMissing() throws {
        let image = tmp.sub("s.raw").string
        let cases: [([String], String)] = [
            (["--key", "k.pem", "--out", "o", image], "--cert CERT.pem is missing"),
            (["--cert", "c.pem", "--out", "o", image], "--key KEY.pem is missing"),
            (["--key", "k.pem", "--cert", "c.pem", image], "--out DIR is missing"),
            ([image], "--key KEY.pem and --cert CERT.pem and --out DIR are missing"),
        ]
        for (arguments, fragment) in cases {
            assertCleanFailure(try runInProcess(["sign"] + arguments), status: 2, prefix: "mkportable sign: error: ",
                               [fragment, "usage: mkportable sign --key KEY.pem --cert CERT.pem --out DIR IMAGE.raw"],
                               label: arguments.joined(separator: " "))
        }
    }

    func testVerityWithDDIIsRefusedInOneLine() throws {
        let image = tmp.sub("both.raw")
        assertCleanFailure(try pack(["--verity", "--ddi"], image), status: 2, prefix: "mkportable pack: error: ",
                           ["--verity and --ddi exclude each other", "give one of them"],
                           images: [image, tmp.sub("both.verity"), tmp.sub("both.roothash")], directories: [tmp.path])
    }

    // MARK: mksquashfs's spellings

    func testMksquashfsOptionsPointToMkportablesSpelling() throws {
        let image = tmp.sub("m.raw")
        let cases: [([String], String)] = [
            (["-comp", "xz"], "--comp STRING"),
            (["-b", "1M"], "--block-size SIZE"),
            (["-processors", "2"], "--jobs N"),
            (["-noappend"], "never appends"),
            (["-all-root"], "owned by 0:0"),
            (["-root-mode", "755"], "--root-mode MODE"),
            (["-mkfs-time", "0"], "--mtime SECONDS"),
            (["-quiet"], "--quiet"),
            (["-Xhc"], "inside --comp"),
        ]
        for (options, fragment) in cases {
            assertCleanFailure(try pack(options, image), status: 2, prefix: "mkportable pack: error: ",
                               ["unknown option \(options[0]); that is mksquashfs's spelling; mkportable pack ", fragment],
                               images: [image], label: options.joined(separator: " "))
        }
    }

    // MARK: what pack says

    /// `wrote IMAGE…: BYTES bytes, INODES inodes, …`: the numbers in it.
    func figures(_ line: String) -> (bytes: Int, inodes: Int)? {
        let words = line.split(separator: " ")
        guard let b = words.firstIndex(where: { $0.hasPrefix("byte") }),
              let i = words.firstIndex(where: { $0.hasPrefix("inode") }),
              let bytes = Int(words[b - 1]), let inodes = Int(words[i - 1]) else { return nil }
        return (bytes, inodes)
    }

    func testPackPrintsOneLineOnSuccess() throws {
        for (options, name, what) in [([String](), "p.raw", ""), (["--verity"], "v.raw", " with .verity and .roothash"),
                                      (["--ddi"], "d.raw", " as a DDI with .roothash")] {
            let image = tmp.sub(RawPath(name))
            let r = try pack(options + ["--comp", "gzip"], image)
            XCTAssertEqual(r.status, 0, r.summary)
            XCTAssertEqual(r.stderrText, "", "nothing on stderr off a terminal")
            let line = r.stdoutText
            XCTAssertTrue(line.hasPrefix("wrote \(image.string)\(what): ") && line.hasSuffix("\n")
                          && !line.dropLast().contains("\n"), line)
            XCTAssertTrue(line.contains(", gzip, block size 1048576"), line)
            let size = try Posix.readFile(image).count
            XCTAssertEqual(figures(line)?.bytes, size, "the bytes of the file named IMAGE (a DDI's whole disk): \(line)")
            if options.isEmpty {
                let sb = try superblock(image)
                // The root, bin, share and two files.
                XCTAssertTrue(sb.contains("Number of inodes 5"), sb)
                XCTAssertEqual(figures(line)?.inodes, 5, line)
                XCTAssertFalse(line.contains("root hash"), line)
            } else {
                let roothash = String(decoding: try Posix.readFile(tmp.sub(RawPath(String(name.dropLast(4)) + ".roothash"))), as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                XCTAssertEqual(roothash.count, 64)
                XCTAssertTrue(line.hasSuffix(", root hash \(roothash)\n"), line)
            }
        }
        let quiet = tmp.sub("q.raw")
        let q = try pack(["--quiet", "--verity"], quiet)
        XCTAssertEqual(q.status, 0, q.summary)
        XCTAssertEqual(q.stdoutText + q.stderrText, "", "--quiet prints nothing")
        XCTAssertTrue(try superblock(quiet).contains("Compression xz"))
    }

    // MARK: tracing, from the environment the command is given

    func testTraceFollowsTheCommandsEnvironment() throws {
        let traced = try runInProcess(["pack", "--quiet", src.string, tmp.sub("t.raw").string],
                                      environment: ["MKPORTABLE_TRACE": "1"])
        XCTAssertEqual(traced.status, 0, traced.summary)
        let lines = traced.stderrText.split(separator: "\n")
        XCTAssertTrue(lines.allSatisfy { $0.hasPrefix("trace: ") && $0.contains(" ms, rss ") && $0.contains(" MB, cpu ") }, traced.stderrText)
        for phase in ["scanning \(src.string)", "scanned", "first block submitted", "data written", "metadata laid out"] {
            XCTAssertTrue(lines.contains { $0.hasSuffix(phase) || $0.contains(": \(phase)") }, "no \(phase) in \(traced.stderrText)")
        }
        XCTAssertTrue(try superblock(tmp.sub("t.raw")).contains("Compression xz"))
        // The next command, without the variable, traces nothing.
        let quiet = try runInProcess(["pack", "--quiet", src.string, tmp.sub("u.raw").string])
        XCTAssertEqual(quiet.status, 0, quiet.summary)
        XCTAssertEqual(quiet.stderrText, "")
        XCTAssertEqual(try Posix.readFile(tmp.sub("t.raw")), try Posix.readFile(tmp.sub("u.raw")))
    }

    // MARK: the builder's log line

    func testBuilderLogLineCarriesCountsAndADigest() throws {
        let fx = try BuilderFixture(prefix: "log-line")
        defer { fx.remove() }
        var digests: [String: String] = [:]
        for (label, extra) in [("plain", [String: String?]()), ("verity", ["verity": "true"]), ("ddi", ["format": #""ddi""#])] {
            Posix.removeTree(fx.out)
            try Posix.writeFile(fx.attrsFile, Array(fx.json(extra).utf8))
            let env = fx.environment().compactMapValues { $0 }
            let r = try runInProcess(["build", "--attrs", fx.attrsFile.string, "--out", fx.out.string], environment: env)
            XCTAssertEqual(r.status, 0, r.summary)
            let line = r.stderrText
            XCTAssertTrue(line.hasPrefix("mkportable: wrote \(fx.image().string)") && !line.dropLast().contains("\n"), line)
            XCTAssertTrue(line.contains(", 2 store paths, 1 unit, mtime 0, gzip, block size 4096, "), line)
            XCTAssertEqual(figures(line)?.bytes, try Posix.readFile(fx.image()).count, line)
            // A DDI's squashfs starts at its root partition, LBA 40.
            let offset = label == "ddi" ? ["-o", "20480"] : []
            let list = try Shell.check("unsquashfs", offset + ["-lln", fx.image().string]).stdoutText
            XCTAssertTrue(list.contains("squashfs-root/etc/os-release"), list)
            let label2 = label == "plain" ? "content digest (verity root hash) " : "root hash "
            guard let at = line.range(of: label2) else { XCTFail("no \(label2)in \(line)"); continue }
            digests[label] = String(line[at.upperBound...].prefix(64))
        }
        // The digest of a plain image is the root hash --verity gives it.
        XCTAssertEqual(digests["plain"], digests["verity"])
        XCTAssertEqual(digests["plain"]?.count, 64)
    }

    // MARK: 4K blocks and xz's dictionary

    func testXzDictionaryOfTheBlockSizeWorksAt4K() throws {
        // The default, the default written out, and plain xz: one image.
        let images = ["default.raw", "explicit.raw", "plain.raw"].map { tmp.sub(RawPath($0)) }
        XCTAssertEqual(try pack(["--block-size", "4K"], images[0]).status, 0)
        XCTAssertEqual(try pack(["--block-size", "4K", "--comp", "xz -Xdict-size 100%"], images[1]).status, 0)
        XCTAssertEqual(try pack(["--block-size", "4K", "--comp", "xz -Xdict-size 4K"], tmp.sub("4k.raw")).status, 0)
        XCTAssertEqual(try pack(["--block-size", "4K", "--comp", "xz"], images[2]).status, 0)
        let bytes = try images.map { try Posix.readFile($0) }
        XCTAssertEqual(bytes[0], bytes[1])
        XCTAssertEqual(bytes[0], bytes[2])
        XCTAssertTrue(try superblock(images[0]).contains("Block size 4096"))
        // Anything else under 8K is refused, saying what works.
        let bad = tmp.sub("bad.raw")
        assertCleanFailure(try pack(["--block-size", "4K", "--comp", "xz -Xdict-size 50%"], bad),
                           prefix: "mkportable pack: error: ",
                           ["--comp \"xz -Xdict-size 50%\": -Xdict-size 50% (2048 bytes) is below the minimum of 8192 bytes; with 4096-byte blocks the dictionary can only be the block size: write -Xdict-size 100% or leave -Xdict-size out"],
                           images: [bad])
        assertCleanFailure(try pack(["--block-size", "4K", "--comp", "xz -Xdict-size 8K"], bad),
                           prefix: "mkportable pack: error: ",
                           ["-Xdict-size 8K (8192 bytes) is larger than the block size (4096 bytes); with 4096-byte blocks the dictionary can only be the block size"],
                           images: [bad])
        // The builder takes the same rule: squash-block-size = "4K" alone.
        let fx = try BuilderFixture(prefix: "dict-4k")
        defer { fx.remove() }
        try Posix.writeFile(fx.attrsFile, Array(fx.json(["squash-compression": #""xz -Xdict-size 100%""#]).utf8))
        let r = try runInProcess(["build", "--attrs", fx.attrsFile.string, "--out", fx.out.string],
                                 environment: fx.environment().compactMapValues { $0 })
        XCTAssertEqual(r.status, 0, r.summary)
        let sb = try Shell.check("unsquashfs", ["-s", fx.image().string]).stdoutText
        XCTAssertTrue(sb.contains("Compression xz") && sb.contains("Block size 4096"), sb)
    }
}
