/// The command line of the reading commands (inspect, diff): `--json`,
/// `--help` and the image operands, walked once for both. Each command
/// checks how many operands it got and words what is missing itself.
struct ReportArguments {
    var json = false
    var images: [String] = []

    /// nil when `--help` was asked for (and printed).
    static func parse(_ arguments: [String], command: String, help: String) throws -> ReportArguments? {
        var parsed = ReportArguments()
        var cursor = ArgumentCursor(arguments, command: command)
        while let word = try cursor.next() {
            switch word {
            case .option("-h"), .option("--help"): print(help); return nil
            case .option("--json"): parsed.json = true
            case .option(let o): throw cursor.unknown(o)
            case .operand(let a): parsed.images.append(a)
            }
        }
        return parsed
    }
}
