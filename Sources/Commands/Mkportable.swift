#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The whole command line of `mkportable`: `pack`, `sign` and `verify` are
/// subcommands; anything else is the Nix builder (no arguments with
/// NIX_ATTRS_JSON_FILE set, or `build --attrs --out`).
///
/// The logic lives in this library so tests can run a command in process;
/// the executable is only `exit(Mkportable.run(...))`.
public enum Mkportable {
    /// Runs one command and returns its exit status. Errors have already been
    /// printed, one line each, on stderr.
    public static func run(arguments: [String], environment: [String: String]) -> Int32 {
        let rest = Array(arguments.dropFirst())
        PhaseTrace.install(environment)
        switch arguments.first {
        case "pack":
            return PackCommand.run(arguments: rest, environment: environment)
        case "sign":
            return SignCommand.run(arguments: rest)
        case "verify":
            return VerifyCommand.run(arguments: rest)
        case "inspect":
            return InspectCommand.run(arguments: rest)
        case "diff":
            return DiffCommand.run(arguments: rest)
        case "-h", "--help", "help":
            print(Usage.text)
            return 0
        case "--version":
            print("mkportable \(Usage.version)")
            return 0
        default:
            return BuilderCommand.run(arguments: arguments, environment: environment)
        }
    }

    /// The process environment as a dictionary (the first `=` splits).
    public static func processEnvironment() -> [String: String] {
        var environment: [String: String] = [:]
        var envp = environ
        while let entry = envp.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") {
                environment[String(s[..<eq])] = String(s[s.index(after: eq)...])
            }
            envp += 1
        }
        return environment
    }
}
