/// A command line that a command cannot take: an unknown option, a missing
/// operand or option value, options that exclude each other. Every command
/// exits with 2 for it (1 is for failures: a bad value, a failed check).
struct UsageError: Error {
    let message: String
}

/// A command's exit status for an error that reached it: 2 for a usage
/// error, 1 for everything else.
func exitStatus(for error: any Error) -> Int32 {
    error is UsageError ? 2 : 1
}

/// The one walk over a command's arguments (pack, build, sign, verify):
/// each word is an option (it starts with `-` and is not `-` alone) or an
/// operand; after `--` every word is an operand (POSIX's guideline 10), so
/// a file named `-x` can still be given. A long option may carry its value
/// after `=` (`--comp=zstd`, as getopt_long takes it). The command says
/// what each option means; the cursor takes option values and words the
/// usual mistakes.
struct ArgumentCursor {
    enum Word: Equatable {
        case option(String)
        case operand(String)
    }

    /// The command as the user typed it, for messages (`mkportable pack`).
    let command: String
    private var rest: ArraySlice<String>
    private var operandsOnly = false
    /// The value written after `=` in the option just returned, until the
    /// command takes it with `value(of:)`.
    private var inlineValue: (option: String, value: String)?

    init(_ arguments: [String], command: String) {
        self.command = command
        rest = arguments[...]
    }

    /// The next word, or nil at the end. An `=value` that the previous
    /// option did not take (`--force=yes`) is refused here.
    mutating func next() throws(UsageError) -> Word? {
        if let (option, _) = inlineValue {
            throw UsageError(message: "\(option) takes no value; write \(option) alone (see \(command) --help)")
        }
        guard let word = rest.popFirst() else { return nil }
        if operandsOnly { return .operand(word) }
        if word == "--" {
            operandsOnly = true
            return try next()
        }
        guard word.hasPrefix("-") && word.count > 1 else { return .operand(word) }
        if word.hasPrefix("--"), let eq = word.firstIndex(of: "=") {
            let option = String(word[..<eq])
            inlineValue = (option, String(word[word.index(after: eq)...]))
            return .option(option)
        }
        return .option(word)
    }

    /// The value of `option`: written after `=`, or else the next word,
    /// whatever it looks like. An empty value is refused with `nonEmpty`
    /// (a path, say); otherwise the option's own parser says what is wrong
    /// with it.
    mutating func value(of option: String, nonEmpty: Bool = false) throws(UsageError) -> String {
        let word: String?
        if let inline = inlineValue {
            inlineValue = nil
            word = inline.value
        } else {
            word = rest.popFirst()
        }
        guard let word, !(nonEmpty && word.isEmpty) else {
            throw UsageError(message: "\(option) needs a value; see \(command) --help")
        }
        return word
    }

    /// The error for an option the command does not have; `hint` may name
    /// the command's own spelling of it (see `MksquashfsSpelling`).
    func unknown(_ option: String, hint: String? = nil) -> UsageError {
        if let hint { return UsageError(message: "unknown option \(option); \(hint)") }
        return UsageError(message: "unknown option \(option); see \(command) --help")
    }
}
