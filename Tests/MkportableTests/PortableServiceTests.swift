import EROFS
import Foundation
import XCTest
import DiskImage
import PortableService
import SquashFS

// Unit tests of the portable-service builder's pieces: the JSON parser, the
// attributes → ImageSpec step, unit names, os-release and the layout; then
// the builder executable itself on a fake store (no Nix needed).

// MARK: - JSON

final class JSONParserTests: XCTestCase {
    func parse(_ s: String) throws -> JSONValue { try parseJSON(s) }

    func parseError(_ s: String, file: StaticString = #filePath, line: UInt = #line) -> JSONParseError? {
        do {
            let v = try parseJSON(s)
            XCTFail("expected an error for \(s.debugDescription), got \(v)", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func parseError(bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> JSONParseError? {
        do {
            let v = try parseJSON(bytes)
            XCTFail("expected an error for bytes \(bytes), got \(v)", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func testAllValueKinds() throws {
        let v = try parse(#" { "a": [1, -2.5e3, true, false, null, "x"], "b": {}, "c": [] } "#)
        guard case .object(let o) = v else { return XCTFail("not an object: \(v)") }
        XCTAssertEqual(o.keys, ["a", "b", "c"])
        XCTAssertEqual(o["a"], .array([
            .number(JSONNumber(text: "1")), .number(JSONNumber(text: "-2.5e3")),
            .bool(true), .bool(false), .null, .string("x"),
        ]))
        XCTAssertEqual(o["b"], .object(JSONObject()))
        XCTAssertEqual(o["c"], .array([]))
        XCTAssertEqual(try parse("  42\n"), .number(JSONNumber(text: "42")))
        XCTAssertEqual(JSONNumber(text: "-0").intValue, 0)
        XCTAssertNil(JSONNumber(text: "1e3").intValue)
    }

    func testStringEscapes() throws {
        XCTAssertEqual(try parse(#""a\"b\\c\/d\b\f\n\r\t""#), .string("a\"b\\c/d\u{8}\u{C}\n\r\t"))
        XCTAssertEqual(try parse(#""\u00e9\u20AC""#), .string("é€"))
        XCTAssertEqual(try parse(#""\ud83d\ude00""#), .string("😀"))
        XCTAssertEqual(try parse(#""\u0000""#), .string("\u{0}"))
        XCTAssertEqual(try parse("\"Grüße 😀\""), .string("Grüße 😀"))
    }

    func testRejectsWhatRFC8259Rejects() {
        let bad = [
            "", "   ", "[1,]", "{\"a\":1,}", "01", "+1", "1.", ".5", "-", "1e", "NaN", "Infinity",
            "'x'", "{a: 1}", "[1 2]", "{\"a\" 1}", "tru", "truex", "nul", "\"\\x\"", "\"\\u12\"",
            "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\nb\"", "\"tab\there\"", "{} x", "[] []",
            "\"unterminated", "[1", "{\"a\":1", "{\"a\":1,\"a\":2}",
        ]
        for s in bad {
            _ = parseError(s)
        }
    }

    func testRejectsInvalidUTF8AndBOM() {
        // Overlong "/", an encoded surrogate, a truncated sequence, a stray
        // continuation byte, a code point past U+10FFFF.
        for seq: [UInt8] in [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0x80], [0xF4, 0x90, 0x80, 0x80]] {
            let e = parseError(bytes: [0x22] + seq + [0x22])
            XCTAssertTrue(e?.message.contains("UTF-8") ?? false, "\(seq): \(String(describing: e))")
        }
        let bom = parseError(bytes: [0xEF, 0xBB, 0xBF] + Array("{}".utf8))
        XCTAssertTrue(bom?.message.contains("byte order mark") ?? false)
    }

    func testErrorPositionsAreLineAndCharacterColumn() {
        let e = parseError("{\n  \"a\": 1,\n  \"b\": x\n}")
        XCTAssertEqual(e?.line, 3)
        XCTAssertEqual(e?.column, 8)
        XCTAssertEqual(e?.description.hasPrefix("3:8: "), true)
        // A multi-byte character counts as one column.
        let u = parseError("[\"é\", x]")
        XCTAssertEqual(u?.line, 1)
        XCTAssertEqual(u?.column, 7)
        let dup = parseError("{\"k\": 1,\n \"k\": 2}")
        XCTAssertEqual(dup?.line, 2)
        XCTAssertEqual(dup?.column, 2)
        XCTAssertTrue(dup?.message.contains("duplicate key \"k\"") ?? false)
        let eof = parseError("[1,\n2")
        XCTAssertTrue(eof?.message.contains("end of input") ?? false, String(describing: eof))
    }

    func testDeepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let e = parseError(deep)
        XCTAssertTrue(e?.message.contains("nesting deeper") ?? false)
        let ok = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        XCTAssertNoThrow(try parseJSON(ok))
    }
}

// MARK: - Unit names, pname, os-release

final class UnitNameTests: XCTestCase {
    func testNamesPortablectlAttaches() {
        for name in ["foo.service", "foo-bar.socket", "foo@.service", "foo@inst.service", "foo.bar.timer",
                     "foo.path", "foo.target", "foo-a:b_c\\x2d.service", "foo@a@b.service"] {
            XCTAssertNil(UnitName.problem(name, pname: "foo"), name)
        }
    }

    func testNamesPortablectlIgnoresOrRejects() {
        let cases: [(String, String)] = [
            ("foobar.service", "image prefix \"foo\""),
            ("bar-foo.service", "image prefix \"foo\""),
            ("foo.mount", "must end in"),
            ("foo-x.conf", "must end in"),
            ("foo", "must end in"),
            (".service", "must end in"),
            ("foo bar.service", "a space"),
            ("foo/x.service", "'/'"),
            ("@foo.service", "starts with '@'"),
            (String(repeating: "f", count: 250) + ".service", "at most 255"),
            ("", "empty"),
        ]
        for (name, expected) in cases {
            let p = UnitName.problem(name, pname: "foo")
            XCTAssertNotNil(p, name)
            XCTAssertTrue(p?.contains(expected) ?? false, "\(name): \(p ?? "nil") should mention \(expected)")
        }
    }

    func testUnitNameFromPath() {
        let hash = String(repeating: "a", count: 32)
        XCTAssertEqual(UnitName.fromPath("/nix/store/\(hash)-foo.service", storeDir: "/nix/store"), "foo.service")
        XCTAssertEqual(UnitName.fromPath("/nix/store/\(hash)-units/foo@.service", storeDir: "/nix/store"), "foo@.service")
        XCTAssertEqual(UnitName.fromPath("/s/\(hash)-x.socket", storeDir: "/s"), "x.socket")
    }

    func testPname() {
        for ok in ["hello", "my-app.v2", "a", "x1.y-2"] { XCTAssertNil(pnameProblem(ok), ok) }
        for bad in ["", "-x", ".x", "a b", "a@b", "a/b", "a\\b", "é", "x_1", "x:y"] { XCTAssertNotNil(pnameProblem(bad), bad) }
    }

    func testStorePathArithmetic() {
        let hash = "0123456789abcdfghijklmnpqrsvwxyz"
        XCTAssertEqual(StorePath.root(of: "/nix/store/\(hash)-x/bin/sh", storeDir: "/nix/store"), "/nix/store/\(hash)-x")
        XCTAssertEqual(StorePath.name(ofRoot: "/nix/store/\(hash)-x", storeDir: "/nix/store"), "\(hash)-x")
        XCTAssertNil(StorePath.name(ofRoot: "/nix/store/\(hash)-x/y", storeDir: "/nix/store"))
        XCTAssertNil(StorePath.root(of: "/usr/bin/sh", storeDir: "/nix/store"))
        XCTAssertNil(StorePath.root(of: "/nix/store/short-x", storeDir: "/nix/store"))
        // 'e' is not in Nix's base-32 alphabet.
        XCTAssertNil(StorePath.root(of: "/nix/store/" + String(repeating: "e", count: 32) + "-x", storeDir: "/nix/store"))
        XCTAssertNil(StorePath.root(of: "/nix/store/\(hash)-", storeDir: "/nix/store"))
        XCTAssertNil(StorePath.root(of: "/nix/store/\(hash)-.x", storeDir: "/nix/store"))
        XCTAssertTrue(StorePath.isValidStoreDir("/nix/store"))
        for bad in ["nix/store", "/nix/store/", "/", "/nix//store", "/nix/../store"] {
            XCTAssertFalse(StorePath.isValidStoreDir(bad), bad)
        }
    }
}

final class OSReleaseTests: XCTestCase {
    func testQuotingFollowsOSRelease5() {
        XCTAssertEqual(OSRelease.quote("nixos"), "nixos")
        XCTAssertEqual(OSRelease.quote("NixOS2"), "NixOS2")
        XCTAssertEqual(OSRelease.quote("hello-world"), "\"hello-world\"")
        XCTAssertEqual(OSRelease.quote("a b"), "\"a b\"")
        XCTAssertEqual(OSRelease.quote(""), "\"\"")
        XCTAssertEqual(OSRelease.quote(#"a"b\c$d`e"#), #""a\"b\\c\$d\`e""#)
        XCTAssertEqual(OSRelease.quote("Grüße"), "\"Grüße\"")
    }

    func testFieldsAndOrder() {
        let r = OSRelease(pname: "demo", version: "3.1", description: "Demo: socket, service, timer", homepage: "https://example.org/demo")
        let text = String(decoding: r.render(), as: UTF8.self)
        XCTAssertEqual(text, """
        BUILD_ID=rolling
        HOME_URL="https://example.org/demo"
        ID=nixos
        IMAGE_ID=demo
        IMAGE_VERSION="3.1"
        PORTABLE_ID=demo
        PORTABLE_PREFIXES=demo
        PORTABLE_PRETTY_NAME="Demo: socket, service, timer"
        PRETTY_NAME=NixOS

        """)
        let bare = String(decoding: OSRelease(pname: "x", version: "1", description: nil, homepage: nil).render(), as: UTF8.self)
        XCTAssertFalse(bare.contains("HOME_URL"))
        XCTAssertFalse(bare.contains("PORTABLE_PRETTY_NAME"))
        XCTAssertTrue(bare.contains("PORTABLE_PREFIXES=x\n"))
        XCTAssertTrue(bare.contains("IMAGE_ID=x\nIMAGE_VERSION=1\n"), bare)
    }

    func testRoundTripThroughAShellStyleReader() {
        let tricky = #"He said "hi" \ cost $5 `now` — ok; #not-a-comment"#
        let r = OSRelease(pname: "p", version: "1.0-rc1+git", description: tricky, homepage: "https://x.test/a?b=c&d")
        guard let fields = OSRelease.parse(r.render()) else { return XCTFail("unparsable") }
        XCTAssertEqual(fields.first { $0.key == "PORTABLE_PRETTY_NAME" }?.value, tricky)
        XCTAssertEqual(fields.first { $0.key == "HOME_URL" }?.value, "https://x.test/a?b=c&d")
        XCTAssertEqual(fields.first { $0.key == "IMAGE_VERSION" }?.value, "1.0-rc1+git")
        // And the same through a real POSIX shell, which is what os-release(5)
        // promises compatibility with.
        guard FileManager.default.isExecutableFile(atPath: "/bin/sh") else { return }
        let dir = try! TemporaryDirectory(prefix: "osrelease")
        defer { dir.remove() }
        try! Posix.writeFile(dir.sub("os-release"), r.render())
        let out = try! Shell.run("/bin/sh", ["-c", ". \"$1\" && printf '%s' \"$PORTABLE_PRETTY_NAME\"", "sh", dir.sub("os-release").string])
        XCTAssertEqual(out.stdoutText, tricky, out.summary)
    }

    func testControlCharactersAreRejected() {
        XCTAssertNotNil(OSRelease.valueProblem("a\nb"))
        XCTAssertNotNil(OSRelease.valueProblem("a\u{7F}"))
        XCTAssertNil(OSRelease.valueProblem("plain text, ünïcode"))
    }
}

// MARK: - Attributes → ImageSpec

/// A fake store path name: 32 base-32 characters, '-', name.
func fakeStoreName(_ name: String, seed: Int) -> String {
    let alphabet = Array("0123456789abcdfghijklmnpqrsvwxyz")
    var s = ""
    var x = UInt64(seed &+ 1) &* 0x9E37_79B9_7F4A_7C15
    for _ in 0..<32 {
        x ^= x >> 29; x &*= 0xBF58_476D_1CE4_E5B9; x ^= x >> 32
        s.append(alphabet[Int(x % 32)])
    }
    return s + "-" + name
}

final class AttrsTests: XCTestCase {
    let store = "/nix/store"
    lazy var unit = "\(store)/\(fakeStoreName("hello.service", seed: 1))"
    lazy var busybox = "\(store)/\(fakeStoreName("busybox", seed: 2))"
    lazy var certs = "\(store)/\(fakeStoreName("certs", seed: 3))"
    lazy var docs = "\(store)/\(fakeStoreName("docs", seed: 4))"

    func attrs(_ overrides: [String: String] = [:], drop: [String] = []) -> String {
        var fields: [String: String] = [
            "pname": #""hello""#,
            "version": #""1.0""#,
            "units": "[\"\(unit)\"]",
            "description": #""Hello \"there\"""#,
            "homepage": "null",
            "symlinks": "[{\"object\": \"\(busybox)/bin/busybox\", \"symlink\": \"/bin/sh\"}, {\"object\": \"\(certs)/etc/ssl\", \"symlink\": \"etc//ssl/\"}, {\"object\": \"/run\", \"symlink\": \"/var/run\"}]",
            "contents": "[\"\(docs)\"]",
            "exportReferencesGraph": #"{"closure": ["x"], "more": ["y"]}"#,
            "closure": "[{\"path\": \"\(unit)\", \"references\": [\"\(busybox)\"], \"narHash\": \"sha256:x\", \"narSize\": 1}, {\"path\": \"\(busybox)\", \"references\": []}, {\"path\": \"\(certs)\", \"references\": [\"\(certs)\"]}]",
            "more": "[{\"path\": \"\(docs)\", \"references\": []}, {\"path\": \"\(busybox)\", \"references\": []}]",
            "outputs": #"{"out": "/nix/store/00000000000000000000000000000000-hello-img-1.0"}"#,
        ]
        for (k, v) in overrides { fields[k] = v }
        for k in drop { fields[k] = nil }
        return "{" + fields.keys.sorted().map { "\"\($0)\": \(fields[$0]!)" }.joined(separator: ",\n") + "}"
    }

    func spec(_ json: String, graphFiles: [String: String] = [:]) throws -> ImageSpec {
        let object = try Attrs.parse(Array(json.utf8), origin: "attrs.json")
        return try Attrs.imageSpec(object, storeDir: store) { key in graphFiles[key].map { Array($0.utf8) } }
    }

    func error(_ json: String, graphFiles: [String: String] = [:], file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            let s = try spec(json, graphFiles: graphFiles)
            XCTFail("expected an error, got \(s)", file: file, line: line)
            return ""
        } catch let e as PortableServiceError {
            XCTAssertFalse(e.message.contains("\n"), "messages are one line: \(e.message)", file: file, line: line)
            return e.message
        } catch {
            XCTFail("unexpected error type: \(error)", file: file, line: line)
            return ""
        }
    }

    func testCompleteAttributes() throws {
        let s = try spec(attrs())
        XCTAssertEqual(s.pname, "hello")
        XCTAssertEqual(s.version, "1.0")
        XCTAssertEqual(s.imageFileName, "hello_1.0.raw")
        XCTAssertEqual(s.units, [ImageSpec.Unit(name: "hello.service", path: unit)])
        XCTAssertEqual(s.symlinks, [
            ImageSpec.Symlink(path: ["bin", "sh"], target: "\(busybox)/bin/busybox"),
            ImageSpec.Symlink(path: ["etc", "ssl"], target: "\(certs)/etc/ssl"),
            ImageSpec.Symlink(path: ["var", "run"], target: "/run"),
        ])
        // Both graphs, merged, deduplicated, sorted bytewise.
        XCTAssertEqual(s.storePaths, [unit, busybox, certs, docs].sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        XCTAssertEqual(s.squash.compression, "xz -Xdict-size 100%")
        XCTAssertEqual(s.squash.blockSize, 1 << 20)
        XCTAssertEqual(s.osRelease["PORTABLE_PRETTY_NAME"], "Hello \"there\"")
        XCTAssertNil(s.osRelease["HOME_URL"])
        XCTAssertEqual(s.osRelease["PORTABLE_PREFIXES"], "hello")
        XCTAssertEqual(try Attrs.outputPath(Attrs.parse(Array(attrs().utf8), origin: "a")), "/nix/store/00000000000000000000000000000000-hello-img-1.0")
    }

    func testCompressionSettings() throws {
        let s = try spec(attrs(["squash-compression": #""zstd -Xcompression-level 19""#, "squash-block-size": "131072"]))
        XCTAssertEqual(s.squash.compression, "zstd -Xcompression-level 19")
        XCTAssertEqual(s.squash.compressor.description, "zstd -Xcompression-level 19")
        XCTAssertEqual(s.squash.blockSize, 131072)
        XCTAssertEqual(try spec(attrs(["squash-block-size": #""128K""#])).squash.blockSize, 131072)
        XCTAssertTrue(error(attrs(["squash-block-size": "[]"])).contains("attribute squash-block-size"))
        // Typed when read: a bad value fails in the spec, in the attribute's terms.
        XCTAssertEqual(error(attrs(["squash-compression": #""brotli""#])),
                       #"attribute squash-compression: "brotli": unknown compressor "brotli"; accepted: gzip, xz, zstd, lz4, lzo, each optionally followed by its -X options"#)
        XCTAssertEqual(error(attrs(["squash-block-size": #""3K""#])),
                       #"attribute squash-block-size: "3K": 3072 bytes is out of range; accepted: a power of two from 4096 to 1048576 bytes, written as bytes (131072), NK (128K) or NM (1M)"#)
        // The compressor is made for the block size: 100% of 4K is 4 KiB.
        let small = try spec(attrs(["squash-compression": #""xz -Xdict-size 100%""#, "squash-block-size": #""4K""#]))
        XCTAssertEqual(small.squash.compressor.description, try parseCompressor("xz", blockSize: 4096).description)
        XCTAssertTrue(error(attrs(["squash-compression": #""xz -Xdict-size 8K""#, "squash-block-size": #""4K""#]))
            .hasPrefix(#"attribute squash-compression: "xz -Xdict-size 8K": -Xdict-size 8K (8192 bytes) is larger than the block size (4096 bytes); with 4096-byte blocks"#))
    }

    /// `filesystem` and `erofs-compression`: typed when read, squashfs by
    /// default, and each refused where it does not apply.
    func testFileSystemSettings() throws {
        XCTAssertEqual(try spec(attrs()).fileSystem, .squashfs)
        XCTAssertEqual(try spec(attrs(["filesystem": "null"])).fileSystem, .squashfs)
        XCTAssertEqual(try spec(attrs(["filesystem": #""erofs""#])).fileSystem, .erofs(Compression(.lz4hc(level: 9))))
        XCTAssertEqual(try spec(attrs(["filesystem": #""erofs""#, "erofs-compression": #""lzma,level=3""#])).fileSystem,
                       .erofs(Compression(.lzma(level: 3, dictionarySize: nil))))
        XCTAssertEqual(try spec(attrs(["filesystem": #""erofs""#, "verity": "true"])).output, .veritySidecars)
        XCTAssertEqual(error(attrs(["filesystem": #""ext4""#])),
                       #"attribute filesystem: "ext4" is not a known file system; use "squashfs" (the default, as nixpkgs) or "erofs""#)
        XCTAssertEqual(error(attrs(["filesystem": "true"])), "attribute filesystem: expected a string or null, found a boolean")
        XCTAssertEqual(error(attrs(["erofs-compression": #""lz4""#])),
                       #"attribute erofs-compression: "lz4" applies to erofs images only; add filesystem = "erofs" or leave erofs-compression out"#)
        XCTAssertEqual(error(attrs(["filesystem": #""erofs""#, "erofs-compression": #""lz4hc,level=13""#])),
                       #"attribute erofs-compression: "lz4hc,level=13": lz4hc level 13: must be 0 to 12"#)
        XCTAssertEqual(error(attrs(["filesystem": #""erofs""#, "squash-compression": #""zstd""#])),
                       #"attribute squash-compression: applies to squashfs images only; with filesystem = "erofs" leave it out or set it to null, and give erofs-compression (mkfs.erofs's -z syntax, e.g. "lz4hc,level=9")"#)
        XCTAssertEqual(error(attrs(["filesystem": #""erofs""#, "squash-block-size": "4096"])),
                       "attribute squash-block-size: applies to squashfs images only; erofs images always have 4 KiB blocks, so leave it out or set it to null")
    }

    func testVerityAndFormat() throws {
        XCTAssertEqual(try spec(attrs()).output, .plain)
        XCTAssertEqual(try spec(attrs(["verity": "true"])).output, .veritySidecars)
        XCTAssertEqual(try spec(attrs(["verity": "null"])).output, .plain)
        XCTAssertEqual(try spec(attrs(["format": #""raw""#, "verity": "true"])).output, .veritySidecars)
        let ddi = try spec(attrs(["format": #""ddi""#, "system": #""aarch64-linux""#]))
        XCTAssertEqual(ddi.output, .ddi(PartitionTypes.forSystem("aarch64-linux")!))
        // Under cross, the derivation's system is the builder's and
        // imageSystem the architecture the DDI is for.
        let cross = try spec(attrs(["format": #""ddi""#, "system": #""x86_64-linux""#, "imageSystem": #""aarch64-linux""#]))
        XCTAssertEqual(cross.output, .ddi(PartitionTypes.forSystem("aarch64-linux")!))
        XCTAssertEqual(error(attrs(["format": #""ddi""#, "system": #""x86_64-linux""#, "imageSystem": #""vax-linux""#])),
                       #"attribute imageSystem: "vax-linux": no discoverable partition types are known for its architecture; format = "ddi" supports "# + PartitionTypes.byCPU.keys.sorted().joined(separator: ", "))
        XCTAssertEqual(error(attrs(["verity": #""yes""#])),
                       "attribute verity: expected true or false, found a string; verity = true writes NAME.verity and NAME.roothash beside the image")
        XCTAssertEqual(error(attrs(["format": #""qcow2""#])),
                       #"attribute format: "qcow2" is not a known format; use "raw" (the file system image alone) or "ddi" (a GPT disk image with dm-verity)"#)
        XCTAssertTrue(error(attrs(["format": "1"])).hasPrefix("attribute format: expected a string or null"))
    }

    func testTextGraphWhenTheJSONHasNone() throws {
        // Without structured attrs Nix writes the graph as a text file named
        // after the key; the JSON then has no such key.
        let text = "\(unit)\n\n1\n\(busybox)\n\(busybox)\n\n0\n\(certs)\n\n0\n\(docs)\n\n0\n"
        let s = try spec(attrs(drop: ["closure", "more"]), graphFiles: ["closure": text, "more": "\(docs)\n\n0\n"])
        XCTAssertEqual(Set(s.storePaths), [unit, busybox, certs, docs])
        XCTAssertTrue(error(attrs(drop: ["more"])).contains("attribute more: missing"))
    }

    func testTextGraphFormat() throws {
        let e = try Attrs.parseGraphText(Array("/nix/store/a\n\n2\n/nix/store/a\n/nix/store/b\n/nix/store/b\n/deriver.drv\n0\n".utf8), origin: "g")
        XCTAssertEqual(e, [
            Attrs.GraphEntry(path: "/nix/store/a", references: ["/nix/store/a", "/nix/store/b"]),
            Attrs.GraphEntry(path: "/nix/store/b", references: []),
        ])
        XCTAssertEqual(try Attrs.parseGraphText([], origin: "g"), [])
        for bad in ["/nix/store/a\n\nx\n", "/nix/store/a\n\n2\n/nix/store/a\n", "/nix/store/a\n\n0", "\n\n0\n", "/nix/store/a\n"] {
            XCTAssertThrowsError(try Attrs.parseGraphText(Array(bad.utf8), origin: "g"), bad.debugDescription)
        }
    }

    func testReadGraphFileRefusesPathsAsKeys() {
        XCTAssertThrowsError(try Attrs.readGraphFile(key: "../etc/passwd", directory: "/tmp"))
        XCTAssertThrowsError(try Attrs.readGraphFile(key: "..", directory: "/tmp"))
        XCTAssertNil(try Attrs.readGraphFile(key: "no-such-graph-\(getpid())", directory: "/tmp"))
    }

    func testErrorsNameTheAttributeAndTheFix() {
        let cases: [(String, String)] = [
            (attrs(drop: ["pname"]), "attribute pname: missing"),
            (attrs(["pname": "1"]), "attribute pname: expected a string, found a number"),
            (attrs(["pname": #""my app""#]), "attribute pname: \"my app\" contains a space"),
            (attrs(["version": #""1/2""#]), "attribute version: \"1/2\" contains '/'"),
            (attrs(["version": #""""#]), "attribute version: \"\" is empty"),
            (attrs(["units": "[]"]), "attribute units: the list is empty"),
            (attrs(["units": #""x""#]), "attribute units: expected a list, found a string"),
            (attrs(["units": "[1]"]), "attribute units[0]: expected a store path string, found a number"),
            (attrs(["units": #"["/etc/foo.service"]"#]), "attribute units[0]: \"/etc/foo.service\" is not in the store /nix/store"),
            (attrs(["units": "[\"\(store)/\(fakeStoreName("hello.service", seed: 9))\"]"]), "is not in the closure"),
            (attrs(["units": "[\"\(unit)\", \"\(unit)\"]"]), "attribute units[1]: unit \"hello.service\" is also units[0]"),
            (attrs(["description": "\"a\\nb\""]), "attribute description: contains the control character U+000A"),
            (attrs(["homepage": "2"]), "attribute homepage: expected a string or null, found a number"),
            (attrs(["contents": "[\"/opt/x\"]"]), "attribute contents[0]: \"/opt/x\" is not in the store"),
            (attrs(["symlinks": "[{\"object\": \"/x\", \"symlink\": \"/a/../b\"}]"]), "attribute symlinks[0].symlink: \"/a/../b\" contains '..'"),
            (attrs(["symlinks": "[{\"object\": \"/x\", \"symlink\": \"//\"}]"]), "names the image root"),
            (attrs(["symlinks": "[{\"object\": \"/x\"}]"]), "attribute symlinks[0].symlink: missing"),
            (attrs(["symlinks": "[{\"object\": \"/x\", \"symlink\": \"/y\", \"mode\": 1}]"]), "attribute symlinks[0]: unknown attribute \"mode\""),
            (attrs(["symlinks": "[\"/x\"]"]), "attribute symlinks[0]: expected an attribute set"),
            (attrs(["symlinks": "[{\"object\": \"\(store)/\(fakeStoreName("other", seed: 7))/x\", \"symlink\": \"/y\"}]"]), "attribute symlinks[0].object: "),
            (attrs(["closure": "[{\"path\": \"\(unit)\", \"references\": [\"\(store)/\(fakeStoreName("gone", seed: 8))\"]}]"]), "which the graph does not list"),
            (attrs(["closure": "[{\"path\": \"/etc\", \"references\": []}]"]), "\"/etc\" is not a store path"),
            (attrs(["closure": "[{\"references\": []}]"]), "attribute closure[0].path: missing"),
            (attrs(["exportReferencesGraph": "[]"]), "attribute exportReferencesGraph: expected an attribute set"),
        ]
        for (json, expected) in cases {
            let message = error(json)
            XCTAssertTrue(message.contains(expected), "«\(message)» should contain «\(expected)»")
        }
        // The unit-name rule, with the fix.
        let badUnit = "\(store)/\(fakeStoreName("other.service", seed: 5))"
        let m = error(attrs(["units": "[\"\(badUnit)\"]", "closure": "[{\"path\": \"\(badUnit)\", \"references\": []}]", "more": "[]", "symlinks": "[]", "contents": "[]"]))
        XCTAssertTrue(m.contains("attribute units[0]: unit \"other.service\": portablectl attaches only units whose name is the image prefix \"hello\""), m)
        XCTAssertTrue(m.contains("rename the unit's derivation"), m)
    }

    func testInvalidJSONReportsFileLineAndColumn() {
        do {
            _ = try Attrs.parse(Array("{\n \"pname\": \"x\",\n}".utf8), origin: "/build/.attrs.json")
            XCTFail("expected an error")
        } catch {
            XCTAssertTrue(error.message.hasPrefix("/build/.attrs.json:3:1: invalid JSON: "), error.message)
        }
        XCTAssertThrowsError(try Attrs.parse(Array("[1]".utf8), origin: "a")) { e in
            XCTAssertTrue((e as? PortableServiceError)?.message.contains("top level is a list") ?? false, "\(e)")
        }
    }
}

// MARK: - Layout

final class LayoutTests: XCTestCase {
    let store = "/nix/store"

    func makeSpec(units: [ImageSpec.Unit], symlinks: [ImageSpec.Symlink] = [], storePaths: [String]) -> ImageSpec {
        ImageSpec(pname: "demo", version: "1", units: units,
                  osRelease: OSRelease(pname: "demo", version: "1", description: "D", homepage: nil),
                  symlinks: symlinks, storeDir: store, storePaths: storePaths,
                  squash: try! SquashSettings(compression: SquashSettings.defaultCompression, blockSize: 1 << 20))
    }

    /// A stand-in for scanSource: unit paths are files, store paths are
    /// directories holding one file.
    func fakeScan(_ path: String) throws(SourceTreeError) -> Node {
        if path.hasSuffix(".service") || path.hasSuffix(".socket") {
            return .file(File(mode: 0o444, size: 7, source: .path(Array(path.utf8))))
        }
        if path.hasSuffix("-dir-unit") { return .directory(Directory()) }
        if path.hasSuffix("-missing") { throw SourceTreeError("\(path): cannot stat (No such file or directory)") }
        return .directory(Directory(mode: 0o555, entries: [Entry("bin", .file(File(mode: 0o555, bytes: [1, 2])))]))
    }

    func testScaffoldUnitsSymlinksAndStore() throws {
        let unitPath = "\(store)/\(fakeStoreName("demo.service", seed: 1))"
        let socketRoot = "\(store)/\(fakeStoreName("units", seed: 2))"
        let socketPath = "\(socketRoot)/demo@.socket"
        let pkg = "\(store)/\(fakeStoreName("pkg", seed: 3))"
        let spec = makeSpec(
            units: [ImageSpec.Unit(name: "demo.service", path: unitPath), ImageSpec.Unit(name: "demo@.socket", path: socketPath)],
            symlinks: [ImageSpec.Symlink(path: ["bin", "sh"], target: "\(pkg)/bin"), ImageSpec.Symlink(path: ["var", "run"], target: "/run")],
            storePaths: [pkg, socketRoot, unitPath])
        let root = try Layout.tree(for: spec, scan: fakeScan)
        XCTAssertEqual(root.mode, 0o755)
        func node(_ p: String) -> Node? { root.lookup(p.split(separator: "/").map { Array($0.utf8) }) }

        for dir in ["proc", "sys", "dev", "run", "tmp", "var/tmp", "var/lib", "var/cache", "var/log", "etc/systemd/system", "nix/store", "bin"] {
            guard case .directory(let d)? = node(dir) else { XCTFail("\(dir) is not a directory"); continue }
            XCTAssertEqual(d.mode, 0o755, dir)
            if ["proc", "sys", "dev", "run", "tmp"].contains(dir) { XCTAssertTrue(d.entries.isEmpty, dir) }
        }
        guard case .file(let osr)? = node("etc/os-release"), case .bytes(let bytes) = osr.source else { return XCTFail("os-release") }
        XCTAssertEqual(osr.mode, 0o444)
        XCTAssertEqual(bytes, spec.osRelease.render())
        for empty in ["etc/resolv.conf", "etc/machine-id"] {
            guard case .file(let f)? = node(empty) else { XCTFail(empty); continue }
            XCTAssertEqual(f.size, 0, empty)
            XCTAssertEqual(f.mode, 0o644, empty)
        }
        guard case .file(let u)? = node("etc/systemd/system/demo.service"), case .path(let src) = u.source else { return XCTFail("unit") }
        XCTAssertEqual(src, Array(unitPath.utf8), "units are read in place from the store")
        XCTAssertNotNil(node("etc/systemd/system/demo@.socket"))
        guard case .symlink(let t, _)? = node("bin/sh") else { return XCTFail("bin/sh") }
        XCTAssertEqual(t, Array("\(pkg)/bin".utf8))
        guard case .symlink(let r, _)? = node("var/run") else { return XCTFail("var/run") }
        XCTAssertEqual(r, Array("/run".utf8))
        guard case .directory(let storeDir)? = node("nix/store") else { return XCTFail("store") }
        XCTAssertEqual(Set(storeDir.entries.map { String(decoding: $0.name, as: UTF8.self) }),
                       [String(pkg.dropFirst(store.count + 1)), String(socketRoot.dropFirst(store.count + 1)), String(unitPath.dropFirst(store.count + 1))])
        XCTAssertEqual(Set(root.entries.map { String(decoding: $0.name, as: UTF8.self) }),
                       ["bin", "dev", "etc", "nix", "proc", "run", "sys", "tmp", "var"])
    }

    func testAUnitMustBeOneRegularFile() {
        let dirUnit = "\(store)/\(fakeStoreName("demo.service-dir-unit", seed: 4))"
        XCTAssertThrowsError(try Layout.tree(for: makeSpec(units: [ImageSpec.Unit(name: "demo.service", path: dirUnit)], storePaths: [dirUnit]), scan: fakeScan)) { e in
            let m = (e as? PortableServiceError)?.message ?? "\(e)"
            XCTAssertTrue(m.contains("attribute units[0]") && m.contains("is a directory; a unit must be one regular file"), m)
        }
        let stray = "\(store)/\(fakeStoreName("stray.service", seed: 6))"
        XCTAssertThrowsError(try Layout.tree(for: makeSpec(units: [ImageSpec.Unit(name: "demo.service", path: stray)], storePaths: []), scan: fakeScan)) { e in
            let m = (e as? PortableServiceError)?.message ?? "\(e)"
            XCTAssertTrue(m.contains("attribute units[0]") && m.contains("leads outside the closure: it leads into \"\(stray)\", which is not in the closure"), m)
        }
        let missing = "\(store)/\(fakeStoreName("x", seed: 5))-missing"
        XCTAssertThrowsError(try Layout.tree(for: makeSpec(units: [], storePaths: [missing]), scan: fakeScan)) { e in
            let m = (e as? PortableServiceError)?.message ?? "\(e)"
            XCTAssertTrue(m.hasPrefix("closure: cannot read store path: ") && m.contains("No such file"), m)
        }
    }

    func testSymlinkClashesAreReported() {
        for (path, expected) in [(["etc", "os-release"], "already exists"), (["etc", "os-release", "x"], "needs it to be a directory")] {
            let spec = makeSpec(units: [], symlinks: [ImageSpec.Symlink(path: path, target: "/x")], storePaths: [])
            XCTAssertThrowsError(try Layout.tree(for: spec, scan: fakeScan)) { e in
                let m = (e as? PortableServiceError)?.message ?? "\(e)"
                XCTAssertTrue(m.hasPrefix("symlinks[0]: cannot place /\(path.joined(separator: "/"))") && m.contains(expected), m)
            }
        }
    }
}

// MARK: - The builder executable on a fake store

/// Runs the real `mkportable` in builder mode and `build` mode against a
/// store made in a temporary directory (NIX_STORE points there).
final class BuilderCommandTests: XCTestCase {
    var tmp: TemporaryDirectory!
    var storeDir: String!
    var unit: String!
    var tool: String!

    override func setUpWithError() throws {
        tmp = try TemporaryDirectory(prefix: "builder")
        storeDir = tmp.sub("store").string
        try Posix.mkdir(tmp.sub("store"))
        unit = "\(storeDir!)/\(fakeStoreName("tiny.service", seed: 11))"
        try Posix.writeFile(RawPath(unit), Array("[Service]\nExecStart=\(storeDir!)/\(fakeStoreName("tool", seed: 12))/bin/tool\n".utf8), mode: 0o444)
        tool = "\(storeDir!)/\(fakeStoreName("tool", seed: 12))"
        let t = try TreeBuilder(root: RawPath(tool))
        try t.file("bin/tool", "#!/bin/sh\necho tool\n", mode: 0o555)
        try t.file("share/same", "identical\n", mode: 0o444)
    }

    override func tearDown() {
        tmp?.remove()
        super.tearDown()
    }

    func attrsJSON(out: String, unitName: String? = nil, compression: String = "gzip") -> String {
        """
        {"pname": "tiny", "version": "0.1", "units": ["\(unitName ?? unit!)"], "description": "Tiny",
         "symlinks": [{"object": "\(tool!)/bin/tool", "symlink": "/usr/bin/tool"}],
         "squash-compression": "\(compression)", "squash-block-size": "64K",
         "exportReferencesGraph": {"closure": []},
         "closure": [{"path": "\(unit!)", "references": ["\(tool!)"]}, {"path": "\(tool!)", "references": []}],
         "outputs": {"out": "\(out)"}}
        """
    }

    func run(_ args: [String], env: [String: String?]) throws -> CommandResult {
        var e = env
        e["NIX_STORE"] = storeDir
        for k in ["NIX_ATTRS_JSON_FILE", "NIX_BUILD_TOP", "SOURCE_DATE_EPOCH", "out"] where e[k] == nil { e[k] = .some(nil) }
        return try Shell.run(try MkportableBinary.path(), args, environment: e)
    }

    func listing(_ image: String) throws -> String {
        try Shell.check("unsquashfs", ["-lln", image]).stdoutText
    }

    func testBuilderModeFallsBackToBuildTopWhenTheVariablePointsOutsideTheSandbox() throws {
        // What Nix 2.8 does in the sandbox: NIX_ATTRS_JSON_FILE names the
        // host path of the build directory, the file is at $NIX_BUILD_TOP.
        let top = tmp.sub("build")
        try Posix.mkdir(top)
        let out = tmp.sub("out").string
        try Posix.writeFile(top.appending(".attrs.json"), Array(attrsJSON(out: out).utf8))
        let r = try run([], env: ["NIX_ATTRS_JSON_FILE": "/tmp/nix-build-tiny.drv-0/.attrs.json", "NIX_BUILD_TOP": top.string, "NIX_BUILD_CORES": "0"])
        XCTAssertTrue(r.succeeded, r.summary)
        let image = out + "/tiny_0.1.raw"
        let list = try listing(image)
        XCTAssertTrue(list.contains("squashfs-root/etc/systemd/system/tiny.service"), list)
        XCTAssertTrue(list.contains("squashfs-root/usr/bin/tool -> \(tool!)/bin/tool"), list)
        XCTAssertTrue(list.contains("squashfs-root\(tool!)/share/same"), list)
        XCTAssertTrue(list.contains("1970-01-01 00:00"), "mtime 0 without SOURCE_DATE_EPOCH: \(list)")
        XCTAssertTrue(r.stderrText.contains("mkportable: wrote \(image)"), r.stderrText)
        let osr = try Shell.check("unsquashfs", ["-cat", image, "etc/os-release"]).stdoutText
        XCTAssertTrue(osr.contains("PORTABLE_PREFIXES=tiny\n") && osr.contains("PORTABLE_PRETTY_NAME=Tiny\n"), osr)
    }

    func testBuildCommandMatchesBuilderModeAndHonoursSourceDateEpoch() throws {
        let attrs = tmp.sub("attrs.json")
        try Posix.writeFile(attrs, Array(attrsJSON(out: "/nonexistent").utf8))
        let a = tmp.sub("a").string, b = tmp.sub("b").string
        let r1 = try run(["build", "--attrs", attrs.string, "--out", a], env: ["NIX_BUILD_CORES": "1"])
        XCTAssertTrue(r1.succeeded, r1.summary)
        let r2 = try run(["build", "--attrs", attrs.string, "--out", b], env: ["NIX_BUILD_CORES": "2"])
        XCTAssertTrue(r2.succeeded, r2.summary)
        XCTAssertNil(try ImageCheck.firstDifference(RawPath(a + "/tiny_0.1.raw"), RawPath(b + "/tiny_0.1.raw")), "thread count changed the image")
        let c = tmp.sub("c").string
        let r3 = try run(["build", "--attrs", attrs.string, "--out", c], env: ["SOURCE_DATE_EPOCH": "86400"])
        XCTAssertTrue(r3.succeeded, r3.summary)
        XCTAssertTrue(try listing(c + "/tiny_0.1.raw").contains("1970-01-02 00:00"))
    }

    func testErrorsAreOneLineAndLeaveNoImage() throws {
        let out = tmp.sub("out").string
        let cases: [(String, String, String)] = [
            (attrsJSON(out: out, unitName: "\(storeDir!)/\(fakeStoreName("other.service", seed: 13))"), "attribute units[0]", "not in the closure"),
            (attrsJSON(out: out, compression: "xz -Xnope"), "attribute squash-compression: \"xz -Xnope\": ", "-Xnope"),
            ("{\"pname\": \"tiny\",}", "attrs.json:1:18: invalid JSON", "expected a key"),
        ]
        for (json, prefix, detail) in cases {
            let attrs = tmp.sub("attrs.json")
            Posix.removeTree(attrs)
            try Posix.writeFile(attrs, Array(json.utf8))
            let r = try run(["build", "--attrs", attrs.string, "--out", out], env: [:])
            XCTAssertEqual(r.status, 1, r.summary)
            let lines = r.stderrText.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, r.stderrText)
            XCTAssertTrue(r.stderrText.hasPrefix("mkportable: error: "), r.stderrText)
            XCTAssertTrue(r.stderrText.contains(prefix) && r.stderrText.contains(detail), "«\(r.stderrText)» should contain «\(prefix)» and «\(detail)»")
            XCTAssertNil(try Posix.lstatIfExists(RawPath(out + "/tiny_0.1.raw")), "an image was left behind")
        }
    }

    func testUsageErrors() throws {
        let none = try run([], env: [:])
        XCTAssertEqual(none.status, 2, none.summary)
        XCTAssertTrue(none.stderrText.hasPrefix("mkportable: error: no command given and not run by Nix"), none.stderrText)
        let missingFile = try run([], env: ["NIX_ATTRS_JSON_FILE": tmp.sub("nope.json").string])
        XCTAssertEqual(missingFile.status, 1, missingFile.summary)
        XCTAssertTrue(missingFile.stderrText.contains("no attributes file at") && missingFile.stderrText.contains("__structuredAttrs"), missingFile.stderrText)
        let noOut = try run(["build", "--attrs", "x.json"], env: [:])
        XCTAssertEqual(noOut.status, 2)
        XCTAssertTrue(noOut.stderrText.contains("--out DIR is required"), noOut.stderrText)
        let help = try run(["build", "--help"], env: [:])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdoutText.contains("Usage: mkportable build --attrs FILE --out DIR"))
    }
}
