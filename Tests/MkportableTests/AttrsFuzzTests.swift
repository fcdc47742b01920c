import Foundation
import PortableService
import SquashFS
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Mutated attributes files (byte flips, truncations, deletions, inserted
/// JSON tokens, values of the wrong type, odd strings in the right place)
/// must never crash the builder: it exits 0 or 1, a failure is one
/// `mkportable: error:` line and leaves no image or temporary file, and an
/// image is written only from a document that is valid (JSON that an
/// independent parser accepts and that passes every attribute check).
///
/// The seed and count can be changed for a longer run:
/// MKPORTABLE_FUZZ_SEED, MKPORTABLE_FUZZ_COUNT (process runs; the
/// in-process run does 20 times as many).
final class AttrsFuzzTests: XCTestCase {
    static let defaultSeed: UInt64 = 4_040_404
    static let defaultCount = 300

    var fx: BuilderFixture!

    override func setUpWithError() throws {
        fx = try BuilderFixture(prefix: "fuzz")
    }

    override func tearDown() {
        fx?.remove()
        fx = nil
        super.tearDown()
    }

    var seedAndCount: (UInt64, Int) {
        let env = ProcessInfo.processInfo.environment
        return (env["MKPORTABLE_FUZZ_SEED"].flatMap { UInt64($0) } ?? Self.defaultSeed,
                env["MKPORTABLE_FUZZ_COUNT"].flatMap { Int($0) } ?? Self.defaultCount)
    }

    // MARK: mutations

    static let tokens = ["{", "}", "[", "]", ",", ":", "\"", "\\", "null", "true", "-", "0", "1e999", "-0.0e-5", "\"\\u0000\"",
                         "\"\\ud800\"", "\"\\uDC00\\uD800\"", "\u{FEFF}", "\u{0}", "\n", "\"\\/\"", "9223372036854775808", "[[[[[[", "}}}}"]
    static let values = ["1", "-1", "0.5", "1e400", "\"x\"", "\"\"", "[]", "{}", "null", "true", "false", "[1]", "[null]", "[{}]",
                         "[[]]", "{\"a\": 1}", "[\"x\"]", "{\"path\": 1}", "[{\"object\": 1}]", "\"/\"", "\"..\"", "\"\\n\""]
    static let strings = ["", " ", "a b", "a_b", "a:b", "é", "\u{7}", "/", "//", "..", "/..", "/nix/store", "/etc/os-release", "/proc",
                          "x.service", "demo.service", "demo@.socket", "-x", ".x", "\t", "\u{2028}", "💥", String(repeating: "a", count: 300)]

    /// One mutation of the valid document; `description` says which.
    func mutate(_ rng: inout TestData.RNG) -> (bytes: [UInt8], description: String) {
        let base = Array(fx.json().utf8)
        switch rng.next(below: 8) {
        case 0:
            var b = base
            let i = rng.next(below: b.count)
            let v = UInt8(truncatingIfNeeded: rng.next())
            b[i] = rng.next(below: 2) == 0 ? v : b[i] ^ (1 << UInt8(rng.next(below: 8)))
            return (b, "byte \(i) changed")
        case 1:
            let n = rng.next(below: base.count)
            return (Array(base[..<n]), "truncated to \(n) bytes")
        case 2:
            let i = rng.next(below: base.count), n = 1 + rng.next(below: 40)
            var b = base
            b.removeSubrange(i..<min(base.count, i + n))
            return (b, "\(n) bytes deleted at \(i)")
        case 3:
            let t = Self.tokens[rng.next(below: Self.tokens.count)]
            let i = rng.next(below: base.count + 1)
            var b = base
            b.insert(contentsOf: Array(t.utf8), at: i)
            return (b, "\(t.debugDescription) inserted at \(i)")
        case 4:
            // A value of another type for one attribute (or a new one).
            let keys = fx.baseFields.keys.sorted() + ["outputs", "extra"]
            let k = keys[rng.next(below: keys.count)]
            let v = Self.values[rng.next(below: Self.values.count)]
            return (Array(fx.json([k: v]).utf8), "\(k) = \(v)")
        case 5:
            // An odd string where a string belongs.
            let key = ["pname", "version", "description", "homepage", "squash-compression", "squash-block-size"][rng.next(below: 6)]
            let s = Self.strings[rng.next(below: Self.strings.count)]
            return (Array(fx.json([key: BuilderFixture.js(s)]).utf8), "\(key) = \(s.debugDescription)")
        case 6:
            // An odd symlink, unit or closure entry.
            let s = Self.strings[rng.next(below: Self.strings.count)]
            switch rng.next(below: 4) {
            case 0:
                return (Array(fx.json(["symlinks": "[{\"object\": \"/run\", \"symlink\": \(BuilderFixture.js(s))}]"]).utf8), "symlink \(s.debugDescription)")
            case 1:
                return (Array(fx.json(["symlinks": "[{\"object\": \(BuilderFixture.js(s)), \"symlink\": \"/x\"}]"]).utf8), "object \(s.debugDescription)")
            case 2:
                let u = fx.store + "/" + s
                return (Array(fx.json(["units": "[\(BuilderFixture.js(u))]"]).utf8), "unit \(u.debugDescription)")
            default:
                return (Array(fx.json(["closure": "[{\"path\": \(BuilderFixture.js(s)), \"references\": []}]"]).utf8), "closure path \(s.debugDescription)")
            }
        default:
            // Two mutations at once.
            var first = mutate(&rng)
            let i = rng.next(below: first.bytes.count + 1)
            let t = Self.tokens[rng.next(below: Self.tokens.count)]
            first.bytes.insert(contentsOf: Array(t.utf8), at: i)
            return (first.bytes, first.description + ", then \(t.debugDescription) inserted at \(i)")
        }
    }

    /// Whether the document is valid in every respect the builder checks
    /// before reading files (in process); nil if so, else why not.
    func inProcessProblem(_ bytes: [UInt8]) -> String? {
        do {
            let attrs = try Attrs.parse(bytes, origin: "attrs.json")
            _ = try Attrs.imageSpec(attrs, storeDir: fx.store) { key throws(PortableServiceError) -> [UInt8]? in
                try Attrs.readGraphFile(key: key, directory: self.fx.tmp.path.string)
            }
            return nil
        } catch {
            return "\(error)"
        }
    }

    // MARK: tests

    /// Through the executable: exit 0 or 1, never a signal; one line on
    /// failure and nothing in the output directory; an image only from a
    /// valid document.
    func testMutatedAttributesThroughTheBuilder() throws {
        let (seed, count) = seedAndCount
        var rng = TestData.RNG(seed: seed)
        var built = 0, refused = 0
        for i in 0..<count {
            let (bytes, what) = mutate(&rng)
            let label = "mutation \(i) (MKPORTABLE_FUZZ_SEED=\(seed)): \(what)"
            Posix.removeTree(fx.out)
            Posix.removeTree(fx.attrsFile)
            try Posix.writeFile(fx.attrsFile, bytes)
            let r = try fx.run(["build", "--attrs", fx.attrsFile.string, "--out", fx.out.string])
            switch r.status {
            case 0:
                built += 1
                // Foundation refuses numbers beyond Double's range, which RFC
                // 8259's grammar allows (and the builder ignores unused
                // attributes): neutralise the ones the mutator inserts.
                let comparable = String(decoding: bytes, as: UTF8.self)
                    .replacingOccurrences(of: "1e400", with: "1").replacingOccurrences(of: "1e999", with: "1")
                let independent = (try? JSONSerialization.jsonObject(with: Data(comparable.utf8), options: [.fragmentsAllowed])) != nil
                XCTAssertTrue(independent, "[\(label)] an image was written from a document Foundation does not accept as JSON")
                XCTAssertNil(inProcessProblem(bytes), "[\(label)] an image was written from a document the attribute checks refuse")
                let files = imageLikeFiles(in: fx.out)
                XCTAssertTrue(files.count == 1 && files[0].hasSuffix(".raw") && !files[0].contains(".tmp-"), "[\(label)] output: \(files)")
            case 1:
                refused += 1
                assertCleanFailure(r, ["mkportable: error: "], directories: [fx.out], label: label)
                XCTAssertFalse(r.stderrText.contains("Fatal error") || r.stderrText.contains("Backtracing"), "[\(label)] \(r.stderrText)")
            default:
                XCTFail("[\(label)] exit status \(r.status) (a crash, signal or hang): \(r.summary)")
            }
        }
        print("note: attrs fuzz: \(count) mutations from seed \(seed): \(built) built, \(refused) refused")
        XCTAssertGreaterThan(refused, count / 2, "most mutations must be refused; the mutator may be broken")
        XCTAssertGreaterThan(built, 0, "some mutations keep the document valid; none built, so the fixture may be broken")
    }

    /// Many more mutations in process: the parser and the attribute checks
    /// never trap, every refusal is one non-empty line naming where, and
    /// an accepted document satisfies every rule the checks stand for.
    func testMutatedAttributesInProcess() throws {
        let (seed, count) = seedAndCount
        var rng = TestData.RNG(seed: seed &+ 1)
        var accepted = 0
        for i in 0..<(count * 20) {
            let (bytes, what) = mutate(&rng)
            let label = "in-process mutation \(i) (MKPORTABLE_FUZZ_SEED=\(seed)): \(what)"
            do {
                let attrs = try Attrs.parse(bytes, origin: "attrs.json")
                let spec = try Attrs.imageSpec(attrs, storeDir: fx.store) { key throws(PortableServiceError) -> [UInt8]? in
                    try Attrs.readGraphFile(key: key, directory: self.fx.tmp.path.string)
                }
                accepted += 1
                XCTAssertNil(pnameProblem(spec.pname), label)
                XCTAssertFalse(spec.units.isEmpty, label)
                for u in spec.units { XCTAssertNil(UnitName.problem(u.name, pname: spec.pname), label) }
                XCTAssertLessThanOrEqual(spec.imageFileName.utf8.count, 255, label)
                XCTAssertFalse(spec.imageFileName.contains("/"), label)
                for l in spec.symlinks {
                    XCTAssertFalse(l.path.isEmpty || l.path.contains("..") || l.path.contains("") || l.target.isEmpty, "\(label): \(l)")
                }
            } catch {
                let m = error.message
                XCTAssertFalse(m.isEmpty || m.contains("\n"), "[\(label)] «\(m)»")
                XCTAssertTrue(m.hasPrefix("attribute ") || m.hasPrefix("attrs.json") || m.hasPrefix("closure")
                              || m.hasPrefix(fx.tmp.path.string), "[\(label)] says where: «\(m)»")
            }
        }
        XCTAssertGreaterThan(accepted, 0)
    }
}
