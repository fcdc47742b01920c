import Foundation
import XCTest

/// The README's "Replaying a build outside Nix", run as written: the
/// attributes from `nix show-derivation`, the closure file made from the
/// store with nix-store queries, then `mkportable build --attrs`, whose
/// image must be the Nix build's byte for byte. The builder is this test
/// run's mkportable (`--arg mkportableExe`), so nothing is compiled in Nix.
final class ReplayTests: XCTestCase {
    func testTheReadmesReplayRecipeGivesTheNixBuildsImage() throws {
        for tool in ["nix-build", "nix-instantiate", "nix-store", "nix"] where Shell.which(tool) == nil {
            print("note: ReplayTests skipped: \(tool) not found (install nix-bin)")
            throw XCTSkip("\(tool) not found")
        }
        let bin = try MkportableBinary.path()
        let root = NixTests.root
        let work = try TemporaryDirectory(prefix: "replay")
        defer { work.remove() }

        // The image Nix builds.
        let nixArgs = [root + "/default.nix", "-A", "examples.hello", "--arg", "mkportableExe", bin,
                       "--argstr", "swiftToolchain", NixTests.toolchain]
        let built = try Shell.run("nix-build", nixArgs + ["--out-link", work.sub("result").string] + NixTests.nixOptions)
        XCTAssertTrue(built.succeeded, built.summary)
        let nixImage = try Posix.readFile(RawPath(built.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) + "/hello_1.0.raw"))

        // The recipe, from the README, for this checkout and this binary.
        let readme = try String(contentsOfFile: root + "/README.md", encoding: .utf8)
        guard let section = readme.range(of: "**Replaying a build outside Nix.**"),
              let open = readme.range(of: "```sh\n", range: section.upperBound..<readme.endIndex),
              let close = readme.range(of: "```", range: open.upperBound..<readme.endIndex) else {
            return XCTFail("README has no replay recipe")
        }
        let recipe = String(readme[open.upperBound..<close.lowerBound])
        XCTAssertTrue(recipe.hasPrefix("drv=$(nix-instantiate -A examples.hello)\n"), recipe)
        XCTAssertTrue(recipe.contains("\nmkportable build --attrs attrs.json --out out"), recipe)
        let script = recipe
            .replacingOccurrences(of: "drv=$(nix-instantiate -A examples.hello)",
                                  with: "drv=$(nix-instantiate " + nixArgs.map { "'\($0)'" }.joined(separator: " ") + ")")
            .replacingOccurrences(of: "\nmkportable build", with: "\n'\(bin)' build")
        let r = try Shell.run("bash", ["-c", script], cwd: work.path.string,
                              environment: ["SOURCE_DATE_EPOCH": nil])
        XCTAssertTrue(r.succeeded, r.summary)
        XCTAssertTrue(r.stderrText.contains("mkportable: wrote out/hello_1.0.raw: "), r.stderrText)
        let graph = try String(contentsOfFile: work.sub("closure").string, encoding: .utf8)
        XCTAssertTrue(graph.contains("-hello.service\n\n"), graph)
        let replayed = try Posix.readFile(work.sub("out").appending("hello_1.0.raw"))
        XCTAssertEqual(replayed.count, nixImage.count)
        XCTAssertTrue(replayed == nixImage, "the replayed image differs from the Nix build's")
        let list = try Shell.check("unsquashfs", ["-lln", work.sub("out").appending("hello_1.0.raw").string]).stdoutText
        XCTAssertTrue(list.contains("squashfs-root/etc/systemd/system/hello.service"), list)
    }
}
