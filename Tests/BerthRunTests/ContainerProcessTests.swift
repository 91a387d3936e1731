import BerthConfine
import BerthCore
import BerthNamespace
import BerthRun
import BerthTestSupport
import Foundation
import Testing

@Suite("ContainerProcess (kernel)", .enabled(if: try KernelTests.enabled))
struct ContainerProcessKernelTests {
    @Test("exit codes and signals come back as docker reports them")
    func exitCodes() throws {
        try withRootfs { rootfs in
            let seven = try run(ContainerSpec(command: ["sh", "-c", "exit 7"], rootfs: rootfs.path))
            #expect(seven.status == .exited(7))
            #expect(seven.status.code == 7)
            let falseStatus = try run(ContainerSpec(command: ["false"], rootfs: rootfs.path))
            #expect(falseStatus.status == .exited(1))

            let sleeper = try ContainerProcess.spawn(ContainerSpec(command: ["sleep", "60"], rootfs: rootfs.path))
            try sleeper.start()
            try sleeper.signal(SIGKILL)
            let killed = try sleeper.wait()
            #expect(killed == .signaled(SIGKILL))
            #expect(killed.code == 137)
            // The process is reaped: a later signal is refused, never sent to a reused pid.
            #expect(throws: BerthError.self) { try sleeper.signal(SIGTERM) }
        }
    }

    @Test("release without waiting for the exec (a start's bounded wait under the state lock), then awaitExec: the command runs; an exec that fails is reported by awaitExec and nothing is left")
    func releaseThenAwaitExec() throws {
        try withRootfs { rootfs in
            let child = try ContainerProcess.spawn(ContainerSpec(command: ["sh", "-c", "exit 4"], rootfs: rootfs.path))
            // No wait at all: the exec may or may not have reported yet; awaitExec finishes it.
            if try !child.release(waitingAtMost: .zero) { try child.awaitExec() }
            try child.awaitExec()                     // reported already: returns at once
            #expect(try child.wait() == .exited(4))

            // Executable but no program the kernel can run: exec fails after the release.
            try "not a program\n".write(toFile: rootfs.path + "/bin/garbage", atomically: true, encoding: .utf8)
            chmod(rootfs.path + "/bin/garbage", 0o755)
            let failing = try ContainerProcess.spawn(ContainerSpec(command: ["/bin/garbage"], rootfs: rootfs.path))
            let failed: BerthError? = {
                do throws(BerthError) {
                    if try !failing.release(waitingAtMost: .zero) { try failing.awaitExec() }
                    return nil
                } catch {
                    return error
                }
            }()
            #expect(failed != nil, "the exec of a file that is no program must fail")
            #expect(throws: BerthError.self) { try failing.signal(0) }   // reaped: nothing left
        }
    }

    @Test("the command is PID 1 of its own pid namespace and ps sees only it")
    func pidNamespace() throws {
        try withRootfs { rootfs in
            let result = try run(ContainerSpec(command: ["ps"], rootfs: rootfs.path))
            #expect(result.status == .exited(0))
            let rows = result.output.split(separator: "\n").dropFirst().map { $0.split(separator: " ") }
            #expect(rows.count == 1, "ps output: \(result.output)")
            #expect(rows.first?.first == "1")
            #expect(rows.first?.last == "ps")
        }
    }

    @Test("the hostname is set in the container's UTS namespace only")
    func hostname() throws {
        try withRootfs { rootfs in
            let ours = ProcessInfo.processInfo.hostName
            let result = try run(ContainerSpec(command: ["hostname"], hostname: "berth-box", rootfs: rootfs.path))
            #expect(result.output == "berth-box\n")
            #expect(ProcessInfo.processInfo.hostName == ours)
        }
    }

    @Test("a new network namespace has only lo, seen through /proc/net/dev")
    func networkIsolation() throws {
        try withRootfs { rootfs in
            let result = try run(ContainerSpec(command: ["cat", "/proc/net/dev"], rootfs: rootfs.path))
            let interfaces = result.output.split(separator: "\n").dropFirst(2).compactMap { $0.split(separator: ":").first?.trimmingCharacters(in: .whitespaces) }
            #expect(interfaces == ["lo"], "\(result.output)")
        }
    }

    @Test("without a terminal the command still leads a session of its own: out of berth's process group, so a terminal's ^C and ^Z reach it only through berth")
    func ownSession() throws {
        try withRootfs { rootfs in
            let out = try OutputPipe()
            let child = try ContainerProcess.spawn(ContainerSpec(
                command: ["sh", "-c", "read -r pid comm state ppid pgrp session rest < /proc/1/stat; echo \"$pgrp $session\""],
                rootfs: rootfs.path, stdout: out.write))
            out.closeWrite()
            // Held before exec, it already left berth's session and process group.
            #expect(getsid(child.pid) == child.pid && getsid(child.pid) != getsid(0))
            #expect(getpgid(child.pid) == child.pid && getpgid(child.pid) != getpgrp())
            try child.start()
            #expect(out.readAll() == "1 1\n")
            #expect(try child.wait() == .exited(0))
        }
    }

    @Test("environment, default PATH and working directory are applied")
    func environmentAndWorkdir() throws {
        try withRootfs { rootfs in
            let result = try run(ContainerSpec(command: ["sh", "-c", "echo \"$GREETING|$PATH|$HOME|$(pwd)\""], rootfs: rootfs.path,
                                               environment: ["GREETING=first", "GREETING=hello world"], workingDirectory: "/tmp"))
            #expect(result.output == "hello world|\(ContainerSpec.defaultPath)|/root|/tmp\n")
        }
    }

    @Test("/dev is minimal and usable, /proc is fresh")
    func devAndProc() throws {
        try withRootfs { rootfs in
            let result = try run(ContainerSpec(command: ["sh", "-c", "echo x > /dev/null && ls /dev && cat /proc/1/cmdline"], rootfs: rootfs.path))
            #expect(result.status == .exited(0))
            let names = Set(result.output.split(separator: "\n").map(String.init))
            for device in ["null", "zero", "full", "random", "urandom", "pts", "shm", "ptmx", "fd"] {
                #expect(names.contains(device), "missing /dev/\(device) in \(result.output)")
            }
            // PID 1 is the container's command (the shell exec'd its last command, cat).
            #expect(result.output.hasSuffix("cat\u{0}/proc/1/cmdline\u{0}"))
        }
    }

    @Test("the child waits for start() before running its command")
    func waitsForStart() throws {
        try withRootfs { rootfs in
            let marker = rootfs.path + "/tmp/started"
            let child = try ContainerProcess.spawn(ContainerSpec(command: ["touch", "/tmp/started"], rootfs: rootfs.path))
            // Its network namespace is already there to be wired, and distinct from ours.
            let netns = try child.networkNamespace()
            #expect(try netns != NetworkNamespaceProbe.current())
            // Still the pre-exec image: this test binary, not busybox, with every signal
            // blocked (the child unblocks them only just before execve).
            let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(child.pid)/exe")
            #expect(exe == (try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")))
            let blocked = try #require(ProcStatus(pid: child.pid)?.mask("SigBlk"))
            for signal in [SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1] { #expect(blocked & (1 << (UInt64(signal) - 1)) != 0, "signal \(signal)") }
            #expect(!FileManager.default.fileExists(atPath: marker))
            try child.start()
            #expect(try child.wait() == .exited(0))
            #expect(FileManager.default.fileExists(atPath: marker))
        }
    }

    @Test("abort() kills a held child and reaps it: nothing is left")
    func abortLeavesNothing() throws {
        try withRootfs { rootfs in
            let marker = rootfs.path + "/tmp/ran"
            let child = try ContainerProcess.spawn(ContainerSpec(command: ["touch", "/tmp/ran"], rootfs: rootfs.path))
            let pid = child.pid
            #expect(childrenOfThisThread().contains(pid))
            child.abort()
            #expect(!childrenOfThisThread().contains(pid))
            #expect(kill(pid, 0) != 0)
            #expect(!FileManager.default.fileExists(atPath: marker))
            #expect(throws: BerthError.self) { try child.start() }
        }
    }

    @Test("a missing command is a clear error and leaves no process")
    func missingCommand() throws {
        try withRootfs { rootfs in
            let before = childrenOfThisThread()
            let error = try #require(throws: BerthError.self) {
                try ContainerProcess.spawn(ContainerSpec(command: ["no-such-program"], rootfs: rootfs.path))
            }
            #expect(error.code == .notFound)
            #expect(error.message.contains("no-such-program"))
            #expect(error.message.contains(rootfs.path))
            #expect(childrenOfThisThread() == before)

            let byPath = try #require(throws: BerthError.self) {
                try ContainerProcess.spawn(ContainerSpec(command: ["/bin/nope"], rootfs: rootfs.path))
            }
            #expect(byPath.code == .notFound)
            #expect(childrenOfThisThread() == before)
        }
    }

    @Test("a missing working directory is created inside the rootfs (0755, by root, before the user switch); one under a file is a clear error and leaves no process")
    func workdir() throws {
        try withRootfs { rootfs in
            let created = try run(ContainerSpec(command: ["sh", "-c", "pwd; id -u"], rootfs: rootfs.path, workingDirectory: "/does/not/exist", user: "1000"))
            #expect(created.status == .exited(0), "\(created)")
            #expect(created.output == "/does/not/exist\n1000\n")
            var st = stat()
            #expect(stat(rootfs.path + "/does/not/exist", &st) == 0)
            #expect(st.st_uid == 0 && st.st_mode & 0o7777 == 0o755)

            let before = childrenOfThisThread()
            let error = try #require(throws: BerthError.self) {
                try ContainerProcess.spawn(ContainerSpec(command: ["true"], rootfs: rootfs.path, workingDirectory: "/bin/busybox/sub"))
            }
            #expect(error.code == .notFound)
            #expect(error.message.contains("/bin/busybox/sub"))
            #expect(childrenOfThisThread() == before)
        }
    }

    @Test("a program that cannot be executed fails at start() and leaves no process")
    func execFailure() throws {
        try withRootfs { rootfs in
            // Executable, but not a program the kernel can load.
            let path = rootfs.path + "/bin/garbage"
            try Data([0x00, 0x01, 0x02, 0x03]).write(to: URL(fileURLWithPath: path))
            chmod(path, 0o755)
            let before = childrenOfThisThread()
            let child = try ContainerProcess.spawn(ContainerSpec(command: ["garbage"], rootfs: rootfs.path))
            let error = try #require(throws: BerthError.self) { try child.start() }
            #expect(error.message.contains("garbage"))
            #expect(childrenOfThisThread() == before)
        }
    }

    /// The command is looked up as root, before the user switch (access(X_OK) passes for
    /// root with any execute bit): a program only root may run is found, and the kernel
    /// refuses it to the user at execve — without CAP_DAC_OVERRIDE (`--cap-drop ALL`: with
    /// Docker's set the user's execve passes on it, as in Docker). That is said as such,
    /// naming the user; on PATH the search goes on past it, as execvp's, and a later
    /// candidate runs.
    @Test("a program the user may not execute: permission denied to that user, and on PATH the next candidate runs, as execvp")
    func execRefusedToUser() throws {
        try withRootfs { rootfs in
            let fm = FileManager.default
            try fm.createDirectory(atPath: rootfs.path + "/first", withIntermediateDirectories: true)
            for (path, text, mode) in [("/first/tool", "first", 0o700), ("/bin/tool", "second", 0o755), ("/bin/private", "private", 0o700)] {
                try "#!/bin/sh\necho \(text)\n".write(toFile: rootfs.path + path, atomically: false, encoding: .utf8)
                chmod(rootfs.path + path, mode_t(mode))
            }
            let before = childrenOfThisThread()
            let noCapabilities = Confinement(capabilities: .none)
            let child = try ContainerProcess.spawn(ContainerSpec(command: ["private"], rootfs: rootfs.path, user: "1000", confinement: noCapabilities))
            let error = try #require(throws: BerthError.self) { try child.start() }
            #expect(error.code == .permissionDenied && error.parameter == "command", "\(error)")
            #expect(error.message == "cannot execute \"private\": permission denied to user 1000", "\(error)")
            #expect(error.hint?.contains("execute permission") == true, "\(error)")
            #expect(childrenOfThisThread() == before)

            // /first/tool is found first (root may run it); uid 1000 gets /bin/tool.
            let searched = try run(ContainerSpec(command: ["tool"], rootfs: rootfs.path, environment: ["PATH=/first:/bin"], user: "1000",
                                                 confinement: noCapabilities))
            #expect(searched.status == .exited(0) && searched.output == "second\n", "\(searched)")
            let asRoot = try run(ContainerSpec(command: ["tool"], rootfs: rootfs.path, environment: ["PATH=/first:/bin"]))
            #expect(asRoot.output == "first\n", "\(asRoot)")
        }
    }

    /// The user switch happens after the release: its failure comes back from start(), and
    /// still names the user (a filter refusing setresuid makes it fail).
    @Test("a user switch that fails names the user")
    func userSwitchFailureNamesUser() throws {
        try withRootfs { rootfs in
            let root = rootfs.path
            let outcome = onThreadRefusing([SystemCall.setresuid]) { () -> String in
                do {
                    let ran = try run(ContainerSpec(command: ["true"], rootfs: root, user: "1000:1000"))
                    return "ran: \(ran.status)"
                } catch {
                    return (error as? BerthError)?.message ?? "\(error)"
                }
            }
            let message = try #require(outcome, "could not install a filter refusing setresuid on a thread")
            #expect(message.hasPrefix("switch to user 1000:1000"), "\(message)")
        }
    }

    @Test("a missing root filesystem is refused before anything starts")
    func missingRootfs() throws {
        let before = childrenOfThisThread()
        let error = try #require(throws: BerthError.self) {
            try ContainerProcess.spawn(ContainerSpec(command: ["sh"], rootfs: "/nonexistent/berth-rootfs-\(UUID().uuidString)"))
        }
        #expect(error.code == .notFound)
        #expect(error.message.contains("/nonexistent/berth-rootfs-"))
        #expect(childrenOfThisThread() == before)
    }

    @Test("without a rootfs the host files stay, /proc is the container's own")
    func noRootfs() throws {
        let result = try run(ContainerSpec(command: ["/bin/busybox", "sh", "-c", "echo $$; hostname; /bin/busybox ps"], hostname: "hostfs"))
        #expect(result.status == .exited(0))
        let lines = result.output.split(separator: "\n").map(String.init)
        #expect(Array(lines.prefix(2)) == ["1", "hostfs"], "\(result.output)")
        // ps reads the fresh /proc: the shell as PID 1 and its own few children, no host process.
        let pids = lines.dropFirst(3).compactMap { $0.split(separator: " ").first.flatMap { Int32($0) } }
        #expect(pids.contains(1))
        #expect(!pids.isEmpty && pids.allSatisfy { $0 < 10 }, "\(result.output)")
        // The caller's /proc is untouched.
        #expect(FileManager.default.fileExists(atPath: "/proc/\(getpid())"))
    }

    @Test("enter runs a command inside a running container's namespaces")
    func enter() throws {
        try withRootfs { rootfs in
            let container = try ContainerProcess.spawn(ContainerSpec(command: ["sleep", "60"], hostname: "entered", rootfs: rootfs.path))
            try container.start()
            defer {
                try? container.signal(SIGKILL)
                _ = try? container.wait()
            }
            let out = try OutputPipe()
            let inside = try ContainerProcess.enter(pid: container.pid, command: ["sh", "-c", "hostname; cat /proc/1/cmdline; echo; echo $$"], stdout: out.write)
            out.closeWrite()
            let output = out.readAll()
            #expect(try inside.wait() == .exited(0))
            let lines = output.split(separator: "\n").map(String.init)
            #expect(lines.first == "entered")
            #expect(lines.dropFirst().first == "sleep\u{0}60\u{0}")
            // Born in the container's pid namespace: a small pid there, not ours.
            #expect(lines.last.flatMap { Int32($0) }.map { $0 > 1 && $0 != inside.pid } == true, "\(output)")

            let missing = try #require(throws: BerthError.self) {
                try ContainerProcess.enter(pid: container.pid, command: ["no-such-tool"])
            }
            #expect(missing.code == .notFound)

            // A pid reused by another process: its start time differs, and nothing is entered.
            let identity = try #require(ProcessIdentity.of(pid: container.pid))
            let out2 = try OutputPipe()
            let same = try ContainerProcess.enter(pid: container.pid, startTime: identity.startTime, command: ["hostname"], stdout: out2.write)
            #expect(out2.readAll() == "entered\n")
            #expect(try same.wait() == .exited(0))
            let reused = try #require(throws: BerthError.self) {
                try ContainerProcess.enter(pid: container.pid, startTime: identity.startTime + 1, command: ["true"])
            }
            #expect(reused.code == .notFound)
            #expect(reused.message.contains("no longer the one that was started"), "\(reused.message)")
        }
    }
    @Test("dropping a held child's handle kills and reaps it")
    func deinitKillsHeldChild() throws {
        try withRootfs { rootfs in
            var pid: Int32 = 0
            do {
                let child = try ContainerProcess.spawn(ContainerSpec(command: ["touch", "/tmp/ran"], rootfs: rootfs.path))
                pid = child.pid
                #expect(childrenOfThisThread().contains(pid))
            }
            #expect(!childrenOfThisThread().contains(pid))
            #expect(!FileManager.default.fileExists(atPath: rootfs.path + "/tmp/ran"))
        }
    }

    @Test("--network host: without .network the container shares the caller's network namespace")
    func hostNetwork() throws {
        try withRootfs { rootfs in
            let child = try ContainerProcess.spawn(ContainerSpec(command: ["true"], namespaces: [.uts, .ipc, .pid, .mount], rootfs: rootfs.path))
            defer { child.abort() }
            #expect(try child.networkNamespace() == NetworkNamespaceProbe.current())
        }
    }

    @Test("PID 1 ignores SIGTERM it does not handle; SIGKILL ends it (what berth stop must do)")
    func pidOneSignals() throws {
        try withRootfs { rootfs in
            let child = try ContainerProcess.spawn(ContainerSpec(command: ["sleep", "60"], rootfs: rootfs.path))
            try child.start()
            // Once exec'd (its image is sleep's), it has no handler for SIGTERM.
            let status = try #require(ProcStatus(pid: child.pid))
            #expect(status.mask("SigCgt").map { $0 & (1 << (UInt64(SIGTERM) - 1)) } == 0)
            try child.signal(SIGTERM)
            // The kernel drops a signal its namespace's init does not handle when it is sent:
            // nothing is pending and the process is not dying. (A delivered fatal signal
            // would have queued SIGKILL on it before signal() returned.)
            let after = try #require(ProcStatus(pid: child.pid))
            #expect(after.mask("SigPnd") == 0 && after.mask("ShdPnd") == 0, "\(after.fields)")
            #expect(after.fields["State"].map { !$0.hasPrefix("Z") && !$0.hasPrefix("X") } == true, "\(after.fields)")
            try child.signal(SIGKILL)
            #expect(try child.wait() == .signaled(SIGKILL))
        }
    }
    @Test("root in the container keeps Docker's default capabilities unless privileged")
    func capabilities() throws {
        try withRootfs { rootfs in
            let command = ["sh", "-c", "while read k v; do case $k in CapEff:|CapBnd:|CapAmb:) echo $k$v;; esac; done < /proc/self/status"]
            let limited = try run(ContainerSpec(command: command, rootfs: rootfs.path))
            #expect(limited.output == "CapEff:00000000a80425fb\nCapBnd:00000000a80425fb\nCapAmb:0000000000000000\n")
            let privileged = try run(ContainerSpec(command: command, rootfs: rootfs.path, privileged: true))
            #expect(!privileged.output.contains("a80425fb"), "\(privileged.output)")
        }
    }
}

/// A process's /proc/PID/status, field by field.
struct ProcStatus {
    let fields: [String: String]

    init?(pid: Int32) {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        self.fields = fields
    }

    /// A signal mask field (SigBlk, SigCgt, SigPnd, ShdPnd): bit n - 1 is signal n.
    func mask(_ name: String) -> UInt64? {
        fields[name].flatMap { UInt64($0, radix: 16) }
    }
}

/// The test process's own network namespace, for comparison.
enum NetworkNamespaceProbe {
    static func current() throws -> BerthNamespace.NetworkNamespace { try BerthNamespace.NetworkNamespace.current() }
}
