import Foundation
import XCTest

/// SIGKILL during `pack --verity` and `pack --ddi`: every file is written
/// unnamed (O_TMPFILE) and named only when complete, the sidecars just
/// before the image, so the output directory afterwards holds nothing, or
/// the complete set (byte for byte a finished run's). The one state that
/// cannot be excluded (a directory cannot take several names at once) is
/// a kill between naming the sidecars and naming the image, a few
/// microseconds: there the sidecars stand without the image, never the
/// image without them; the test accepts it and says so if it happens.
final class VerityCrashTests: ImageTestCase {
    func runKills(_ form: String, expected: [String]) throws {
        let src = try newSource()
        for i in 0..<40 { try src.file(RawPath("sub/f\(i)"), TestData.random(400_000, seed: UInt64(i))) }
        let args = [form, "--arch", "x86_64", "--comp", "gzip", "--block-size", "64K", "--jobs", "2"]
        let refDir = work.sub(RawPath("ref\(form)"))
        try Posix.mkdir(refDir)
        let started = Date()
        let ref = try Shell.run(try MkportableBinary.path(), ["pack"] + args.filter { form == "--ddi" || ($0 != "--arch" && $0 != "x86_64") } + [src.root.string, refDir.appending("img.raw").string])
        let duration = Date().timeIntervalSince(started)
        XCTAssertTrue(ref.succeeded, ref.summary)
        XCTAssertEqual(try Posix.listDirectory(refDir).map(\.string), expected)
        var rng = SystemRandomNumberGenerator()
        var killed = 0, whole = 0, sidecarsOnly = 0
        let rounds = 12
        for round in 0..<rounds {
            let out = work.sub(RawPath("out\(form)-\(round)"))
            try Posix.mkdir(out)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: try MkportableBinary.path())
            p.arguments = ["pack"] + args.filter { form == "--ddi" || ($0 != "--arch" && $0 != "x86_64") } + [src.root.string, out.appending("img.raw").string]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            // Spread over the whole run, the late end (tree, GPT, naming) too.
            // (the machine's load varies, so up to 1.6 times the reference).
            let limit = max(UInt32(duration * 1.6 * 1_000_000), 1000)
            usleep(UInt32.random(in: (limit / 8)..<limit, using: &rng))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            let left = try Posix.listDirectory(out).map(\.string)
            if p.terminationReason == .uncaughtSignal { killed += 1 } else { XCTAssertEqual(p.terminationStatus, 0, "[\(form) round \(round)]") }
            if left == expected {
                whole += 1
                for name in expected {
                    XCTAssertTrue(try Posix.readFile(out.appending(RawPath(name))) == Posix.readFile(refDir.appending(RawPath(name))),
                                  "[\(form) round \(round)] \(name) is named but not the complete file")
                }
            } else if !left.isEmpty && !left.contains("img.raw") && Set(left).isSubset(of: Set(expected)) {
                sidecarsOnly += 1
                print("note: [\(form) round \(round)] killed between naming the sidecars and the image: \(left)")
            } else {
                XCTAssertEqual(left, [], "[\(form) round \(round)] a temporary or partial file was left")
            }
        }
        print("note: \(form): \(killed) of \(rounds) runs killed, \(whole) complete sets, \(sidecarsOnly) sidecars without image")
        XCTAssertGreaterThan(killed, 0, "no run was killed: the tree is too small for this machine")
    }

    func testSIGKILLDuringVeritySidecarsLeavesNothingOrTheWholeSet() throws {
        try runKills("--verity", expected: ["img.raw", "img.roothash", "img.verity"])
    }

    func testSIGKILLDuringDDIAssemblyLeavesNothingOrTheWholeDisk() throws {
        try runKills("--ddi", expected: ["img.raw", "img.roothash"])
    }
}
