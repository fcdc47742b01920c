import Foundation
import XCTest

/// SquashFS is a format library (issue 18): it knows nothing of the command
/// line, the environment or the program's name. Commands words messages
/// with options and reads variables; the library gets values and callbacks
/// (`ImageOptions`, `Trace.sink`, `WriteProgress`). This reads the module's
/// sources and fails on any code line (comments aside) that names the
/// program, a long option, a Nix or mkportable variable, or reads the
/// environment.
final class FormatLibraryTests: XCTestCase {
    static let forbidden: [(what: String, pattern: String)] = [
        ("the program's name", "mkportable"),
        ("a command-line option", "--[a-z]"),
        ("a Nix variable", "NIX_"),
        ("a mkportable variable", "MKPORTABLE_"),
        ("the environment", "getenv|environ\\b|ProcessInfo"),
    ]

    func testSquashFSNamesNoOptionVariableOrProgram() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/SquashFS").standardized
        let files = try FileManager.default.subpathsOfDirectory(atPath: sources.path).filter { $0.hasSuffix(".swift") }
        XCTAssertGreaterThan(files.count, 20, "the module's sources are at \(sources.path)")
        var found: [String] = []
        for file in files.sorted() {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces)
                if code.hasPrefix("//") { continue }
                for (what, pattern) in Self.forbidden where code.range(of: pattern, options: .regularExpression) != nil {
                    found.append("\(file):\(number + 1) names \(what): \(code)")
                }
            }
        }
        XCTAssertEqual(found, [], found.joined(separator: "\n"))
    }

    /// The check itself finds what it looks for.
    func testTheCheckFindsAMessageNamingAnOption() {
        let line = #"throw SquashFSError("too many threads; lower --jobs or NIX_BUILD_CORES")"#
        let hits = Self.forbidden.filter { line.range(of: $0.pattern, options: .regularExpression) != nil }.map(\.what)
        XCTAssertEqual(hits, ["a command-line option", "a Nix variable"])
    }
}
