import Foundation
import XCTest

/// nixpkgs' newest Swift is 6.2 (swift_release 6.2.4) and this machine's is
/// newer, so nothing here compiles the sources with 6.2. What can be
/// checked is checked: Package.swift declares tools 6.0 (typed throws need
/// it; SwiftPM then refuses manifest API newer than 6.0), and the sources
/// use none of the language features or standard library types that came
/// after Swift 6.2: the syntax of the evolution proposals implemented in
/// Swift 6.3. Standard library API newer than 6.2 is not covered by this
/// check. Keep the list current when a newer toolchain is adopted.
final class SwiftVersionTests: XCTestCase {
    static let root = MkportableBinary.packageRoot.path

    func testToolsVersionIsSixZero() throws {
        let manifest = try String(contentsOfFile: Self.root + "/Package.swift", encoding: .utf8)
        XCTAssertTrue(manifest.hasPrefix("// swift-tools-version:6.0\n"), String(manifest.prefix(40)))
    }

    func testSourcesUseNothingNewerThanSwift62() throws {
        // Swift 6.3: @c (SE-0495), module selectors Module::name (SE-0491),
        // @section/@used (SE-0492), @inline(always) (SE-0496), @export
        // (SE-0497), @specialize (SE-0460).
        let after62: [(String, String)] = [
            (#"(^|[^A-Za-z_])@c([^A-Za-z_]|$)"#, "@c"),
            (#"[A-Za-z_][A-Za-z0-9_]*::[A-Za-z_]"#, "a module selector"),
            (#"@section\b"#, "@section"),
            (#"@used\b"#, "@used"),
            (#"@inline\(always\)"#, "@inline(always)"),
            (#"@export\("#, "@export"),
            (#"@specialize\("#, "@specialize"),
        ]
        let sources = URL(fileURLWithPath: Self.root + "/Sources")
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }
        XCTAssertFalse(files.isEmpty)
        for file in files {
            let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            for (i, line) in lines.enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces)
                if code.hasPrefix("//") || code.hasPrefix("///") { continue }
                for (pattern, what) in after62 where line.range(of: pattern, options: .regularExpression) != nil {
                    XCTFail("\(file.lastPathComponent):\(i + 1) uses \(what), which needs Swift 6.3; nixpkgs has 6.2: \(code)")
                }
            }
        }
    }
}
