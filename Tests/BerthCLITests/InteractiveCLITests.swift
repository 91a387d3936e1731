import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// `berth run -it` and `berth exec -it` used as a person would: tmux runs them in a pane,
/// the test types with send-keys and reads the screen with capture-pane.
@Suite("berth -it in a terminal (kernel, tmux)", .enabled(if: try KernelTests.enabled && Prerequisite.installed(Tmux.available, "tmux")))
struct InteractiveCLITests {
    @Test("run -it sh: the container's hostname, ^C reaches the container, SIGWINCH resizes it, exit 3 is berth's status, the terminal is restored")
    func interactiveShell() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                let session = try Tmux(columns: 100, rows: 30)
                defer { session.close() }
                let berth = sandbox.berthArguments(["run", "-it", "--rootfs", rootfs.path, "--hostname", "ttybox", "--name", "shell", "--", "sh"])
                try session.run(berth, environment: sandbox.berthEnvironment())
                #expect(session.waitFor { $0.contains("/ #") }, "\(session.screen())")

                session.type("hostname")
                #expect(session.waitFor { $0.contains("ttybox\n") }, "\(session.screen())")
                // The size at start is the pane's; a resize reaches the container (SIGWINCH).
                session.type("stty size")
                #expect(session.waitFor { $0.contains("30 100\n") }, "\(session.screen())")
                session.resize(columns: 120, rows: 40)
                session.type("stty size")
                #expect(session.waitFor { $0.contains("40 120\n") }, "\(session.screen())")
                // ^C interrupts the container's foreground command, not berth.
                session.type("sleep 1000")
                #expect(try ContainerCLI.eventually {
                    guard let pid = try ContainerCLI.container(sandbox, "shell")?["pid"] as? Int else { return false }
                    return (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8))?.isEmpty == false
                })
                session.keys("C-c")
                session.type("echo still-here")
                #expect(session.waitFor { $0.contains("still-here\n") }, "\(session.screen())")
                #expect(try ContainerCLI.container(sandbox, "shell")?["status"] as? String == "running")

                session.type("exit 3")
                #expect(session.waitForFile("status"), "\(session.screen())")
                #expect(session.file("status") == "3\n")
                // stty -a in the pane, before and after: the same settings, the size aside.
                #expect(session.settings("before") == session.settings("after"))
                #expect(session.settings("before")?.contains("icanon") == true && session.settings("before")?.contains("-icanon") == false)
                let record = try #require(try ContainerCLI.container(sandbox, "shell"))
                #expect(record["status"] as? String == "exited" && record["exitCode"] as? Int == 3)
                #expect(sandbox.berth(["rm", "shell"]).status == 0)
            }
        }
    }

    @Test("exec -it sh in a running container: its hostname, its terminal, exit 4 is berth's status")
    func interactiveExec() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                #expect(sandbox.berth(["run", "-d", "--name", "box", "--hostname", "execbox", "--rootfs", rootfs.path, "--", "sleep", "1000"]).status == 0)
                defer { sandbox.berth(["rm", "-f", "box"]) }
                let session = try Tmux(columns: 90, rows: 25)
                defer { session.close() }
                try session.run(sandbox.berthArguments(["exec", "-it", "box", "sh"]), environment: sandbox.berthEnvironment())
                #expect(session.waitFor { $0.contains("/ #") }, "\(session.screen())")
                session.type("hostname; tty; stty size")
                #expect(session.waitFor { $0.contains("execbox\n/dev/pts/0\n25 90\n") }, "\(session.screen())")
                session.type("exit 4")
                #expect(session.waitForFile("status"), "\(session.screen())")
                #expect(session.file("status") == "4\n")
                #expect(session.settings("before") == session.settings("after"))
            }
        }
    }
}

/// A detached tmux server of its own, one pane running a command between two `stty -a`
/// snapshots; its exit status lands in a file.
final class Tmux {
    static var available: Bool { Command.run(["tmux", "-V"]).succeeded }

    private let socket = "berth-test-\(getpid())-\(UUID().uuidString.prefix(8))"
    let directory = NSTemporaryDirectory() + "berth-tmux-\(UUID().uuidString.prefix(8))"
    private let columns: Int
    private let rows: Int

    init(columns: Int, rows: Int) throws {
        self.columns = columns
        self.rows = rows
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Starts `argv` in the pane with `environment` added.
    func run(_ argv: [String], environment: [String: String]) throws {
        let quoted = argv.map(Self.quote).joined(separator: " ")
        let exports = environment.map { "export \($0.key)=\(Self.quote($0.value))" }.joined(separator: "; ")
        let script = """
            \(exports)
            stty -a > \(directory)/before
            \(quoted)
            echo $? > \(directory)/status.tmp
            stty -a > \(directory)/after
            mv \(directory)/status.tmp \(directory)/status
            sleep 1000
            """
        try script.write(toFile: directory + "/pane.sh", atomically: true, encoding: .utf8)
        // The server tmux forks keeps every descriptor of the client: it gets /dev/null as its
        // stdio and nothing else, or it would hold open the pipes that this test (and tests
        // running beside it) read to their end.
        let command = (["tmux", "-L", socket, "-f", "/dev/null", "new-session", "-d", "-x", "\(columns)", "-y", "\(rows)", "sh", directory + "/pane.sh"])
            .map(Self.quote).joined(separator: " ")
        let closeOthers = "for fd in $(ls /proc/$$/fd); do if [ \"$fd\" -gt 2 ]; then eval \"exec $fd>&-\"; fi; done"
        let started = Command.run(["bash", "-c", closeOthers + "; exec " + command + " </dev/null >/dev/null 2>&1"])
        guard started.succeeded else { throw SandboxError("tmux new-session failed: \(started)") }
        // The server's and the pane's pids, for close: kill-server alone has left servers
        // (and the pane's `sleep 1000`) running after a passing test.
        try tmux(["display-message", "-p", "-t", "0", "#{pid} #{pane_pid}"]).stdout.write(toFile: directory + "/pids", atomically: true, encoding: .utf8)
    }

    /// Types `text` and Enter.
    func type(_ text: String) {
        tmux(["send-keys", "-t", "0", "-l", text])
        tmux(["send-keys", "-t", "0", "Enter"])
    }

    func keys(_ keys: String) { tmux(["send-keys", "-t", "0", keys]) }

    func resize(columns: Int, rows: Int) { tmux(["resize-window", "-t", "0", "-x", "\(columns)", "-y", "\(rows)"]) }

    /// The pane's text, trailing blanks of each line removed.
    func screen() -> String {
        let lines = tmux(["capture-pane", "-p", "-t", "0"]).stdout.split(separator: "\n", omittingEmptySubsequences: false)
        return lines.map { line in String(line.reversed().drop { $0 == " " }.reversed()) }.joined(separator: "\n")
    }

    func waitFor(_ condition: (String) -> Bool) -> Bool {
        ContainerCLI.eventually { condition(screen()) }
    }

    func waitForFile(_ name: String) -> Bool {
        ContainerCLI.eventually { FileManager.default.fileExists(atPath: directory + "/" + name) }
    }

    func file(_ name: String) -> String? {
        try? String(contentsOfFile: directory + "/" + name, encoding: .utf8)
    }

    /// `stty -a` without its first line (speed and window size).
    func settings(_ name: String) -> String? {
        file(name).map { $0.split(separator: "\n").dropFirst().joined(separator: "\n") }
    }

    func close() {
        let pids = (file("pids") ?? "").split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
        tmux(["kill-server"])
        // Whatever is still there is ours only if its command line says so (pids are reused).
        if pids.count == 2 {
            let (server, pane) = (pids[0], pids[1])
            if let line = try? String(contentsOfFile: "/proc/\(pane)/cmdline", encoding: .utf8), line.contains(directory) {
                kill(-pane, SIGKILL)  // the pane's shell leads its process group, with its sleep
            }
            if let line = try? String(contentsOfFile: "/proc/\(server)/cmdline", encoding: .utf8), line.contains(socket) {
                kill(server, SIGKILL)
            }
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    private func tmux(_ arguments: [String]) -> CommandResult {
        Command.run(["tmux", "-L", socket] + arguments)
    }

    private static func quote(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
