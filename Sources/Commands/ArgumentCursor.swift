/// A command line that a command cannot take. Builder mode exits with 2
/// for it, as a usage error; the subcommands exit with 1 for every error.
struct UsageError: Error {
    let message: String
}

/// The one walk over a command's arguments (pack, build, sign, verify):
/// each word is an option (it starts with `-` and is not `-` alone) or an
/// operand; after `--` every word is an operand (POSIX's guideline 10), so
/// a file named `-x` can still be given. The command says what each option
/// means; the cursor takes option values and words the usual mistakes.
struct ArgumentCursor {
    enum Word: Equatable {
        case option(String)
        case operand(String)
    }

    /// The command as the user typed it, for messages (`mkportable pack`).
    let command: String
    private var rest: ArraySlice<String>
    private var operandsOnly = false

    init(_ arguments: [String], command: String) {
        self.command = command
        rest = arguments[...]
    }

    /// The next word, or nil at the end.
    mutating func next() -> Word? {
        guard let word = rest.popFirst() else { return nil }
        if operandsOnly { return .operand(word) }
        if word == "--" {
            operandsOnly = true
            return next()
        }
        return word.hasPrefix("-") && word.count > 1 ? .option(word) : .operand(word)
    }

    /// The value of `option`: the next word, whatever it looks like. An
    /// empty value is refused with `nonEmpty` (a path, say); otherwise
    /// the option's own parser says what is wrong with it.
    mutating func value(of option: String, nonEmpty: Bool = false) throws(UsageError) -> String {
        guard let word = rest.popFirst(), !(nonEmpty && word.isEmpty) else {
            throw UsageError(message: "\(option) needs a value; see \(command) --help")
        }
        return word
    }

    /// The error for an option the command does not have.
    func unknown(_ option: String) -> UsageError {
        UsageError(message: "unknown option \(option); see \(command) --help")
    }
}
