import Commands
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a mkportable command in this process (`Mkportable.run`, what the
/// executable's main calls) with its stdout and stderr captured: file
/// descriptors 1 and 2 point at temporary files for the call and are put
/// back afterwards. The result looks like a launched binary's, so the same
/// assertions (`assertCleanFailure`) apply. XCTest runs tests one at a
/// time, so nothing else writes to 1 and 2 meanwhile.
func runInProcess(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
    let dir = try TemporaryDirectory(prefix: "in-process")
    defer { dir.remove() }
    let outPath = dir.sub("stdout").string, errPath = dir.sub("stderr").string
    fflush(stdout)
    fflush(stderr)
    let savedOut = dup(1), savedErr = dup(2)
    let outFD = open(outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    let errFD = open(errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard savedOut >= 0, savedErr >= 0, outFD >= 0, errFD >= 0 else {
        throw CommandFailed(result: CommandResult(commandLine: "in-process capture", status: -1, stdout: Data(), stderr: Data()))
    }
    dup2(outFD, 1)
    dup2(errFD, 2)
    let status = Mkportable.run(arguments: arguments, environment: environment)
    fflush(stdout)
    fflush(stderr)
    dup2(savedOut, 1)
    dup2(savedErr, 2)
    for fd in [savedOut, savedErr, outFD, errFD] { close(fd) }
    return CommandResult(commandLine: "mkportable " + arguments.joined(separator: " ") + " (in process)",
                         status: status,
                         stdout: (try? Data(contentsOf: URL(fileURLWithPath: outPath))) ?? Data(),
                         stderr: (try? Data(contentsOf: URL(fileURLWithPath: errPath))) ?? Data())
}
