#if canImport(Glibc)
import Glibc
#endif

// mkportable: `pack` packs a directory; anything else is the Nix builder
// (no arguments with NIX_ATTRS_JSON_FILE set, or `build --attrs --out`).

setvbuf(stdout, nil, _IOLBF, 0)
var environment: [String: String] = [:]
var envp = environ
while let entry = envp.pointee {
    let s = String(cString: entry)
    if let eq = s.firstIndex(of: "=") {
        environment[String(s[..<eq])] = String(s[s.index(after: eq)...])
    }
    envp += 1
}

let arguments = Array(CommandLine.arguments.dropFirst())
let status: Int32
switch arguments.first {
case "pack":
    status = PackCommand.run(arguments: Array(arguments.dropFirst()), environment: environment)
case "sign":
    status = SignCommand.run(arguments: Array(arguments.dropFirst()))
case "verify":
    status = VerifyCommand.run(arguments: Array(arguments.dropFirst()))
case "-h", "--help", "help":
    print(Usage.text)
    status = 0
case "--version":
    print("mkportable \(Usage.version)")
    status = 0
default:
    status = BuilderCommand.run(arguments: arguments, environment: environment)
}
exit(status)
