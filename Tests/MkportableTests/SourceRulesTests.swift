import Foundation
import XCTest

/// Issue 18's rules for Sources/, measured by scripts/check-sources: no
/// function over 60 lines; O_TMPFILE named in one file and strerror in at
/// most one; no format library (SquashFS, EROFS, Verity, DiskImage,
/// SourceTree, ImageReading, Hex) names an option, an MKPORTABLE_ or NIX_
/// variable or the program, or reads the environment; no module but
/// SystemIO calls the system calls it wraps (fsync, lseek, ...); README.md and docs/
/// name no file that is not where they say. A second test holds
/// the script to finding each break, in a made-up Sources folder whose
/// comments and strings hold braces that must count for nothing.
final class SourceRulesTests: XCTestCase {
    static let root = MkportableBinary.packageRoot.path

    var work: TemporaryDirectory!
    override func setUpWithError() throws { work = try TemporaryDirectory(prefix: "source-rules") }
    override func tearDown() { work?.remove() }

    func testSourcesKeepTheRules() throws {
        let r = try runLimited(Self.root + "/scripts/check-sources", [], timeout: 120)
        XCTAssertEqual(r.stdoutText, "", "scripts/check-sources found breaks")
        XCTAssertEqual(r.status, 0, r.summary)
    }

    func write(_ path: String, _ text: String) throws {
        try Posix.makeDirectories(work.sub(RawPath(path).parent))
        try Posix.writeFile(work.sub(RawPath(path)), Array(text.utf8))
    }

    /// A function of `lines` lines (keyword to closing brace) whose body
    /// holds braces in comments and every kind of string literal.
    func function(_ name: String, lines: Int) -> String {
        var body = [
            "func \(name)(_ x: Int) -> String {",
            "    let a = \"}\" // }",
            "    /* { /* nested { */ */",
            "    let b = #\"\\(x) } \\#(x + 1) {\"#",
            "    let c = \"\\(x > 0 ? \"{\" : \"}\")\"",
            "    let d = \"\"\"",
            "        { a \"quoted\" }",
            "        \"\"\"",
        ]
        while body.count < lines - 1 { body.append("    _ = x") }
        body.append("}")
        return body.joined(separator: "\n") + "\n"
    }

    func testTheCheckFindsEachBreak() throws {
        // Lines 1-4, then 5-64 (60 lines: fine), then a property set by a
        // called closure at 66-126 and a method at 127-187 (61 lines each).
        try write("Sources/Commands/Long.swift", """
            protocol P {
                func required() -> Int
                var computed: Int { get }
            }
            \(function("sixty", lines: 60))\
            struct S {
                static let table: [Int] = {
                    var t: [Int] = []
            \(String(repeating: "        t.append(1)\n", count: 57))\
                    return t
                }()
            \(function("sixtyOne", lines: 61).split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            }
            var shape: Int { if let x = Optional(1) { return x }; return 0 }

            """)
        try write("Sources/SystemIO/A.swift", "let flag = O_TMPFILE // and strerror\n")
        try write("Sources/Commands/B.swift", "let name = \"NO_O_TMPFILE\"\n/* strerror */\n")
        try write("Sources/SystemIO/C.swift", "let s = strerror(1)\nlet r = fsync(3)\n")
        try write("Sources/Verity/D.swift", "let s = strerror(2)\n")
        try write("Sources/SquashFS/E.swift", """
            // Comments may name --jobs and NIX_BUILD_CORES.
            let m = "lower --jobs (NIX_BUILD_CORES) \\(1) for Mkportable"
            let n = "x--y and 3 -- 4 name nothing"
            let e = getenv("HOME")
            let f = MKPORTABLE_TRACE

            """)
        try write("Sources/EROFS/F.swift", """
            func finish(_ fd: Int32) {
                if fsync(fd) != 0 { return }  // fsync(fd) in a comment
                _ = Glibc.lseek(fd, 0, SEEK_END)
                let s = "ftruncate(fd, 0)"
                try? file.sync(); x.fstat(1); y.pread (2)
            }
            func pread(_ x: Int) {}

            """)
        try write("README.md", "`Sources/SquashFS/E.swift`, `Missing.swift`, `A.swift`; `Sources/Nowhere/X.swift`\n")
        let r = try runLimited(Self.root + "/scripts/check-sources", ["--root", work.path.string], timeout: 60)
        XCTAssertEqual(r.status, 1, r.summary)
        let message = #""lower --jobs (NIX_BUILD_CORES) \(…) for Mkportable""#
        XCTAssertEqual(r.stdoutText.split(separator: "\n").map(String.init), [
            "os        Sources/EROFS/F.swift:2 calls fsync, which only SystemIO may: if fsync(fd) != 0 { return }",
            "os        Sources/EROFS/F.swift:3 calls lseek, which only SystemIO may: _ = Glibc.lseek(fd, 0, SEEK_END)",
            "library   Sources/SquashFS/E.swift:2 names a command-line option: \(message)",
            "library   Sources/SquashFS/E.swift:2 names a Nix variable: \(message)",
            "library   Sources/SquashFS/E.swift:2 names the program's name: \(message)",
            "library   Sources/SquashFS/E.swift:4 code names the environment: let e = getenv(      )",
            "library   Sources/SquashFS/E.swift:5 code names a mkportable variable: let f = MKPORTABLE_TRACE",
            "long      Sources/Commands/Long.swift:66 let table: [Int] =: 61 lines (at most 60)",
            "long      Sources/Commands/Long.swift:127 func sixtyOne(_ x: Int) -> String: 61 lines (at most 60)",
            "O_TMPFILE named in 2 files: Sources/Commands/B.swift, Sources/SystemIO/A.swift",
            "strerror  named in 2 files: Sources/SystemIO/C.swift, Sources/Verity/D.swift",
            "docs      README.md:1 names Missing.swift, which is nowhere under Sources/ or Tests/",
            "docs      README.md:1 names A.swift after Sources/SquashFS, but it is in Sources/SystemIO/A.swift",
            "docs      README.md:1 names Sources/Nowhere/X.swift, which does not exist",
        ])
    }
}
