#if canImport(Glibc)
import Glibc
#endif

// mkportable: `pack` packs a directory; anything else is the Nix builder
// (no arguments with NIX_ATTRS_JSON_FILE set, or `build --attrs --out`).

setvbuf(stdout, nil, _IOLBF, 0)
// Memory: one malloc arena, so the memory the scan frees is reused by the
// compression threads instead of each thread growing an arena of its own;
// and a fixed mmap threshold, so each large compressor work area is
// returned to the system when freed instead of lingering in the heap.
@_silgen_name("mallopt") func c_mallopt(_ param: Int32, _ value: Int32) -> Int32
_ = c_mallopt(-8, 1)  // M_ARENA_MAX
_ = c_mallopt(-3, 256 * 1024)  // M_MMAP_THRESHOLD

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
