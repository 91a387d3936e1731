import BerthTestSupport
import Foundation

/// A `berth-dns` process running in a host sandbox, stopped (SIGTERM, then SIGKILL) when
/// the test is done with it.
final class DNSServerProcess {
    let process = Process()
    let stderrPath: String
    private let stdout = Pipe()

    /// The binary under test: `BERTH_DNS_BIN`, else the debug build beside the tests.
    static var binary: String {
        Command.builtBinary("berth-dns", environment: "BERTH_DNS_BIN")
    }

    /// Starts `berth-dns ARGS` inside `sandbox` and waits for its "ready" line.
    init(in sandbox: HostSandbox, arguments: [String]) throws {
        stderrPath = sandbox.stateDirectory + "/berth-dns-\(UUID().uuidString.prefix(8)).log"
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        process.arguments = ["--net=\(sandbox.namespace.path)", "--", Self.binary] + arguments
        process.standardOutput = stdout
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
        guard waitForReady() else {
            terminate()
            throw SandboxError("berth-dns did not become ready: \(log)")
        }
    }

    deinit { terminate() }

    var pid: Int32 { process.processIdentifier }

    /// What it wrote to stderr.
    var log: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    private func waitForReady() -> Bool {
        let fd = stdout.fileHandleForReading.fileDescriptor
        var collected = ""
        for _ in 0..<100 {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0 else {
                if !process.isRunning { return false }
                continue
            }
            var buffer = [UInt8](repeating: 0, count: 256)
            let count = read(fd, &buffer, buffer.count)
            guard count > 0 else { return false }
            collected += String(decoding: buffer[..<count], as: UTF8.self)
            if collected.contains("ready\n") { return true }
        }
        return false
    }

    func signal(_ number: Int32) { kill(pid, number) }

    /// Asks for statistics (SIGUSR1) and returns the counters of the line it prints.
    func statistics() throws -> [String: Int] {
        let before = log.components(separatedBy: "statistics: ").count
        signal(SIGUSR1)
        for _ in 0..<100 {
            let parts = log.components(separatedBy: "statistics: ")
            if parts.count > before, let line = parts.last?.split(separator: "\n").first {
                var result: [String: Int] = [:]
                for pair in line.split(separator: " ") {
                    let kv = pair.split(separator: "=")
                    if kv.count == 2, let value = Int(kv[1]) { result[String(kv[0])] = value }
                }
                return result
            }
            usleep(20_000)
        }
        throw SandboxError("berth-dns printed no statistics: \(log)")
    }

    /// Stops it with SIGTERM and returns its exit status (SIGKILL after 5 s).
    @discardableResult
    func terminate() -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        signal(SIGTERM)
        for _ in 0..<250 where process.isRunning { usleep(20_000) }
        if process.isRunning { signal(SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
