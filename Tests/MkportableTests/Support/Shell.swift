import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a finished command left behind.
public struct CommandResult {
    public var commandLine: String
    public var status: Int32
    public var stdout: Data
    public var stderr: Data

    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    public var succeeded: Bool { status == 0 }

    /// A short report for failure messages: command, status, stderr tail.
    public var summary: String {
        var s = "`\(commandLine)` exited \(status)"
        let err = stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
        if !err.isEmpty { s += "; stderr: " + String(err.suffix(2000)) }
        let out = stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        if status != 0 && !out.isEmpty && stdout.count < 4000 { s += "; stdout: " + out }
        return s
    }
}

public struct CommandFailed: Error, CustomStringConvertible {
    public var result: CommandResult
    public var description: String { result.summary }
}

public struct ToolMissing: Error, CustomStringConvertible {
    public var tool: String
    public var description: String { "\(tool) is not installed (not found in PATH)" }
}

public enum Shell {
    /// Absolute path of an executable found in PATH (plus /usr/sbin, /sbin
    /// for mount tools), or nil.
    public static func which(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    public static func require(_ name: String) throws -> String {
        guard let p = which(name) else { throw ToolMissing(tool: name) }
        return p
    }

    /// Runs a command to completion. Output goes through temporary files so
    /// large outputs cannot dead-lock a pipe. `stdoutPath` sends stdout to
    /// that file instead (the result's stdout is then empty).
    /// `environment` entries are added to (or with nil, removed from) the
    /// test process's environment.
    public static func run(
        _ tool: String, _ arguments: [String],
        cwd: String? = nil,
        environment: [String: String?] = [:],
        stdoutPath: String? = nil
    ) throws -> CommandResult {
        let executable = try require(tool)
        let (status, stdout, stderr, _) = try spawn(executable, arguments, cwd: cwd, environment: environment,
                                                   stdoutPath: stdoutPath, timeout: nil)
        let envPrefix = environment.keys.sorted().map { k in environment[k]!.map { "\(k)=\($0) " } ?? "env -u \(k) " }.joined()
        let line = envPrefix + ([tool] + arguments).map(quote).joined(separator: " ") + (stdoutPath.map { " > \($0)" } ?? "")
        return CommandResult(commandLine: line, status: status, stdout: stdout, stderr: stderr)
    }

    /// Runs `executable` (a path) with stdin from /dev/null and stdout and
    /// stderr through files (large outputs cannot dead-lock a pipe); with a
    /// `timeout`, SIGTERM and then SIGKILL once it has passed. The status is
    /// 128+signal for a signalled process, 124 for a timeout. `stdoutPath`
    /// keeps stdout in that file (the returned stdout is then empty).
    static func spawn(_ executable: String, _ arguments: [String], cwd: String? = nil,
                      environment: [String: String?], stdoutPath: String? = nil,
                      timeout: TimeInterval?) throws -> (status: Int32, stdout: Data, stderr: Data, timedOut: Bool) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        var env = ProcessInfo.processInfo.environment
        // The tests' own Nix settings, for every Nix a test runs (directly
        // or through a script); a test may still set NIX_CONF_DIR itself.
        if let conf = NixConfig.directory { env["NIX_CONF_DIR"] = conf }
        for (k, v) in environment { env[k] = v }
        process.environment = env

        let tmp = try TemporaryDirectory(prefix: "cmd")
        defer { tmp.remove() }
        let outPath = stdoutPath ?? tmp.sub("stdout").string
        let errPath = tmp.sub("stderr").string
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let outHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        var timedOut = false
        if let timeout {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning {
                if Date() > deadline {
                    timedOut = true
                    kill(process.processIdentifier, SIGTERM)
                    usleep(200_000)
                    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
                    break
                }
                usleep(2_000)
            }
        }
        process.waitUntilExit()
        try? outHandle.close()
        try? errHandle.close()
        var status: Int32 = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        if timedOut { status = 124 }
        let stdout = stdoutPath == nil ? (FileManager.default.contents(atPath: outPath) ?? Data()) : Data()
        let stderr = FileManager.default.contents(atPath: errPath) ?? Data()
        return (status, stdout, stderr, timedOut)
    }

    /// Like `run`, but throws `CommandFailed` unless the exit status is 0.
    @discardableResult
    public static func check(
        _ tool: String, _ arguments: [String],
        cwd: String? = nil,
        environment: [String: String?] = [:],
        stdoutPath: String? = nil
    ) throws -> CommandResult {
        let r = try run(tool, arguments, cwd: cwd, environment: environment, stdoutPath: stdoutPath)
        if r.status != 0 { throw CommandFailed(result: r) }
        return r
    }

    /// Shell-style quoting for messages (so a reported command can be
    /// pasted into a terminal).
    public static func quote(_ s: String) -> String {
        if !s.isEmpty && s.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,%+@".contains($0) }) && s.allSatisfy(\.isASCII) { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// Runs a command with a time limit (a hang is a failure, not a stuck
/// test run): SIGTERM, then SIGKILL, after `timeout` seconds. The result's
/// status is 128+signal for a signalled process, and 124 for a timeout.
func runLimited(_ executable: String, _ arguments: [String], environment: [String: String?] = [:],
                timeout: TimeInterval = 120) throws -> CommandResult {
    let r = try Shell.spawn(executable, arguments, environment: environment, timeout: timeout)
    let line = ([executable] + arguments).map(Shell.quote).joined(separator: " ") + (r.timedOut ? " (killed after \(Int(timeout)) s)" : "")
    return CommandResult(commandLine: line, status: r.status, stdout: r.stdout, stderr: r.stderr)
}
