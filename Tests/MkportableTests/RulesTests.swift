import EROFS
import Foundation
import PortableService
import SquashFS
import XCTest

/// nix/rules.json is the one writing of the portable-service rules. These
/// tests hold the other places to it: the generated Swift
/// (ServiceRules.swift) must be what scripts/gen-rules makes of it today;
/// the squashfs writer's compressor parser must take exactly the options
/// the data lists, with the same ranges and names; and Nix's checks
/// (nix/rules.nix, reading the same data) must accept and refuse exactly
/// what the builder accepts and refuses, case by case.
final class RulesTests: XCTestCase {
    static let root = MkportableBinary.packageRoot.path

    func rules() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.root + "/nix/rules.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func testGeneratedSwiftIsTheDataFile() throws {
        let r = try runLimited(Self.root + "/scripts/gen-rules", ["--stdout"], timeout: 60)
        XCTAssertEqual(r.status, 0, r.summary)
        let file = try String(contentsOfFile: Self.root + "/Sources/PortableService/ServiceRules.swift", encoding: .utf8)
        XCTAssertEqual(file, r.stdoutText, "ServiceRules.swift is not what nix/rules.json says: run scripts/gen-rules")
        // And the code uses it.
        XCTAssertEqual(Layout.unitDirectory, ServiceRules.unitDirectory)
        XCTAssertEqual(Layout.mountPoints, ServiceRules.mountPoints)
        XCTAssertEqual(UnitName.portableSuffixes, ServiceRules.unitSuffixes)
        XCTAssertEqual(Layout.scaffoldFiles.map(\.path), ServiceRules.scaffoldFiles.map(\.path))
    }

    /// Every compressor option of the data, at and past its bounds, against
    /// `parseCompressor`; and the parser knows no option the data lacks.
    func testCompressorOptionsAreTheDataFiles() throws {
        let squashfs = try XCTUnwrap(try rules()["squashfs"] as? [String: Any])
        let compressors = try XCTUnwrap(squashfs["compressors"] as? [String: [[String: Any]]])
        XCTAssertEqual(Set(compressors.keys), Set(compressorNames))
        for (name, options) in compressors {
            // The parser's own list of options, from its refusal of an unknown one.
            do {
                _ = try parseCompressor("\(name) -Xno-such-option", blockSize: 1 << 20)
                XCTFail("\(name) took -Xno-such-option")
            } catch {
                let listed = error.message.components(separatedBy: "accepted: ").last ?? ""
                XCTAssertEqual(listed, options.compactMap { $0["form"] as? String }.joined(separator: ", "), "\(name): \(error.message)")
            }
            for o in options {
                let option = try XCTUnwrap(o["name"] as? String)
                var good: [String] = [], bad: [String] = []
                if let range = o["integer"] as? [Int] {
                    good = ["\(range[0])", "\(range[1])"]
                    bad = ["\(range[0] - 1)", "\(range[1] + 1)", "x"]
                } else if let names = (o["list"] ?? o["choice"]) as? [String] {
                    good = names
                    bad = ["no-such-name"]
                } else if o["dictionarySize"] != nil {
                    good = ["100%", "8K", "50%"]
                    bad = ["4K", "3K", "2M"]
                } else {
                    XCTAssertEqual(o["flag"] as? Bool, true, "\(name) \(option): no kind")
                    XCTAssertNoThrow(try parseCompressor("\(name) \(option)", blockSize: 1 << 20))
                    continue
                }
                for v in good { XCTAssertNoThrow(try parseCompressor("\(name) \(option) \(v)", blockSize: 1 << 20), "\(name) \(option) \(v)") }
                for v in bad { XCTAssertThrowsError(try parseCompressor("\(name) \(option) \(v)", blockSize: 1 << 20), "\(name) \(option) \(v)") }
            }
        }
        let bounds = try XCTUnwrap(squashfs["blockSize"] as? [String: Int])
        XCTAssertEqual(try parseBlockSize("\(bounds["min"]!)"), bounds["min"])
        XCTAssertEqual(try parseBlockSize("\(bounds["max"]!)"), bounds["max"])
        XCTAssertThrowsError(try parseBlockSize("\(bounds["min"]! / 2)"))
        XCTAssertThrowsError(try parseBlockSize("\(bounds["max"]! * 2)"))
    }

    /// The squashfs settings and the name rules, case by case: what Nix
    /// refuses at evaluation is what the builder refuses, and no more.
    func testNixAndTheBuilderJudgeSettingsAlike() throws {
        guard Shell.which("nix-instantiate") != nil else { throw XCTSkip("nix-instantiate not found") }
        let blockSizes = ["1M", "4K", "8K", "128k", "131072", "3K", "0", "4097", "2M", "1G", "x", "", "08K", "99999999999"]
        let compressions = [
            "xz -Xdict-size 100%", "xz", "xz -Xdict-size 8K", "xz -Xdict-size 4K", "xz -Xdict-size 12K", "xz -Xdict-size 10K",
            "xz -Xdict-size 37.5%", "xz -Xdict-size 0%", "xz -Xdict-size 101%", "xz -Xdict-size 1.5M", "xz -Xdict-size .5%",
            "xz -Xbcj x86,arm", "xz -Xbcj x86,", "xz -Xbcj ,x86", "xz -Xbcj mips", "xz -Xdict-size", "xz -Xpreset 9",
            "gzip", "gzip -Xcompression-level 9 -Xwindow-size 8", "gzip -Xcompression-level 0", "gzip -Xstrategy filtered,fixed",
            "zstd -Xcompression-level 22", "zstd -Xcompression-level 99", "zstd -Xcompression-level 9x", "zstd 19",
            "lz4 -Xhc", "lz4 -Xhc -Xhc", "lzo -Xalgorithm lzo1x_1", "lzo -Xcompression-level 5",
            "lzo -Xalgorithm lzo1x_1 -Xcompression-level 5", "lzo -Xcompression-level 5 -Xalgorithm lzo1x_999",
            "brotli", "lzma", "", "  zstd  ", "XZ",
        ]
        let nixList = { (xs: [String]) in "[ " + xs.map { BuilderFixture.js($0).replacingOccurrences(of: "$", with: "\\$") }.joined(separator: " ") + " ]" }
        let expr = """
            let r = import \(Self.root)/nix/rules.nix;
                sizes = map (s: (r.blockSize s).size or null) \(nixList(blockSizes));
            in {
              inherit sizes;
              compressions = map (b: map (c: r.compressionProblem c b == null) \(nixList(compressions))) [ 4096 8192 1048576 ];
            }
            """
        let out = try Shell.check("nix-instantiate", ["--eval", "--strict", "--json", "-E", expr]).stdout
        let nix = try XCTUnwrap(JSONSerialization.jsonObject(with: out) as? [String: Any])
        let sizes = try XCTUnwrap(nix["sizes"] as? [Any])
        for (i, s) in blockSizes.enumerated() {
            let swift = try? parseBlockSize(s)
            XCTAssertEqual(sizes[i] as? Int, swift, "squash-block-size \"\(s)\": Nix \(sizes[i]), builder \(String(describing: swift))")
        }
        let verdicts = try XCTUnwrap(nix["compressions"] as? [[Bool]])
        for (b, block) in [4096, 8192, 1 << 20].enumerated() {
            for (i, c) in compressions.enumerated() {
                let swift = (try? parseCompressor(c, blockSize: block)) != nil
                XCTAssertEqual(verdicts[b][i], swift, "squash-compression \"\(c)\" with \(block)-byte blocks: Nix \(verdicts[b][i] ? "accepts" : "refuses"), the builder \(swift ? "accepts" : "refuses")")
            }
        }
    }

    /// The erofs compressors of the data against the erofs writer's parser:
    /// the same names (its refusal of an unknown one lists their forms),
    /// the same options per compressor, each taken at its bounds and
    /// refused past them.
    func testErofsCompressorsAreTheDataFiles() throws {
        let r = try rules()
        XCTAssertEqual(r["fileSystems"] as? [String], ServiceRules.fileSystems)
        let erofs = try XCTUnwrap(r["erofs"] as? [String: Any])
        let defaultText = try XCTUnwrap(erofs["defaultCompression"] as? String)
        XCTAssertNoThrow(try Compression(parsing: defaultText))
        // One default everywhere: Nix's, pack's and the builder's
        // (ServiceRules), the library's, and the one README.md and
        // docs/erofs.md name and give the reasons for (Debian 12's 6.1
        // mounts lz4 only; VMTests attaches it there).
        XCTAssertEqual(defaultText, ServiceRules.erofsDefaultCompression)
        XCTAssertEqual(try Compression(parsing: defaultText).description, EROFSOptions().compression.description)
        XCTAssertEqual(EROFSOptions().compression.description, "lz4hc,level=9", "README.md and docs/erofs.md name lz4hc,level=9 as the default")
        XCTAssertTrue(EROFSOptions().fragments, "docs/erofs.md calls fragments the default for every compressed image")
        let compressors = try XCTUnwrap(erofs["compressors"] as? [[String: Any]])
        let forms = compressors.compactMap { $0["form"] as? String }
        do {
            _ = try Compression(parsing: "no-such-compressor")
            XCTFail("the parser took no-such-compressor")
        } catch {
            XCTAssertEqual(error.message.components(separatedBy: "accepted: ").last, forms.joined(separator: ", "), error.message)
        }
        for c in compressors {
            let name = try XCTUnwrap(c["name"] as? String)
            let options = try XCTUnwrap(c["options"] as? [[String: Any]])
            XCTAssertNoThrow(try Compression(parsing: name), name)
            XCTAssertThrowsError(try Compression(parsing: "\(name),no-such-option=1"), name)
            for o in options {
                let option = try XCTUnwrap(o["name"] as? String)
                let range = try XCTUnwrap(o["range"] as? [Int])
                for v in [range[0], range[1]] { XCTAssertNoThrow(try Compression(parsing: "\(name),\(option)=\(v)"), "\(name),\(option)=\(v)") }
                for v in [range[0] - 1, range[1] + 1] where v >= 0 {
                    XCTAssertThrowsError(try Compression(parsing: "\(name),\(option)=\(v)"), "\(name),\(option)=\(v)")
                }
            }
        }
    }

    /// erofs-compression, case by case: Nix (nix/rules.nix) refuses what
    /// the writer's parser refuses, in the same words, and takes the rest.
    func testNixAndTheWriterJudgeErofsCompressionAlike() throws {
        guard Shell.which("nix-instantiate") != nil else { throw XCTSkip("nix-instantiate not found") }
        let texts = [
            "lz4hc,level=9", "lz4hc", "lz4", "none", "lzma", "lzma,level=9,dictsize=65536", "lz4hc,level=0", "lz4hc,level=12",
            "lz4hc,level=13", "lzma,dictsize=4095", "lzma,dictsize=8388609", "lzma,level=10", "lz4,level=1", "none,level=1",
            "lz4hc,lvl=1", "lz4hc,level", "lz4hc,level=", "lz4hc,=5", "lz4hc,level=x", "lz4hc,level=+5", "lz4hc,level=-0",
            "lz4hc,level=-1", "lz4hc,level=007", "lz4hc,level=99999999999999999999", "lz4hc,level=9223372036854775807",
            "lz4hc,level=13,level=5", "lz4hc,level=5,level=13", "lz4hc,", "", "zstd", "LZ4", " lz4", "lz4hc,level=1=2",
            "lzma,dictsize=1,level=99", "lz4hc,b=1,a=2", "deflate", "deflate,level=0", "deflate,level=10", "zstd,level=22",
            "zstd,level=23", "zstd,dictsize=65536", "deflate,level=9,level=1",
        ]
        let list = "[ " + texts.map { BuilderFixture.js($0).replacingOccurrences(of: "$", with: "\\$") }.joined(separator: " ") + " ]"
        let expr = "let r = import \(Self.root)/nix/rules.nix; in map r.erofsCompressionProblem \(list)"
        let out = try Shell.check("nix-instantiate", ["--eval", "--strict", "--json", "-E", expr]).stdout
        let nix = try XCTUnwrap(JSONSerialization.jsonObject(with: out) as? [Any])
        for (i, t) in texts.enumerated() {
            var swift: String?
            do { _ = try Compression(parsing: t) } catch { swift = error.message }
            XCTAssertEqual(nix[i] as? String, swift, "erofs-compression \"\(t)\": Nix «\(nix[i])», the writer «\(swift ?? "accepts")»")
        }
    }
}
