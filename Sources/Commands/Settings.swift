#if canImport(Glibc)
import Glibc
#endif
import PortableService
import SquashFS
import SystemIO

/// The settings both commands take from the environment or the command
/// line as numbers, parsed in one place by one rule (`parseDigits`: ASCII
/// digits only, so `+5`, `-0`, ` 5` and `5s` are refused alike).
enum Settings {
    typealias Invalid = CommandFailure

    /// The thread count: `option` (`--jobs`, already checked) if given,
    /// else NIX_BUILD_CORES if positive, else every CPU; capped by
    /// `JobCount.maximum` whatever the source.
    static func jobs(option: Int?, environment: [String: String]) throws(Invalid) -> Int {
        if let option { return JobCount.resolve(option) }
        guard let text = environment["NIX_BUILD_CORES"], !text.isEmpty else { return JobCount.resolve(nil) }
        // Saturating: any count of digits is a number, a very large one simply "very many".
        guard let n = parseDigits(text, maximum: UInt64(JobCount.maximum), saturating: true) else {
            throw Invalid(message: "NIX_BUILD_CORES \(quoted(text)): must be a whole number of threads (0 or unset: every CPU)")
        }
        return JobCount.resolve(Int(n))
    }

    /// `--jobs N`: 1 to `JobCount.maximum`.
    static func jobsOption(_ text: String) throws(Invalid) -> Int {
        guard let n = parseDigits(text, maximum: UInt64(JobCount.maximum)), n >= 1 else {
            throw Invalid(message: "--jobs \(quoted(text)): must be a whole number from 1 to \(JobCount.maximum)")
        }
        return Int(n)
    }

    /// A time in whole seconds since 1970 that fits the image's 32 bits.
    static func seconds(_ text: String, what: String, fix: String = "") throws(Invalid) -> UInt32 {
        guard let v = parseDigits(text, maximum: UInt64(UInt32.max)) else {
            throw Invalid(message: "\(what) \(quoted(text)): must be whole seconds since 1970 from 0 to 4294967295" + fix)
        }
        return UInt32(v)
    }

    /// SOURCE_DATE_EPOCH, if set and not empty.
    static func sourceDateEpoch(_ environment: [String: String], fix: String = "") throws(Invalid) -> UInt32? {
        guard let text = environment["SOURCE_DATE_EPOCH"], !text.isEmpty else { return nil }
        return try seconds(text, what: "SOURCE_DATE_EPOCH", fix: fix)
    }

    /// Octal permission bits, 0 to 7777.
    static func mode(_ text: String, what: String) throws(Invalid) -> UInt16 {
        guard let m = parseDigits(text, radix: 8, maximum: 0o7777) else {
            throw Invalid(message: "\(what) \(quoted(text)): must be octal permission bits from 0 to 7777, e.g. 0755")
        }
        return UInt16(m)
    }

    /// A setting the writer parses (a block size, a compressor string).
    /// The writer refuses it with the bare problem (`.invalidSetting`);
    /// `refusal` makes the caller's line, which names where the value came
    /// from. Every other error passes through.
    static func parsed<T>(_ text: String, by parse: (String) throws(SquashFSError) -> T,
                          refusal: (String) -> any Error) throws -> T {
        do {
            return try parse(text)
        } catch {
            guard error.kind == .invalidSetting else { throw error }
            throw refusal(error.message)
        }
    }
}
