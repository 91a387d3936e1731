import Foundation

/// The outcome of a finished command.
public struct CommandResult: Sendable, CustomStringConvertible {
    public let status: Int32
    public let stdout: String
    public let stderr: String
    public var succeeded: Bool { status == 0 }
    public var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
}

/// Runs external programs for tests: oracles (`ip`, `nft`), `nsenter`, and the `berth` CLI.
/// The product never runs programs; tests may, to check its work independently.
public enum Command {
    /// Runs `argv` to completion and captures its output.
    @discardableResult
    public static func run(_ argv: [String], input: String? = nil, environment: [String: String] = [:]) -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = argv
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe(), inp = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inp
        do { try process.run() } catch {
            return CommandResult(status: 127, stdout: "", stderr: "cannot run \(argv): \(error)")
        }
        if let input { inp.fileHandleForWriting.write(Data(input.utf8)) }
        try? inp.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty child cannot block on a full pipe.
        let errBox = DataBox()
        let reader = Thread { errBox.data = err.fileHandleForReading.readDataToEndOfFile() ; errBox.done.signal() }
        reader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        errBox.done.wait()
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus,
                             stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errBox.data, as: UTF8.self))
    }

    /// Starts `argv` (its program in /usr/bin, as `nsenter` is) without waiting: `input`
    /// written to its stdin and closed, its output discarded. For a test that kills it
    /// mid-way (by this pid: a program that execs, as nsenter and env do, keeps it).
    public static func start(_ argv: [String], input: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/" + argv[0])
        process.arguments = Array(argv.dropFirst())
        let pipe = Pipe()
        process.standardInput = pipe
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        pipe.fileHandleForWriting.write(Data(input.utf8))
        try pipe.fileHandleForWriting.close()
        return process
    }

    /// The `berth` binary under test: `BERTH_BIN`, else the debug build beside the tests.
    /// Never a `berth` found on PATH (an installed or older build would be tested instead):
    /// without a build, this is the path beside the tests, and running it fails, naming it.
    public static var berthBinary: String {
        builtBinary("berth", environment: "BERTH_BIN")
    }

    /// The build of `name` under test: the path in `variable`, else the one beside the tests
    /// (the bundle's directory), else the one in `.build/debug` of the working directory;
    /// when none exists, the first of those, so that running it fails and says which.
    public static func builtBinary(_ name: String, environment variable: String) -> String {
        if let path = ProcessInfo.processInfo.environment[variable] { return path }
        let bundle = Bundle.main.bundleURL.deletingLastPathComponent()
        let candidates = [bundle.appendingPathComponent(name).path,
                          FileManager.default.currentDirectoryPath + "/.build/debug/" + name]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }
}

final class DataBox: @unchecked Sendable {
    var data = Data()
    let done = DispatchSemaphore(value: 0)
}
