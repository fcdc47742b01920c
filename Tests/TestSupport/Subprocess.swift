import Foundation

/// Runs a tool to completion and keeps what it printed: the small runner
/// the library tests share (the command tests' `Shell` adds environments,
/// timeouts and output files on top of its own).
public enum Subprocess {
    /// What happens to the tool's standard error.
    public enum StandardError {
        /// Into the output, after or among standard output (for messages).
        case merged
        /// Thrown away (when the output is data: a decompressed stream).
        case discarded
    }

    public struct Result {
        public let status: Int32
        public let data: Data
        /// The output as text (invalid UTF-8 repaired).
        public var text: String { String(decoding: data, as: UTF8.self) }
    }

    /// Runs `tool` (a path) with `arguments`, stdin from /dev/null.
    @discardableResult
    public static func run(_ tool: String, _ arguments: [String], standardError: StandardError = .merged) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = pipe
        switch standardError {
        case .merged: process.standardError = pipe
        case .discarded: process.standardError = FileHandle.nullDevice
        }
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, data: data)
    }
}
