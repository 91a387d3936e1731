import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// The life of a container through the built binary in a host sandbox, as `docker run`
/// users know it: exited containers stay until `rm`, `start` gives them their ports back,
/// `logs` shows what they wrote, the supervisor restarts them by policy, and nothing leaks.
@Suite("berth container life (kernel)", .enabled(if: try KernelTests.enabled))
struct ContainerLifeCLITests {
    @Test("an exited container stays in ps -a as Exited (CODE) with no network; its name stays taken until rm; --rm leaves nothing")
    func exitedStays() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                // A host that forwards already: making the default network warns of nothing, so
                // stderr is the command's alone (RunWarningCLITests has the warnings).
                try #require(sandbox.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"]).succeeded)
                let run = sandbox.berth(["run", "--rootfs", rootfs.path, "--name", "gone", "-p", "7000:70", "--", "sh", "-c", "echo out; echo err >&2; exit 3"])
                #expect(run.status == 3 && run.stdout == "out\n" && run.stderr == "err\n", "\(run)")
                // `ps` shows running containers only; `ps -a` this one, as Docker words it.
                #expect(!sandbox.berthWitness(["ps"]).contains("gone"))
                let table = sandbox.berth(["ps", "-a"]).stdout.split(separator: "\n").map(String.init)
                #expect(table.first?.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
                        == "CONTAINER ID IMAGE COMMAND CREATED STATUS PORTS NAMES", "\(table)")
                let row = try #require(table.first { $0.hasSuffix("gone") })
                #expect(row.contains(rootfs.path) && row.contains("\"sh -c echo out; ech…\"") && row.contains("Exited (3) "), "\(row)")
                #expect(row.contains(" ago") && !row.contains("7000"), "\(row)")
                let record = try #require(try ContainerCLI.container(sandbox, "gone"))
                #expect(record["status"] as? String == "exited" && record["exitCode"] as? Int == 3 && record["pid"] is NSNull)
                // Stopped, it holds no veth, lease or map element.
                #expect(ContainerCLI.vethsGone(sandbox))
                #expect(!ContainerCLI.ruleset(sandbox).contains("7000"))

                let again = sandbox.berth(["run", "--rootfs", rootfs.path, "--name", "gone", "--", "true"])
                #expect(again.status == 125 && again.stderr.contains("container name \"gone\" is already in use"), "\(again)")
                let rm = sandbox.berth(["rm", "gone"])
                #expect(rm.status == 0 && rm.stdout == "gone\n", "\(rm)")
                #expect(ContainerCLI.nothingRecorded(sandbox))
                #expect(ContainerCLI.logDirectories(sandbox).isEmpty)

                let removed = sandbox.berth(["run", "--rm", "--rootfs", rootfs.path, "--name", "brief", "-p", "7001:70", "--", "sh", "-c", "exit 4"])
                #expect(removed.status == 4, "\(removed)")
                #expect(ContainerCLI.nothingRecorded(sandbox))
                #expect(ContainerCLI.logDirectories(sandbox).isEmpty)
                #expect(ContainerCLI.vethsGone(sandbox))
                // pflag's values of a flag, as docker takes them: --rm=false keeps the container,
                // -d=false runs it in the foreground, --rm=1 removes it.
                let kept = sandbox.berth(["run", "--rm=false", "-d=false", "--rootfs", rootfs.path, "--name", "kept", "--", "sh", "-c", "exit 5"])
                #expect(kept.status == 5, "\(kept)")
                #expect(try ContainerCLI.container(sandbox, "kept")?["status"] as? String == "exited")
                #expect(sandbox.berth(["rm", "kept"]).status == 0)
                let one = sandbox.berth(["run", "--rm=1", "--rootfs", rootfs.path, "--name", "one", "--", "sh", "-c", "exit 6"])
                #expect(one.status == 6 && ContainerCLI.nothingRecorded(sandbox), "\(one)")
                let conflicting = sandbox.berth(["run", "--rm", "--restart", "always", "--rootfs", rootfs.path, "--", "true"])
                #expect(conflicting.status == 125 && conflicting.stderr.contains("cannot restart"), "\(conflicting)")
            }
        }
    }

    @Test("rm refuses a running container and an unknown one; rm -f kills and removes; start of a running one leaves it be")
    func removeRefusals() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                #expect(sandbox.berth(["run", "-d", "--name", "busy", "--rootfs", rootfs.path, "-p", "7100:70", "--", "sleep", "1000"]).status == 0)
                let pid = try #require(try ContainerCLI.container(sandbox, "busy")?["pid"] as? Int)
                let refused = sandbox.berth(["rm", "busy"])
                #expect(refused.status == 1, "\(refused)")
                #expect(refused.stderr == "berth: cannot remove container busy: it is running (stop it first with 'berth stop busy', or remove it by force with 'berth rm -f busy')\n")
                #expect(ContainerCLI.isRunning(pid: pid))
                // As `docker start` of a running container: nothing to do, its name, status 0.
                let running = sandbox.berth(["start", "busy"])
                #expect(running.status == 0 && running.stdout == "busy\n" && running.stderr.isEmpty, "\(running)")
                #expect(try ContainerCLI.container(sandbox, "busy")?["pid"] as? Int == pid)
                #expect(ContainerCLI.isRunning(pid: pid))
                // Its network cannot go while it runs: the refusal names the container and says
                // to stop it, not to detach its endpoint from under it.
                let network = sandbox.berth(["network", "rm", "berth"])
                #expect(network.status == 1 && network.stderr == "berth: network berth is used by running container busy "
                        + "(stop it first with 'berth stop busy', or remove it with 'berth rm -f busy')\n", "\(network)")
                let unknown = sandbox.berth(["rm", "nosuch", "busy"])
                #expect(unknown.status == 1 && unknown.stderr.contains("no container named \"nosuch\""), "\(unknown)")

                let forced = sandbox.berth(["rm", "-f", "busy"])
                #expect(forced.status == 0 && forced.stdout == "busy\n", "\(forced)")
                #expect(!ContainerCLI.isRunning(pid: pid))
                #expect(ContainerCLI.nothingRecorded(sandbox))
                #expect(ContainerCLI.vethsGone(sandbox))
                #expect(!ContainerCLI.ruleset(sandbox).contains("7100"))
            }
        }
    }

    @Test("start after stop serves the published port again; a port taken meanwhile is refused naming its holder")
    func startAfterStop() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                try "served again\n".write(toFile: rootfs.path + "/www/index.html", atomically: true, encoding: .utf8)
                let run = sandbox.berth(["run", "-d", "--name", "web", "--rootfs", rootfs.path, "-p", "18090:80", "-e", "GREETING=hi", "--",
                                         "httpd", "-f", "-p", "80", "-h", "/www"])
                #expect(run.status == 0, "\(run)")
                #expect(ContainerCLI.fetch(sandbox, port: 18090).stdout == "served again\n")
                #expect(sandbox.berth(["stop", "-t", "1", "web"]).status == 0)
                #expect(ContainerCLI.fetch(sandbox, port: 18090, retry: false).status != 0)
                #expect(!ContainerCLI.ruleset(sandbox).contains("18090"))
                #expect(ContainerCLI.vethsGone(sandbox))

                // Someone else takes the port while web is stopped.
                #expect(sandbox.berth(["run", "-d", "--name", "squatter", "--rootfs", rootfs.path, "-p", "18090:81", "--", "sleep", "1000"]).status == 0)
                let clash = sandbox.berth(["start", "web"])
                #expect(clash.status == 1, "\(clash)")
                #expect(clash.stderr == "berth: port tcp 0.0.0.0:18090 is already published by container squatter (stop it first with 'berth stop squatter')\n")
                #expect(try ContainerCLI.container(sandbox, "web")?["status"] as? String == "exited")
                #expect(sandbox.berth(["rm", "-f", "squatter"]).status == 0)

                let start = sandbox.berth(["start", "web"])
                #expect(start.status == 0 && start.stdout == "web\n", "\(start)")
                #expect(ContainerCLI.fetch(sandbox, port: 18090).stdout == "served again\n")
                // Same settings: the environment came back too.
                let env = sandbox.berth(["exec", "web", "--", "env"])
                #expect(env.stdout.contains("GREETING=hi"), "\(env)")
                let restart = sandbox.berth(["restart", "-t", "0", "web"])
                #expect(restart.status == 0 && restart.stdout == "web\n", "\(restart)")
                #expect(ContainerCLI.fetch(sandbox, port: 18090).stdout == "served again\n")
                #expect(sandbox.berth(["rm", "-f", "web"]).status == 0)
                #expect(ContainerCLI.nothingRecorded(sandbox))
            }
        }
    }

    @Test("logs prints stdout and stderr apart; logs -f sees lines as a detached container writes them and ends when it stops")
    func logsFollow() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                // Writes line N once /tmp/goN exists, so the test decides when each line comes.
                let script = "echo started; echo oops >&2; i=0; while true; do if [ -e /tmp/go$i ]; then echo line$i; i=$((i+1)); fi; sleep 0.02; done"
                #expect(sandbox.berth(["run", "-d", "--name", "chatty", "--rootfs", rootfs.path, "--network", "none", "--", "sh", "-c", script]).status == 0)
                #expect(ContainerCLI.eventually { sandbox.berth(["logs", "chatty"]).stdout == "started\n" })
                let logs = sandbox.berth(["logs", "chatty"])
                #expect(logs.stdout == "started\n" && logs.stderr == "oops\n", "\(logs)")

                let follower = Process()
                follower.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                follower.arguments = sandbox.berthArguments(["logs", "-f", "chatty"])
                follower.environment = ProcessInfo.processInfo.environment.merging(sandbox.berthEnvironment()) { _, new in new }
                let pipe = Pipe()
                follower.standardOutput = pipe
                follower.standardError = FileHandle.nullDevice
                try follower.run()
                // A bound against a hang, not a timing: a follower still there after a minute failed.
                let pid = follower.processIdentifier
                let watchdog = DispatchWorkItem { kill(pid, SIGTERM) }
                DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
                defer { watchdog.cancel() }
                let reader = LineReader(pipe.fileHandleForReading)
                #expect(reader.next() == "started")
                for index in 0..<3 {
                    _ = FileManager.default.createFile(atPath: rootfs.path + "/tmp/go\(index)", contents: nil)
                    #expect(reader.next() == "line\(index)")
                }
                #expect(sandbox.berth(["stop", "-t", "0", "chatty"]).status == 0)
                // It ends on its own once the container has stopped.
                #expect(reader.next() == nil)
                follower.waitUntilExit()
                watchdog.cancel()
                #expect(follower.terminationStatus == 0)
                #expect(sandbox.berth(["rm", "chatty"]).status == 0)
            }
        }
    }

    @Test("--restart on-failure:2 restarts twice, then the container stays exited with its status")
    func restartOnFailure() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                let run = sandbox.berth(["run", "-d", "--restart", "on-failure:2", "--name", "flaky", "--rootfs", rootfs.path, "-p", "7200:70", "--",
                                         "sh", "-c", "echo run >> /tmp/runs; echo attempt; exit 1"])
                #expect(run.status == 0, "\(run)")
                #expect(try ContainerCLI.eventually {
                    let record = try ContainerCLI.container(sandbox, "flaky")
                    return record?["status"] as? String == "exited" && record?["supervisorPid"] is NSNull
                })
                let record = try #require(try ContainerCLI.container(sandbox, "flaky"))
                #expect(record["restartCount"] as? Int == 2 && record["exitCode"] as? Int == 1, "\(record)")
                let runs = try String(contentsOfFile: rootfs.path + "/tmp/runs", encoding: .utf8)
                #expect(runs == "run\nrun\nrun\n")
                #expect(sandbox.berth(["logs", "flaky"]).stdout == "attempt\nattempt\nattempt\n")
                // --tail / -n as docker logs takes them.
                #expect(sandbox.berth(["logs", "--tail", "2", "flaky"]).stdout == "attempt\nattempt\n")
                #expect(sandbox.berthWitness(["logs", "-n", "0", "flaky"]).isEmpty)
                #expect(sandbox.berth(["logs", "-n", "all", "flaky"]).stdout == "attempt\nattempt\nattempt\n")
                #expect(sandbox.berth(["logs", "-n", "-1", "flaky"]).stdout == "attempt\nattempt\nattempt\n")
                #expect(sandbox.berth(["logs", "--tail", "9223372036854775807", "flaky"]).stdout == "attempt\nattempt\nattempt\n")
                let badTail = sandbox.berth(["logs", "--tail", "many", "flaky"])
                #expect(badTail.status == 64 && badTail.stderr.contains("--tail takes a number of lines or 'all'"), "\(badTail)")
                #expect(sandbox.berth(["ps", "-a"]).stdout.contains("Exited (1) "))
                #expect(ContainerCLI.vethsGone(sandbox))
                #expect(!ContainerCLI.ruleset(sandbox).contains("7200"))

                // A stop ends `always` for good.
                #expect(sandbox.berth(["run", "-d", "--restart", "always", "--name", "forever", "--rootfs", rootfs.path, "--", "sleep", "1000"]).status == 0)
                #expect(sandbox.berth(["stop", "-t", "0", "forever"]).status == 0)
                let stopped = try #require(try ContainerCLI.container(sandbox, "forever"))
                #expect(stopped["status"] as? String == "exited" && stopped["restartCount"] as? Int == 0, "\(stopped)")
                #expect(sandbox.berth(["rm", "flaky", "forever"]).status == 0)
            }
        }
    }

    @Test("a network that cannot be released when the command ends: the exit is recorded all the same (--rm: the row goes), berth exits with the command's status, gc releases the rest")
    func releaseFails() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                // The detach fails once it has marked the endpoint (a debug build's fail point).
                let failing = ["BERTH_FAILPOINT": "detach.mark"]
                let kept = sandbox.berth(["run", "--name", "kept", "--rootfs", rootfs.path, "-p", "7400:70", "--", "sh", "-c", "exit 3"], environment: failing)
                #expect(kept.status == 3, "\(kept)")
                let record = try #require(try ContainerCLI.container(sandbox, "kept"))
                #expect(record["status"] as? String == "exited" && record["exitCode"] as? Int == 3 && record["supervisorPid"] is NSNull, "\(record)")
                let removed = sandbox.berth(["run", "--rm", "--name", "brief", "--rootfs", rootfs.path, "-p", "7401:70", "--", "sh", "-c", "exit 4"],
                                            environment: failing)
                #expect(removed.status == 4, "\(removed)")
                #expect(try ContainerCLI.container(sandbox, "brief") == nil)
                let gc = sandbox.berth(["gc"])
                #expect(gc.status == 0, "\(gc)")
                #expect(ContainerCLI.vethsGone(sandbox))
                #expect(!ContainerCLI.ruleset(sandbox).contains("7400") && !ContainerCLI.ruleset(sandbox).contains("7401"))
                // The name is free again, and the port.
                #expect(sandbox.berth(["run", "--rm", "--name", "brief", "--rootfs", rootfs.path, "-p", "7401:70", "--", "true"]).status == 0)
                #expect(sandbox.berth(["rm", "kept"]).status == 0)
                #expect(ContainerCLI.nothingRecorded(sandbox))
                #expect(ContainerCLI.logDirectories(sandbox).isEmpty)
            }
        }
    }

    @Test("gc with an orphaned container it cannot release: says which and why, still collects the network's garbage, and exits 1")
    func gcPastFailingOrphan() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                #expect(sandbox.berth(["run", "-d", "--name", "stuck", "--rootfs", rootfs.path, "-p", "7450:70", "--", "sleep", "1000"]).status == 0)
                let record = try #require(try ContainerCLI.container(sandbox, "stuck"))
                let supervisor = try #require(record["supervisorPid"] as? Int)
                #expect(kill(pid_t(supervisor), SIGKILL) == 0)
                #expect(ContainerCLI.eventually { !ContainerCLI.isRunning(pid: supervisor) })
                // And an endpoint whose namespace is gone: network garbage.
                let name = "bt-gone-\(KernelTests.uniqueSuffix())"
                sandbox.adopt(namespaceNamed: name)
                try #require(sandbox.berth(["netns", "add", name]).succeeded)
                try #require(sandbox.berth(["attach", "berth", "--netns", name, "--id", "gone1"]).succeeded)
                try #require(sandbox.run(["ip", "netns", "del", name]).succeeded)

                // The orphan's detach fails once it has marked its endpoint (a debug build's fail point).
                let gc = sandbox.berth(["gc"], environment: ["BERTH_FAILPOINT": "detach.mark"])
                #expect(gc.status == 1, "\(gc)")
                #expect(gc.stderr.contains("could not release orphaned container stuck: ") && gc.stderr.contains("fail point detach.mark"), "\(gc)")
                #expect(gc.stdout.contains("removed endpoint gone1"), "\(gc)")
                #expect(!sandbox.berthWitness(["ps"]).contains("gone1"))
                // The next gc releases it.
                let again = sandbox.berth(["gc"])
                #expect(again.status == 0 && again.stdout.contains("stopped orphaned container stuck"), "\(again)")
                #expect(ContainerCLI.vethsGone(sandbox))
                #expect(sandbox.berth(["rm", "stuck"]).status == 0)
                #expect(ContainerCLI.nothingRecorded(sandbox))
            }
        }
    }

    @Test("restart of a --rm container starts it again (Docker skips the auto-removal of a restart); its next stop removes it")
    func restartKeepsAutoRemove() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                #expect(sandbox.berth(["run", "-d", "--rm", "--name", "w", "--rootfs", rootfs.path, "-p", "7500:70", "--", "sleep", "1000"]).status == 0)
                let first = try #require(try ContainerCLI.container(sandbox, "w")?["pid"] as? Int)
                let restart = sandbox.berth(["restart", "-t", "0", "w"])
                #expect(restart.status == 0 && restart.stdout == "w\n", "\(restart)")
                #expect(!ContainerCLI.isRunning(pid: first))
                let record = try #require(try ContainerCLI.container(sandbox, "w"), "restart removed the --rm container")
                let second = try #require(record["pid"] as? Int)
                #expect(record["status"] as? String == "running" && second != first && ContainerCLI.isRunning(pid: second), "\(record)")
                #expect(ContainerCLI.ruleset(sandbox).contains("7500"))
                // Still --rm: the next stop removes it.
                let stop = sandbox.berth(["stop", "-t", "0", "w"])
                #expect(stop.status == 0, "\(stop)")
                #expect(!ContainerCLI.isRunning(pid: second))
                #expect(ContainerCLI.nothingRecorded(sandbox))
                #expect(ContainerCLI.logDirectories(sandbox).isEmpty)
                #expect(ContainerCLI.vethsGone(sandbox))
            }
        }
    }

    @Test("a supervisor that fails after the command ran (a debug build's fail point) records its end and releases it: berth exits with the command's status, nothing is orphaned")
    func failureAfterStart() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                let failing = ["BERTH_FAILPOINT": "supervise.finish"]
                let run = sandbox.berth(["run", "--name", "failed", "--rootfs", rootfs.path, "-p", "7600:70", "--", "sh", "-c", "exit 3"], environment: failing)
                #expect(run.status == 3 && run.stderr.contains("fail point supervise.finish"), "\(run)")
                let record = try #require(try ContainerCLI.container(sandbox, "failed"))
                #expect(record["status"] as? String == "exited" && record["exitCode"] as? Int == 3 && record["supervisorPid"] is NSNull, "\(record)")
                #expect(!sandbox.berthWitness(["ps"]).contains("Orphaned"))
                #expect(ContainerCLI.vethsGone(sandbox))
                #expect(!ContainerCLI.ruleset(sandbox).contains("7600"))
                #expect(sandbox.berth(["logs", "failed"]).stderr.contains("fail point supervise.finish"))
                // --rm: the row goes too.
                let removed = sandbox.berth(["run", "--rm", "--name", "brief", "--rootfs", rootfs.path, "--", "sh", "-c", "exit 4"], environment: failing)
                #expect(removed.status == 4, "\(removed)")
                #expect(try ContainerCLI.container(sandbox, "brief") == nil)
                #expect(sandbox.berth(["rm", "failed"]).status == 0)
                #expect(ContainerCLI.nothingRecorded(sandbox))
                #expect(ContainerCLI.logDirectories(sandbox).isEmpty)
            }
        }
    }

    @Test("start of an orphaned --rm container: its clean-up removes it, and start says so instead of launching a supervisor for a missing row")
    func startOrphanedAutoRemove() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                #expect(sandbox.berth(["run", "-d", "--rm", "--name", "lost", "--rootfs", rootfs.path, "--network", "none", "--", "sleep", "1000"]).status == 0)
                let record = try #require(try ContainerCLI.container(sandbox, "lost"))
                let supervisor = try #require(record["supervisorPid"] as? Int)
                let pid = try #require(record["pid"] as? Int)
                #expect(kill(pid_t(supervisor), SIGKILL) == 0)
                #expect(ContainerCLI.eventually { !ContainerCLI.isRunning(pid: supervisor) })
                let start = sandbox.berth(["start", "lost"])
                #expect(start.status != 0 && start.stderr.contains("container lost was removed when its orphaned run was cleaned up, as it was run to be (it was run with --rm; see 'berth ps -a')"), "\(start)")
                #expect(!start.stderr.contains("no container with id"), "\(start)")
                #expect(!ContainerCLI.isRunning(pid: pid))
                #expect(ContainerCLI.nothingRecorded(sandbox))
                #expect(ContainerCLI.logDirectories(sandbox).isEmpty)
            }
        }
    }

    @Test("SIGKILL of the supervisor, then gc or rm -f: the command is killed and nothing is left")
    func supervisorKilled() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                for (name, port, cleanUp) in [("viagc", 7300, ["gc"]), ("viarm", 7301, ["rm", "-f", "viarm"])] {
                    #expect(sandbox.berth(["run", "-d", "--name", name, "--rootfs", rootfs.path, "-p", "\(port):70", "--", "sleep", "1000"]).status == 0)
                    let record = try #require(try ContainerCLI.container(sandbox, name))
                    let supervisor = try #require(record["supervisorPid"] as? Int)
                    let pid = try #require(record["pid"] as? Int)
                    #expect(kill(pid_t(supervisor), SIGKILL) == 0)
                    #expect(ContainerCLI.eventually { !ContainerCLI.isRunning(pid: supervisor) })
                    #expect(sandbox.berth(["ps"]).stdout.contains("Orphaned"))
                    // check sees it too, as a problem gc fixes.
                    let check = sandbox.berth(["check"])
                    #expect(check.status == 1 && check.stderr.contains("container \(name) is orphaned: its supervisor (process \(supervisor)) is gone")
                            && check.stderr.contains("(run 'berth gc' to stop it;") && check.stderr.hasSuffix("berth: 1 problem found\n"), "\(check)")

                    let result = sandbox.berth(cleanUp)
                    #expect(result.status == 0, "\(result)")
                    #expect(!ContainerCLI.isRunning(pid: pid))
                    #expect(ContainerCLI.vethsGone(sandbox))
                    #expect(!ContainerCLI.ruleset(sandbox).contains("\(port)"))
                    if cleanUp == ["gc"] {
                        #expect(result.stdout.contains("stopped orphaned container viagc"), "\(result)")
                        // Stopped like any other: exited, holding nothing, until removed.
                        let after = try #require(try ContainerCLI.container(sandbox, name))
                        #expect(after["status"] as? String == "exited" && after["exitCode"] as? Int == 137, "\(after)")
                        #expect(sandbox.berth(["rm", name]).status == 0)
                    }
                    #expect(ContainerCLI.nothingRecorded(sandbox))
                    #expect(ContainerCLI.logDirectories(sandbox).isEmpty)
                }
                #expect(sandbox.berth(["gc"]).stdout == "nothing to remove\n")
                let check = sandbox.berth(["check"])
                #expect(check.status == 0 && check.stdout == "ok\n", "\(check)")
            }
        }
    }
}

/// Lines from a pipe, one at a time; nil at end of file.
final class LineReader {
    private let handle: FileHandle
    private var buffer = Data()

    init(_ handle: FileHandle) { self.handle = handle }

    func next() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                return line
            }
            let chunk = handle.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }
}
