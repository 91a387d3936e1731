import BerthTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Races between a container's supervisor and the commands run beside it, each staged with a
/// debug build's fail point that holds the supervisor at the racy moment (`:hold`: until the
/// test removes the marker file), so the outcome is the same on every run.
@Suite("container races: stop during start, wait and rm, start and gc (kernel)", .enabled(if: try KernelTests.enabled))
struct ContainerRaceCLITests {
    /// Runs `script` with sh in the sandbox's namespace, berth's state directory set.
    private func shell(_ sandbox: HostSandbox, _ script: String) -> CommandResult {
        Command.run(["nsenter", "--net=\(sandbox.namespace.path)", "--", "sh", "-c", script],
                    environment: ["BERTH_STATE_DIR": sandbox.stateDirectory])
    }

    /// The row of container `name` once it waits to restart after four restarts: a back-off
    /// of 1.6 s (100 ms doubled each time), time enough for what a test does next.
    private func waitingToRestart(_ sandbox: HostSandbox, _ name: String) throws -> [String: Any] {
        var found: [String: Any]?
        #expect(try ContainerCLI.eventually {
            guard let row = try ContainerCLI.container(sandbox, name), row["status"] as? String == "restarting",
                  (row["restartCount"] as? Int ?? 0) >= 4, row["supervisorPid"] is Int else { return false }
            found = row
            return true
        })
        return try #require(found, "container \(name) never waited to restart")
    }

    @Test("a stop that comes while the start is being set up keeps the command from ever running")
    func stopDuringStart() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                let marker = sandbox.stateDirectory + "/start-reached"
                let ran = rootfs.path + "/tmp/ran"
                unlink(ran)
                // The supervisor (a foreground run's own process) holds right before it lets the
                // command exec; the stop sets its flag meanwhile and waits for the end.
                let result = shell(sandbox, """
                    BERTH_FAILPOINT=run.start:hold BERTH_FAILPOINT_REACHED=\(marker) \
                      \(Command.berthBinary) run --name racer --network none --rootfs \(rootfs.path) -- sh -c 'echo ran > /tmp/ran; sleep 30' &
                    run=$!
                    while [ ! -e \(marker) ]; do sleep 0.01; done
                    \(Command.berthBinary) stop racer >/dev/null &
                    stop=$!
                    sleep 1
                    rm \(marker)
                    wait $stop; echo "stop $?"
                    wait $run; echo "run $?"
                    """)
                #expect(result.stdout.hasPrefix("stop 0\nrun "), "\(result)")
                #expect(!result.stdout.hasSuffix("run 0\n"), "\(result)")
                #expect(result.stderr.contains("was stopped while it started"), "\(result)")
                // Before, the command was released first and killed after: it had run.
                #expect(!FileManager.default.fileExists(atPath: ran), "the command ran before the stop took effect")
                #expect(ContainerCLI.nothingRecorded(sandbox))
            }
        }
    }

    /// `berth run -d --name j true; berth rm j`: the end is recorded a moment before the
    /// supervisor gives the container up. Held there (supervise.release:hold), a `start` and
    /// an `rm` wait it out, as `stop` and `wait` do, rather than refuse ("still stopping",
    /// "it is running").
    @Test("start and rm of a container whose end is recorded but not yet released wait for its supervisor instead of refusing")
    func startAndRemoveWaitForRelease() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                let marker = sandbox.stateDirectory + "/release-reached"
                for (name, command) in [("restarted", "start"), ("removed", "rm")] {
                    let result = shell(sandbox, """
                        BERTH_FAILPOINT=supervise.release:hold BERTH_FAILPOINT_REACHED=\(marker) \
                          \(Command.berthBinary) run --name \(name) --network none --rootfs \(rootfs.path) -- true &
                        run=$!
                        while [ ! -e \(marker) ]; do sleep 0.01; done
                        \(Command.berthBinary) \(command) \(name) >/dev/null &
                        act=$!
                        sleep 1
                        rm \(marker)
                        wait $act; echo "\(command) $?"
                        wait $run; echo "run $?"
                        """)
                    #expect(result.stdout == "\(command) 0\nrun 0\n", "\(result)")
                    #expect(!result.stderr.contains("still stopping") && !result.stderr.contains("it is running"), "\(result)")
                }
                let removed = try ContainerCLI.container(sandbox, "removed")
                #expect(removed == nil)
                // The start ran `true` again under a detached supervisor, which ends at once.
                let released = try ContainerCLI.eventually { try ContainerCLI.container(sandbox, "restarted")?["supervisorPid"] is NSNull }
                #expect(released)
                #expect(sandbox.berth(["rm", "restarted"]).succeeded)
                #expect(ContainerCLI.nothingRecorded(sandbox))
            }
        }
    }

    /// A set-up that hangs (held at run.start) used to swallow ^C: the SIGINT waited for a
    /// command to be passed to, and the run went on once the hang ended. Now it kills the
    /// held command and the launch fails and is undone.
    @Test("SIGINT to a foreground run whose set-up hangs ends it there: the command never runs and nothing is left")
    func interruptDuringSetUp() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                let marker = sandbox.stateDirectory + "/interrupt-reached"
                let ran = rootfs.path + "/tmp/ran"
                unlink(ran)
                let result = shell(sandbox, """
                    BERTH_FAILPOINT=run.start:hold BERTH_FAILPOINT_REACHED=\(marker) \
                      \(Command.berthBinary) run --name held --network none --rootfs \(rootfs.path) -- sh -c 'echo ran > /tmp/ran' &
                    run=$!
                    while [ ! -e \(marker) ]; do sleep 0.01; done
                    kill -INT $run
                    i=0
                    while kill -0 $run 2>/dev/null && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done
                    kill -0 $run 2>/dev/null && echo "still setting up"
                    rm -f \(marker)
                    wait $run; echo "run $?"
                    """)
                #expect(!result.stdout.contains("still setting up"), "\(result)")
                #expect(result.stdout.hasSuffix("run 125\n") && result.stderr.contains("was not started: its supervising process was told to end"), "\(result)")
                #expect(!FileManager.default.fileExists(atPath: ran), "the command ran after the ^C")
                #expect(ContainerCLI.nothingRecorded(sandbox))
            }
        }
    }

    @Test("wait returns once the supervisor has released the container, so rm right after it succeeds")
    func waitThenRemove() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                let marker = sandbox.stateDirectory + "/release-reached"
                // The end is recorded; the supervisor holds before releasing the network. A wait
                // begun then must not return yet; once released, it prints 3 and rm works.
                let result = shell(sandbox, """
                    BERTH_FAILPOINT=supervise.release:hold BERTH_FAILPOINT_REACHED=\(marker) \
                      \(Command.berthBinary) run --name ender --rootfs \(rootfs.path) -p 7410:70 -- sh -c 'exit 3' >/dev/null 2>&1 &
                    run=$!
                    while [ ! -e \(marker) ]; do sleep 0.01; done
                    \(Command.berthBinary) wait ender > \(sandbox.stateDirectory)/waited &
                    waiter=$!
                    sleep 0.5
                    kill -0 $waiter 2>/dev/null && echo "waiting"
                    rm \(marker)
                    wait $waiter; echo "wait $? $(cat \(sandbox.stateDirectory)/waited)"
                    \(Command.berthBinary) rm ender; echo "rm $?"
                    wait $run; echo "run $?"
                    """)
                #expect(result.stdout == "waiting\nwait 0 3\nender\nrm 0\nrun 3\n", "\(result)")
                #expect(ContainerCLI.nothingRecorded(sandbox))
                #expect(ContainerCLI.vethsGone(sandbox))
            }
        }
    }

    @Test("kill -s HUP of a container waiting to restart is refused (no command to take it), as Docker; kill ends the wait for good")
    func killWhileRestarting() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                try #require(sandbox.berth(["run", "-d", "--name", "flaky", "--restart", "always", "--network", "none", "--rootfs", rootfs.path,
                                            "--", "sh", "-c", "exit 3"]).succeeded)
                // The kills below land in its back-off.
                _ = try waitingToRestart(sandbox, "flaky")
                let hup = sandbox.berth(["kill", "-s", "HUP", "flaky"])
                #expect(hup.status == 1 && hup.stderr.hasPrefix("berth: container flaky is restarting: wait until it runs"), "\(hup)")
                let killed = sandbox.berth(["kill", "flaky"])
                #expect(killed.status == 0 && killed.stdout == "flaky\n", "\(killed)")
                #expect(try ContainerCLI.container(sandbox, "flaky")?["status"] as? String == "exited")
                #expect(sandbox.berth(["rm", "flaky"]).succeeded)
                #expect(ContainerCLI.nothingRecorded(sandbox))
            }
        }
    }

    @Test("gc of a container whose supervisor died while it waited to restart keeps the status of its last end, not 255")
    func restartingOrphanKeepsStatus() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                try #require(sandbox.berth(["run", "-d", "--name", "flaky", "--restart", "on-failure", "--network", "none", "--rootfs", rootfs.path,
                                            "--", "sh", "-c", "exit 3"]).succeeded)
                // Time enough to kill the supervisor while it waits.
                let pid = try #require(try waitingToRestart(sandbox, "flaky")["supervisorPid"] as? Int)
                #expect(kill(pid_t(pid), SIGKILL) == 0)
                #expect(ContainerCLI.eventually { !ContainerCLI.isRunning(pid: pid) })
                let gc = sandbox.berth(["gc"])
                #expect(gc.status == 0, "\(gc)")
                let row = try #require(try ContainerCLI.container(sandbox, "flaky"))
                #expect(row["status"] as? String == "exited" && row["exitCode"] as? Int == 3, "\(row)")
                let waited = sandbox.berth(["wait", "flaky"])
                #expect(waited.stdout == "3\n", "\(waited)")
                #expect(sandbox.berth(["rm", "flaky"]).succeeded)
                #expect(ContainerCLI.nothingRecorded(sandbox))
            }
        }
    }
}
