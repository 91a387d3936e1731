import BerthTestSupport
import Foundation
import Testing

/// `berth run … | head -1` with an endless producer ends as the shell pipeline would: once
/// the reader of berth's stdout is gone, the command's own stdout pipe closes and its next
/// write fails, as under `docker run`. A container's command is PID 1 of its namespace, to
/// which the kernel does not deliver a SIGPIPE it has no handler for: its write fails with
/// EPIPE and busybox's yes exits 1, as it would under Docker; an exec'd command is not PID 1
/// and dies of the SIGPIPE (141).
@Suite("berth run/exec into a closed pipe (kernel)", .enabled(if: try KernelTests.enabled))
struct BrokenPipeRunCLITests {
    private static func quote(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// `berth ARGS | head -1` in bash, berth stopped after 60 s (SIGTERM, SIGKILL 5 s later: status 124 or 137) if it never ends:
    /// head's line, berth's status, and berth's stderr (through a file: a berth left running
    /// must not hold this process's pipes).
    private func headed(_ sandbox: HostSandbox, _ args: [String]) -> (result: CommandResult, errors: String) {
        let errors = NSTemporaryDirectory() + "berth-head-\(KernelTests.uniqueSuffix())"
        defer { try? FileManager.default.removeItem(atPath: errors) }
        let line = sandbox.berthArguments(args).map(Self.quote).joined(separator: " ")
        let result = Command.run(["bash", "-c", "timeout -k 5 60 \(line) 2>\(Self.quote(errors)) | head -1; echo \"status ${PIPESTATUS[0]}\""],
                                 environment: sandbox.berthEnvironment())
        return (result, (try? String(contentsOfFile: errors, encoding: .utf8)) ?? "")
    }

    @Test("run yes | head -1 ends (EPIPE: yes exits 1); exec yes | head -1 ends by SIGPIPE (141); a detached container keeps running, its log growing")
    func headEndsIt() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs(applets: ["yes"]) { rootfs in
                let (run, runErrors) = headed(sandbox, ["run", "--rm", "--network", "none", "--rootfs", rootfs.path, "--", "yes"])
                #expect(run.status == 0 && run.stdout == "y\nstatus 1\n" && runErrors.contains("Broken pipe"), "\(run) \(runErrors)")
                #expect(sandbox.berth(["run", "-d", "--name", "endless", "--network", "none", "--rootfs", rootfs.path, "--",
                                       "sh", "-c", "while true; do echo tick; sleep 0.1; done"]).status == 0)
                defer { sandbox.berth(["rm", "-f", "endless"]) }
                let (exec, execErrors) = headed(sandbox, ["exec", "endless", "yes"])
                #expect(exec.status == 0 && exec.stdout == "y\nstatus 141\n", "\(exec) \(execErrors)")
                // The detached container has no sink to lose: it runs on, logging.
                let logged = sandbox.berth(["logs", "endless"]).stdout.count
                #expect(ContainerCLI.eventually { sandbox.berth(["logs", "endless"]).stdout.count > logged })
                let status = try ContainerCLI.container(sandbox, "endless")?["status"] as? String
                #expect(status == "running")
            }
        }
    }
}
