import BerthCore
import BerthTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `berth kill` and `berth wait` through the built binary, as `docker kill` and `docker wait`.
@Suite("berth kill and wait (kernel)", .enabled(if: try KernelTests.enabled))
struct KillWaitCLITests {
    @Test("kill sends SIGKILL by default and returns once stopped (exit 137), without a restart; wait prints each status; a stopped container cannot be killed")
    func killAndWait() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                try #require(sandbox.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"]).succeeded)
                try #require(sandbox.berth(["run", "-d", "--name", "busy", "--restart", "always", "--rootfs", rootfs.path, "-p", "7300:70",
                                            "--", "sleep", "1000"]).succeeded)
                let killed = sandbox.berth(["kill", "busy"])
                #expect(killed.status == 0 && killed.stdout == "busy\n", "\(killed)")
                // Stopped when kill returns, and not restarted by --restart always.
                let record = try #require(try ContainerCLI.container(sandbox, "busy"))
                #expect(record["status"] as? String == "exited" && record["exitCode"] as? Int == 137, "\(record)")
                #expect(ContainerCLI.vethsGone(sandbox))
                #expect(!ContainerCLI.ruleset(sandbox).contains("7300"))
                Thread.sleep(forTimeInterval: 0.3)
                #expect(try ContainerCLI.container(sandbox, "busy")?["status"] as? String == "exited")

                let again = sandbox.berth(["kill", "busy"])
                #expect(again.status == 1 && again.stderr.hasPrefix("berth: container busy is not running"), "\(again)")
                let unknown = sandbox.berth(["kill", "nosuch"])
                #expect(unknown.status == 1, "\(unknown)")
                let bad = sandbox.berth(["kill", "-s", "FOO", "busy"])
                #expect(bad.status == 64 && bad.stderr.hasPrefix("berth: invalid signal FOO"), "\(bad)")

                // wait: a stopped container's status at once; a running one's when it ends.
                let stopped = ContainerCLI.bounded(sandbox, ["wait", "busy"])
                #expect(stopped.status == 0 && stopped.stdout == "137\n", "\(stopped)")
                try #require(sandbox.berth(["run", "-d", "--name", "brief", "--rootfs", rootfs.path, "--", "sh", "-c", "sleep 0.5; exit 3"]).succeeded)
                let waited = ContainerCLI.bounded(sandbox, ["wait", "brief", "busy"])
                #expect(waited.status == 0 && waited.stdout == "3\n137\n", "\(waited)")

                // Another signal is only sent: a command that traps it ends as it chooses.
                try #require(sandbox.berth(["run", "-d", "--name", "trap", "--rootfs", rootfs.path, "--",
                                            "sh", "-c", "trap 'exit 7' USR1; echo ready; while :; do sleep 0.05; done"]).succeeded)
                // PID 1 ignores a signal it has no handler for: send it once the trap is set.
                try #require(ContainerCLI.ready(sandbox, "trap"), "\(sandbox.berth(["logs", "trap"]))")
                let usr1 = sandbox.berth(["kill", "--signal", "SIGUSR1", "trap"])
                #expect(usr1.status == 0 && usr1.stdout == "trap\n", "\(usr1)")
                let trapped = ContainerCLI.bounded(sandbox, ["wait", "trap"])
                #expect(trapped.status == 0 && trapped.stdout == "7\n", "\(trapped)")

                // A --rm container's status outlives its row, for a wait begun before its end
                // (docker run -d --rm; docker wait), as Docker's daemon keeps it for its waiters.
                // It ends once the test sees the wait under way.
                try #require(sandbox.berth(["run", "-d", "--rm", "--name", "gone", "--rootfs", rootfs.path, "--",
                                            "sh", "-c", "while [ ! -e /tmp/end-gone ]; do sleep 0.05; done; exit 5"]).succeeded)
                let gone = try Waiter(sandbox, "gone")
                #expect(gone.waiting(), "the wait never got under way")
                try #require(FileManager.default.createFile(atPath: rootfs.path + "/tmp/end-gone", contents: nil))
                let removed = gone.result()
                #expect(removed.status == 0 && removed.stdout == "5\n", "\(removed)")
                #expect(sandbox.berth(["ps", "-aq"]).stdout.split(separator: "\n").count == 3, "the --rm container is gone")

                // A signal the command handles leaves its restart policy as it was: HUP ends this
                // one with 1, and --restart always starts it again; a kill then ends it for good.
                try #require(sandbox.berth(["run", "-d", "--name", "reload", "--restart", "always", "--rootfs", rootfs.path, "--",
                                            "sh", "-c", "trap 'exit 1' HUP; echo ready; while :; do sleep 0.05; done"]).succeeded)
                try #require(ContainerCLI.ready(sandbox, "reload"), "\(sandbox.berth(["logs", "reload"]))")
                #expect(sandbox.berth(["kill", "-s", "HUP", "reload"]).succeeded)
                #expect(ContainerCLI.eventually {
                    let record = try? ContainerCLI.container(sandbox, "reload")
                    return (record?["restartCount"] as? Int ?? 0) >= 1 && record?["status"] as? String == "running"
                }, "\(String(describing: try? ContainerCLI.container(sandbox, "reload")))")
                #expect(sandbox.berth(["kill", "reload"]).succeeded)
                #expect(try ContainerCLI.container(sandbox, "reload")?["status"] as? String == "exited")

                // An orphan (its supervisor killed) whose command still runs is killed and recorded.
                try #require(sandbox.berth(["run", "-d", "--name", "orphan", "--rootfs", rootfs.path, "-p", "7301:70", "--", "sleep", "1000"]).succeeded)
                let supervisor = try #require(try ContainerCLI.container(sandbox, "orphan")?["supervisorPid"] as? Int)
                kill(pid_t(supervisor), SIGKILL)
                #expect(ContainerCLI.eventually { kill(pid_t(supervisor), 0) != 0 })
                let orphan = sandbox.berth(["kill", "orphan"])
                #expect(orphan.status == 0, "\(orphan)")
                let reaped = try #require(try ContainerCLI.container(sandbox, "orphan"))
                #expect(reaped["status"] as? String == "exited" && reaped["exitCode"] as? Int == 137, "\(reaped)")
                #expect(!ContainerCLI.ruleset(sandbox).contains("7301"))

                // A wait begun before rm -f gets the status of the kill that removal made.
                try #require(sandbox.berth(["run", "-d", "--name", "doomed", "--rootfs", rootfs.path, "--", "sleep", "1000"]).succeeded)
                let waiter = try Waiter(sandbox, "doomed")
                #expect(waiter.waiting(), "the wait never got under way")
                #expect(sandbox.berth(["rm", "-f", "doomed"]).succeeded)
                let printed = waiter.result()
                #expect(printed.status == 0 && printed.stdout == "137\n", "\(printed)")

                #expect(sandbox.berth(["rm", "busy", "brief", "trap", "reload", "orphan"]).succeeded)
                #expect(ContainerCLI.nothingRecorded(sandbox))
            }
        }
    }
}

/// A `berth wait NAME` run in the background, for a test that must end the container only
/// once the wait is under way (its first read of the row made), which a fixed sleep cannot
/// promise on a loaded machine. Killed (SIGTERM) after 60 s, a bound against a hang.
private final class Waiter {
    let process: Process
    let pipe: Pipe
    let watchdog: DispatchWorkItem

    init(_ sandbox: HostSandbox, _ name: String) throws {
        let process = Process(), pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // nsenter without --fork executes berth in its own process: the pid is berth's.
        process.arguments = sandbox.berthArguments(["wait", name])
        process.environment = ProcessInfo.processInfo.environment.merging(sandbox.berthEnvironment()) { _, new in new }
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGTERM) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        (self.process, self.pipe, self.watchdog) = (process, pipe, watchdog)
    }

    /// Whether the wait reached its polling sleep (it sleeps only after it found the
    /// container): the kernel's wait channel of berth says nanosleep. False after 30 s.
    func waiting() -> Bool {
        let pid = process.processIdentifier
        return Poll.wait(seconds: 30) {
            guard let channel = try? String(contentsOfFile: "/proc/\(pid)/wchan", encoding: .utf8),
                  let command = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) else { return false }
            return command.hasPrefix("berth") && channel.contains("nanosleep")
        }
    }

    /// The wait's exit status and what it printed, once it ended.
    func result() -> (status: Int32, stdout: String) {
        let printed = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        watchdog.cancel()
        return (process.terminationStatus, printed)
    }
}
