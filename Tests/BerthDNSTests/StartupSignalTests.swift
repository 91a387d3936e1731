import BerthCore
import BerthNamespace
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing
@testable import BerthDNS

/// Signals that reach `berth-dns` while it starts (the real executable, on loopback).
@Suite("berth-dns start-up: a SIGHUP as soon as the pid is known", .serialized)
struct StartupSignalTests {
    let block = LoopbackBlock()

    @Test("SIGHUPs sent from the moment the detached resolver says its pid until it is ready reload it instead of killing it; it reports its start time and works in /")
    func earlyHangUp() throws {
        let directory = NSTemporaryDirectory() + "berth-dns-early-\(block.b)-\(block.port)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let table = directory + "/table"
        // 5,000 names: loading them takes the resolver a while after it says its pid,
        // which is the window this test aims its signals at.
        var text = "network front listen=\(block.address(1, 1)) subnet=127.\(block.b).0.0/16\nendpoint web address=\(block.address(1, 2))\n"
        for index in 0..<5_000 { text += "endpoint e\(index) address=127.\(block.b).\(2 + index / 250).\(1 + index % 250)\n" }
        try text.write(toFile: table, atomically: true, encoding: .utf8)
        let logPath = directory + "/log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)

        // Spawned with SIGHUP at its default action and nothing blocked, whatever this test
        // process inherited (a runner started under nohup ignores SIGHUP, and an ignored
        // signal that is not blocked is discarded, not killing: no test at all).
        let arguments = [DNSServerProcess.binary, "--table", table, "--detach", "--port", "\(block.port)",
                         "--upstream", "\(block.address(9, 1)):\(block.port)"]
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else { throw SandboxlessError("pipe: \(String(cString: strerror(errno)))") }
        defer { close(pipeFDs[0]) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
        posix_spawn_file_actions_addopen(&actions, 2, logPath, O_WRONLY | O_APPEND, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGHUP)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var starter: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let spawned = posix_spawn(&starter, arguments[0], &actions, &attributes, argv, environ)
        close(pipeFDs[1])
        guard spawned == 0 else { throw SandboxlessError("spawn berth-dns: \(String(cString: strerror(spawned)))") }
        let fd = pipeFDs[0]
        text = ""
        var pid: pid_t = 0
        var identity: ProcessIdentity?
        var signalled = 0
        let end = Date().addingTimeInterval(10)
        while Date() < end, !text.contains("ready\n") {
            if pid > 0 {
                // Keep signalling through the whole start-up: one that lands before the
                // signals are blocked would kill it (SIGHUP's default action).
                if kill(pid, SIGHUP) == 0 { signalled += 1 } else { break }
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, pid > 0 ? 0 : 100) >= 0 else { break }
            if pfd.revents != 0 {
                var buffer = [UInt8](repeating: 0, count: 256)
                let count = read(fd, &buffer, buffer.count)
                if count <= 0 { break } // every writer gone: it died
                text += String(decoding: buffer[..<count], as: UTF8.self)
                // Whole lines only: a pid line read in two parts would give a wrong start time.
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
                if pid == 0, let reported = ResolverLaunch.reportedIdentity(in: lines) {
                    pid = reported.pid
                    identity = reported
                }
            } else if pid > 0 {
                usleep(100)
            }
        }
        var status: Int32 = 0
        waitpid(starter, &status, 0)
        #expect(pid > 0, "no pid line: \(text)")
        defer {
            if pid > 0 {
                kill(pid, SIGTERM)
                for _ in 0..<100 where kill(pid, 0) == 0 { usleep(20_000) }
            }
        }
        #expect(signalled > 0)
        #expect(text.contains("ready\n"), "the resolver died before it was ready: \(text)")
        #expect(kill(pid, 0) == 0, "the resolver is gone")
        // It reported its own identity (pid and start time, as /proc has them), so that
        // its starter never records a process that took its pid after it.
        #expect(identity == ProcessIdentity.of(pid: pid), "pid line \(String(describing: identity))")
        // It works in / and does not keep its starter's working directory busy.
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) == "/")
        // It serves, and took the signals as a reload.
        let answer = try Loopback.ask("web", from: block.address(1, 10), to: block.address(1, 1), block.port, timeout: 5)
        #expect(answer?.answers.count == 1)
        // The reload is logged as the resolver gets to it: polled, with a bound against hanging.
        func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
        #expect(Poll.wait(seconds: 10) { log().contains("reloaded (SIGHUP)") }, "\(log())")
    }
}
