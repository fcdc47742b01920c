import Foundation
import XCTest

/// The mutation loop of the reader fuzz tests (squashfs's and erofs's):
/// for a wall-clock budget, a seed image picked at random gets one to four
/// random changes (`mutate`, usually `damage` at a place it picks), and
/// `read` reads the mutant through: nil when it reads, else the reader's
/// refusal. A refusal must be one non-empty line; the loop must get
/// through `minimumMutants` (a loaded machine is slower), and more than a
/// tenth of them must be refused (else the mutations miss the image's
/// structures). MKPORTABLE_FUZZ_SECONDS gives a longer run (20 s by
/// default) and MKPORTABLE_FUZZ_SEED another sequence.
public struct MutationFuzz {
    public var seed: UInt64
    public var budget: TimeInterval
    public var minimumMutants: Int

    public init(seed: UInt64, minimumMutants: Int) {
        let environment = ProcessInfo.processInfo.environment
        self.seed = environment["MKPORTABLE_FUZZ_SEED"].flatMap { UInt64($0) } ?? seed
        budget = environment["MKPORTABLE_FUZZ_SECONDS"].flatMap(TimeInterval.init) ?? 20
        self.minimumMutants = minimumMutants
    }

    /// Runs the loop over `corpus`; `read` gets the index of the seed the
    /// mutant came from, and the mutant. Returns how many mutants were
    /// read and how many refused.
    @discardableResult
    public func run(corpus: [[UInt8]], mutate: (inout [UInt8], inout SeededRandom) -> Void,
                    read: (_ seed: Int, _ mutant: [UInt8]) throws -> String?,
                    file: StaticString = #filePath, line: UInt = #line) throws -> (mutants: Int, refused: Int) {
        var rng = SeededRandom(seed: seed)
        let start = Date()
        var mutants = 0, refused = 0
        while Date().timeIntervalSince(start) < budget {
            let index = rng.next(below: corpus.count)
            var bytes = corpus[index]
            for _ in 0..<(1 + rng.next(below: 4)) { mutate(&bytes, &rng) }
            if let message = try read(index, bytes) {
                refused += 1
                XCTAssertFalse(message.contains("\n"), "a refusal is one line: \(message)", file: file, line: line)
                XCTAssertFalse(message.isEmpty, file: file, line: line)
            }
            mutants += 1
        }
        XCTAssertGreaterThanOrEqual(mutants, minimumMutants, "too few mutants in \(budget) s", file: file, line: line)
        XCTAssertGreaterThan(refused, mutants / 10, "the mutations should damage images often", file: file, line: line)
        return (mutants, refused)
    }

    /// At byte `at` (8 bytes from the end at least): a bit flipped, a byte
    /// or a little-endian word of 2, 4 or 8 bytes set to one of `edges`
    /// (plus 0...2), or the image cut short by up to half.
    public static func damage(_ bytes: inout [UInt8], at: Int, _ rng: inout SeededRandom, edges: [UInt64]) {
        switch rng.next(below: 5) {
        case 0: bytes[at] ^= UInt8(1 << rng.next(below: 8))
        case 1: bytes[at] = UInt8(truncatingIfNeeded: rng.next())
        case 2, 3:
            let value = edges[rng.next(below: edges.count)] &+ UInt64(rng.next(below: 3))
            let width = [2, 4, 8][rng.next(below: 3)]
            for i in 0..<width { bytes[at + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        default: bytes.removeLast(rng.next(below: bytes.count / 2))
        }
    }
}
