import BerthTestSupport
import Foundation
import Testing

/// `berth run --stop-signal` and `--stop-timeout` through the built binary, as `docker run`
/// takes them: `stop`, `restart` and `kill` use what the container keeps. Times are bounds
/// against the 10 s default (under 9 s: the signal ended it, not the SIGKILL 10 s later),
/// never tight measurements.
@Suite("berth run --stop-signal and --stop-timeout (kernel)", .enabled(if: try KernelTests.enabled))
struct StopSignalCLITests {
    /// A PID 1 that ends with 9 on SIGUSR1 and ignores SIGTERM (no handler for it); it logs
    /// `ready` once the trap is set (`ContainerCLI.ready`).
    static let trapsUSR1 = ["sh", "-c", "trap 'exit 9' USR1; echo ready; while :; do sleep 0.05; done"]
    /// A PID 1 that handles nothing: only SIGKILL ends it.
    static let ignoresAll = ["sh", "-c", "while :; do sleep 0.05; done"]
    /// Notes a SIGTERM in its log and goes on.
    static let notesTERM = ["sh", "-c", "trap 'echo term' TERM; echo ready; while :; do sleep 0.05; done"]

    /// Runs `berth ARGS`, returning its result and how long it took in seconds; killed after
    /// 60 s (exit 124), as `stop -t -1` would wait for ever on a command that ignored the signal.
    private func timed(_ sandbox: HostSandbox, _ args: [String]) -> (CommandResult, Double) {
        let start = Date()
        let result = ContainerCLI.bounded(sandbox, args)
        return (result, Date().timeIntervalSince(start))
    }

    private func config(_ sandbox: HostSandbox, _ name: String) throws -> [String: Any] {
        let result = sandbox.berth(["inspect", name])
        let array = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]], "\(result)")
        return try #require(array.first?["Config"] as? [String: Any], "\(result)")
    }

    private func exitCode(_ sandbox: HostSandbox, _ name: String) throws -> Int? {
        try ContainerCLI.container(sandbox, name)?["exitCode"] as? Int
    }

    @Test("stop sends the stop signal: USR1 ends a PID 1 that ignores SIGTERM at once (exit 9); start and restart keep it; inspect shows it")
    func stopSignal() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                try #require(sandbox.berth(["run", "-d", "--name", "usr1", "--network", "none", "--stop-signal", "USR1", "--rootfs", rootfs.path, "--"]
                                           + Self.trapsUSR1).succeeded)
                try #require(ContainerCLI.ready(sandbox, "usr1"), "\(sandbox.berth(["logs", "usr1"]))")
                let (stop, took) = timed(sandbox, ["stop", "usr1"])
                #expect(stop.status == 0 && stop.stdout == "usr1\n", "\(stop)")
                // SIGTERM would be ignored and SIGKILL come after 10 s, with 137.
                #expect(try exitCode(sandbox, "usr1") == 9)
                #expect(took < 9, "stop took \(took) s")
                let config = try config(sandbox, "usr1")
                #expect(config["StopSignal"] as? String == "SIGUSR1" && config["StopTimeout"] == nil, "\(config)")

                // Kept with its settings: a start, then a restart, stop it the same way.
                try #require(sandbox.berth(["start", "usr1"]).succeeded)
                try #require(ContainerCLI.ready(sandbox, "usr1", times: 2), "\(sandbox.berth(["logs", "usr1"]))")
                let (restart, restartTook) = timed(sandbox, ["restart", "usr1"])
                #expect(restart.status == 0 && restartTook < 9, "\(restart) after \(restartTook) s")
                #expect(try exitCode(sandbox, "usr1") == 9)
                try #require(ContainerCLI.ready(sandbox, "usr1", times: 3), "\(sandbox.berth(["logs", "usr1"]))")
                let (again, againTook) = timed(sandbox, ["stop", "usr1"])
                #expect(again.status == 0 && againTook < 9, "\(again) after \(againTook) s")
                #expect(try exitCode(sandbox, "usr1") == 9)

                // A container without --stop-signal shows none, as Docker omits the default.
                try #require(sandbox.berth(["run", "--name", "plain", "--network", "none", "--rootfs", rootfs.path, "--", "true"]).succeeded)
                let plain = try self.config(sandbox, "plain")
                #expect(plain["StopSignal"] == nil && plain["StopTimeout"] == nil, "\(plain)")
                #expect(sandbox.berth(["rm", "usr1", "plain"]).succeeded)
                #expect(ContainerCLI.nothingRecorded(sandbox))
            }
        }
    }

    @Test("--stop-timeout 1: a command ignoring the stop signal gets SIGKILL after about 1 s (137); an explicit -t wins over it; -t -1 and rm -f")
    func stopTimeout() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                try #require(sandbox.berth(["run", "-d", "--name", "stubborn", "--network", "none", "--stop-timeout", "1", "--rootfs", rootfs.path, "--"]
                                           + Self.ignoresAll).succeeded)
                Thread.sleep(forTimeInterval: 0.2)
                let (stop, took) = timed(sandbox, ["stop", "stubborn"])
                #expect(stop.status == 0, "\(stop)")
                #expect(try exitCode(sandbox, "stubborn") == 137)
                // About 1 s: at least the timeout, and well under the default 10 s.
                #expect(took >= 0.9 && took < 9, "stop took \(took) s")
                let config = try config(sandbox, "stubborn")
                #expect(config["StopTimeout"] as? Int == 1 && config["StopSignal"] == nil, "\(config)")

                // -t 3 wins over the container's 1 s: SIGKILL no sooner than 3 s.
                try #require(sandbox.berth(["start", "stubborn"]).succeeded)
                Thread.sleep(forTimeInterval: 0.2)
                let (longer, longerTook) = timed(sandbox, ["stop", "-t", "3", "stubborn"])
                #expect(longer.status == 0 && longerTook >= 2.9 && longerTook < 9, "\(longer) after \(longerTook) s")
                #expect(try exitCode(sandbox, "stubborn") == 137)

                // -t 1 wins over a container's 30 s; so does restart's.
                try #require(sandbox.berth(["run", "-d", "--name", "patient", "--network", "none", "--stop-timeout", "30", "--rootfs", rootfs.path, "--"]
                                           + Self.ignoresAll).succeeded)
                Thread.sleep(forTimeInterval: 0.2)
                let (shorter, shorterTook) = timed(sandbox, ["stop", "--time", "1", "patient"])
                #expect(shorter.status == 0 && shorterTook < 10, "\(shorter) after \(shorterTook) s")
                #expect(try exitCode(sandbox, "patient") == 137)
                try #require(sandbox.berth(["start", "patient"]).succeeded)
                Thread.sleep(forTimeInterval: 0.2)
                let (restart, restartTook) = timed(sandbox, ["restart", "-t", "0", "patient"])
                #expect(restart.status == 0 && restartTook < 10, "\(restart) after \(restartTook) s")
                #expect(try ContainerCLI.container(sandbox, "patient")?["status"] as? String == "running")
                #expect(sandbox.berth(["stop", "-t", "0", "patient"]).succeeded)

                // -1: no SIGKILL; the container keeps it, and -t still wins.
                try #require(sandbox.berth(["run", "-d", "--name", "forever", "--network", "none", "--stop-timeout", "-1", "--stop-signal", "USR1",
                                            "--rootfs", rootfs.path, "--"] + Self.trapsUSR1).succeeded)
                let forever = try self.config(sandbox, "forever")
                #expect(forever["StopTimeout"] as? Int == -1 && forever["StopSignal"] as? String == "SIGUSR1", "\(forever)")
                try #require(ContainerCLI.ready(sandbox, "forever"), "\(sandbox.berth(["logs", "forever"]))")
                #expect(ContainerCLI.bounded(sandbox, ["stop", "forever"]).succeeded)
                #expect(try exitCode(sandbox, "forever") == 9)
                // `stop -t -1` reads -1 as the value (not as an option), as `docker stop -t -1`.
                try #require(sandbox.berth(["start", "forever"]).succeeded)
                try #require(ContainerCLI.ready(sandbox, "forever", times: 2), "\(sandbox.berth(["logs", "forever"]))")
                let (unbounded, unboundedTook) = timed(sandbox, ["stop", "-t", "-1", "forever"])
                #expect(unbounded.status == 0 && unbounded.stdout == "forever\n" && unboundedTook < 9, "\(unbounded) after \(unboundedTook) s")
                #expect(try exitCode(sandbox, "forever") == 9)

                // rm -f sends SIGKILL at once, whatever the stop timeout: a command that ignores
                // every signal, kept with -1 (no SIGKILL under stop), is gone well within 10 s.
                try #require(sandbox.berth(["run", "-d", "--name", "deaf", "--network", "none", "--stop-timeout", "-1",
                                            "--rootfs", rootfs.path, "--"] + Self.ignoresAll).succeeded)
                Thread.sleep(forTimeInterval: 0.2)
                let (removed, removeTook) = timed(sandbox, ["rm", "-f", "deaf"])
                #expect(removed.status == 0 && removeTook < 9, "\(removed) after \(removeTook) s")
                #expect(try ContainerCLI.container(sandbox, "deaf") == nil)
                #expect(sandbox.berth(["rm", "stubborn", "patient", "forever"]).succeeded)
                #expect(ContainerCLI.nothingRecorded(sandbox))
            }
        }
    }

    /// Docker's daemon finishes a stop whatever happens to its client; here the supervisor
    /// sends the SIGKILL at the deadline `stop` recorded. Before, the `stop` process sent it
    /// itself, and one killed while it waited left the command running, marked stopped.
    @Test("a stop SIGKILLed while it waits still ends in SIGKILL at its deadline, sent by the supervisor: exited 137, not restarted")
    func stopOutlivesItsCaller() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                try #require(sandbox.berth(["run", "-d", "--name", "abandoned", "--network", "none", "--restart", "always",
                                            "--rootfs", rootfs.path, "--"] + Self.notesTERM).succeeded)
                try #require(ContainerCLI.ready(sandbox, "abandoned"), "\(sandbox.berth(["logs", "abandoned"]))")
                let pid = try #require(try ContainerCLI.container(sandbox, "abandoned")?["pid"] as? Int)
                // A stop with a 20 s wait, SIGKILLed once its SIGTERM arrived (its stop flag and
                // deadline are recorded before that): it never sends its own SIGKILL. Waiting
                // for the signal, not for a time, so a slow start of the stop is no failure.
                let stop = try Command.start(sandbox.berthArguments(["stop", "--state-dir", sandbox.stateDirectory, "-t", "20", "abandoned"]), input: "")
                let signalled = ContainerCLI.eventually(30) { sandbox.berth(["logs", "abandoned"]).stdout.contains("term\n") }
                kill(stop.processIdentifier, SIGKILL)
                stop.waitUntilExit()
                try #require(signalled, "\(sandbox.berth(["logs", "abandoned"]))")
                #expect(stop.terminationReason == .uncaughtSignal && stop.terminationStatus == SIGKILL, "the stop ended by itself: \(stop.terminationStatus)")
                #expect(ContainerCLI.eventually(60) { !ContainerCLI.isRunning(pid: pid) }, "the command outlived its stop's deadline")
                #expect(try ContainerCLI.eventually { try ContainerCLI.container(sandbox, "abandoned")?["status"] as? String == "exited" })
                let row = try #require(try ContainerCLI.container(sandbox, "abandoned"))
                // Stopped, so its restart policy does not bring it back.
                #expect(row["exitCode"] as? Int == 137 && row["restartCount"] as? Int == 0, "\(row)")
                #expect(sandbox.berth(["rm", "abandoned"]).succeeded)
                #expect(ContainerCLI.nothingRecorded(sandbox))
            }
        }
    }

    @Test("a bad --stop-signal or --stop-timeout is a usage error (125) and makes nothing; a bad stop -t is one too (64)")
    func usageErrors() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                for (args, expected) in [(["--stop-signal", "FOO"], "berth: --stop-signal: invalid signal FOO"),
                                         (["--stop-signal", "0"], "berth: --stop-signal: invalid signal 0"),
                                         (["--stop-signal", "65"], "berth: --stop-signal: invalid signal 65"),
                                         (["--stop-timeout", "-2"], "berth: --stop-timeout must be 0 or more seconds, or -1"),
                                         (["--stop-timeout", "soon"], "berth: the value 'soon' is invalid for '--stop-timeout")] {
                    let run = sandbox.berth(["run", "-d", "--name", "bad", "--network", "none"] + args + ["--rootfs", rootfs.path, "--", "true"])
                    #expect(run.status == 125 && run.stderr.hasPrefix(expected) && run.stderr.contains("see 'berth run --help'"), "\(args): \(run)")
                }
                #expect(ContainerCLI.nothingRecorded(sandbox))
                for command in ["stop", "restart"] {
                    let stop = sandbox.berth([command, "-t", "-2", "bad"])
                    #expect(stop.status == 64 && stop.stderr.hasPrefix("berth: --time must be 0 or more seconds, or -1"), "\(stop)")
                }
            }
        }
    }

    @Test("kill with the container's stop signal ends its restart policy, as SIGKILL does; another signal does not")
    func killWithStopSignal() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                try #require(sandbox.berth(["run", "-d", "--name", "keep", "--network", "none", "--restart", "always", "--stop-signal", "USR1",
                                            "--rootfs", rootfs.path, "--"] + Self.trapsUSR1).succeeded)
                try #require(ContainerCLI.ready(sandbox, "keep"), "\(sandbox.berth(["logs", "keep"]))")
                let kill = sandbox.berth(["kill", "-s", "SIGUSR1", "keep"])
                #expect(kill.status == 0 && kill.stdout == "keep\n", "\(kill)")
                let waited = ContainerCLI.bounded(sandbox, ["wait", "keep"])
                #expect(waited.status == 0 && waited.stdout == "9\n", "\(waited)")
                // --restart always would have started it again within a fraction of a second.
                Thread.sleep(forTimeInterval: 1)
                let record = try #require(try ContainerCLI.container(sandbox, "keep"))
                #expect(record["status"] as? String == "exited" && record["restartCount"] as? Int == 0 && record["exitCode"] as? Int == 9, "\(record)")

                // The same command with SIGTERM's default: USR1 is just a signal, and it restarts.
                try #require(sandbox.berth(["run", "-d", "--name", "again", "--network", "none", "--restart", "always",
                                            "--rootfs", rootfs.path, "--"] + Self.trapsUSR1).succeeded)
                try #require(ContainerCLI.ready(sandbox, "again"), "\(sandbox.berth(["logs", "again"]))")
                #expect(sandbox.berth(["kill", "-s", "USR1", "again"]).succeeded)
                #expect(ContainerCLI.eventually {
                    let record = try? ContainerCLI.container(sandbox, "again")
                    return (record?["restartCount"] as? Int ?? 0) >= 1 && record?["status"] as? String == "running"
                }, "\(String(describing: try? ContainerCLI.container(sandbox, "again")))")
                #expect(sandbox.berth(["kill", "again"]).succeeded)
                #expect(sandbox.berth(["rm", "keep", "again"]).succeeded)
                #expect(ContainerCLI.nothingRecorded(sandbox))
            }
        }
    }
}
