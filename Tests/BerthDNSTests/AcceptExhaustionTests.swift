import BerthCore
import BerthTestSupport
import Foundation
import Testing
@testable import BerthDNS

/// The real executable, on loopback, with so few descriptors that `accept` fails.
@Suite("berth-dns TCP: out of descriptors", .serialized)
struct AcceptExhaustionTests {
    let block = LoopbackBlock()

    /// user + system clock ticks of process `pid` (fields 14 and 15 of /proc/PID/stat).
    func cpuTicks(_ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: end)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    @Test("accept failing with EMFILE pauses the listener instead of spinning; once descriptors are free, TCP is served again",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit"), "needs prlimit"))
    func emfileDoesNotSpin() throws {
        let directory = NSTemporaryDirectory() + "berth-dns-emfile-\(block.b)-\(block.port)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let table = directory + "/table"
        try "network front listen=\(block.address(1, 1)) subnet=\(block.address(1, 0))/24\nendpoint web address=\(block.address(1, 2))\n"
            .write(toFile: table, atomically: true, encoding: .utf8)
        let logPath = directory + "/log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

        // 16 descriptors: the standard three, the loop's, the table's and the sockets leave
        // room for a few connections only.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        process.arguments = ["--nofile=16:16", DNSServerProcess.binary, "--table", table, "--port", "\(block.port)",
                             "--upstream", "\(block.address(9, 1)):\(block.port)"]
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        var ready = ""
        let out = stdout.fileHandleForReading.fileDescriptor
        #expect(Poll.wait(seconds: 10) {
            var pfd = pollfd(fd: out, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 50) > 0 {
                var buffer = [UInt8](repeating: 0, count: 256)
                let count = read(out, &buffer, buffer.count)
                if count > 0 { ready += String(decoding: buffer[..<count], as: UTF8.self) }
            }
            return ready.contains("ready\n") || !process.isRunning
        })
        try #require(ready.contains("ready\n"), "not ready: \(log())")
        let pid = process.processIdentifier

        // More connections than it has descriptors for, each from its own source (one
        // source's share is smaller). They complete in the listener's backlog.
        var streams: [LoopbackStream] = []
        for host in 0..<24 {
            streams.append(try LoopbackStream(from: block.address(1, UInt8(20 + host)), to: block.address(1, 1), block.port))
        }
        #expect(Poll.wait(seconds: 10) { log().contains("cannot accept TCP connections") }, "accept never failed: \(log())")
        // With connections still waiting and no descriptor free, a second of the resolver's
        // life costs next to no CPU: not a busy loop on the ready listener (100 ticks).
        let before = try #require(cpuTicks(pid))
        usleep(1_000_000)
        let after = try #require(cpuTicks(pid))
        #expect(after - before < 30, "\(after - before) ticks of CPU in a second with accept failing")
        kill(pid, SIGUSR1)
        #expect(Poll.wait(seconds: 10) { log().contains("accept_paused=") && !log().contains("accept_paused=0 ") }, "\(log())")

        // Descriptors free again: the listener is watched again and a new connection served.
        streams.removeAll()
        #expect(Poll.wait(seconds: 15) {
            guard let stream = try? LoopbackStream(from: block.address(1, 200), to: block.address(1, 1), block.port, timeout: 0.5) else { return false }
            return stream.ask("web", id: 7)?.answers == 1
        }, "TCP never served again: \(log())")
    }
}
