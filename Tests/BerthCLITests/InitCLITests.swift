import BerthTestSupport
import Foundation
import Testing

/// `berth run --init`, as `docker run --init`: PID 1 is Berth's init (`berth-init`), which
/// reaps orphans, forwards signals to the command and exits with its status. Each test
/// also runs the same thing without --init where that shows the difference, so a test that
/// passed without the init doing its work would fail there.
@Suite("berth run --init (kernel)", .enabled(if: try KernelTests.enabled))
struct InitCLITests {
    /// The applets the commands below use, beside withRunRootfs's.
    static let applets = ["kill", "printf"]

    private func exitCode(_ sandbox: HostSandbox, _ name: String) throws -> Int? {
        try ContainerCLI.container(sandbox, name)?["exitCode"] as? Int
    }

    /// Fields 3 (state) and 4 (parent) of `/proc/PID/stat` inside the container NAME
    /// (through `berth exec`), nil when there is no such process (reaped).
    private func stat(_ sandbox: HostSandbox, _ name: String, pid: String) -> (state: String, parent: String)? {
        let stat = sandbox.berth(["exec", name, "cat", "/proc/\(pid)/stat"])
        guard stat.succeeded, let close = stat.stdout.lastIndex(of: ")") else { return nil }
        let fields = stat.stdout[stat.stdout.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? (String(fields[0]), String(fields[1])) : nil
    }

    private func hostConfig(_ sandbox: HostSandbox, _ name: String) throws -> [String: Any] {
        let result = sandbox.berth(["inspect", name])
        let array = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]], "\(result)")
        return try #require(array.first?["HostConfig"] as? [String: Any], "\(result)")
    }

    /// A command that leaves an orphan: the subshell's `sleep 1000` outlives it and goes to
    /// PID 1 of the container; its pid (in the container) lands in the file $ORPHAN (one for
    /// each container: they share the root filesystem). The test then ends it with a kill.
    static let orphaning = ["sh", "-c", "(sleep 1000 & echo $! > $ORPHAN.tmp; mv $ORPHAN.tmp $ORPHAN); exec sleep 1000"]

    @Test("--init reaps an orphan once it ends; without it the orphan stays a zombie of the command's")
    func reapsOrphans() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs(applets: Self.applets + ["mv"]) { rootfs in
                for (name, initFlag) in [("reaping", ["--init"]), ("plain", [])] {
                    try #require(sandbox.berth(["run", "-d", "--name", name, "--network", "none", "-e", "ORPHAN=/tmp/orphan-" + name] + initFlag
                                               + ["--rootfs", rootfs.path, "--"] + Self.orphaning).succeeded)
                }
                var orphans: [String: String] = [:]
                for name in ["reaping", "plain"] {
                    try #require(ContainerCLI.eventually { sandbox.berth(["exec", name, "cat", "/tmp/orphan-" + name]).succeeded })
                    let pid = sandbox.berth(["exec", name, "cat", "/tmp/orphan-" + name]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                    // An orphan indeed, alive, PID 1's child (its subshell has ended).
                    let alive = stat(sandbox, name, pid: pid)
                    #expect(alive?.state == "S" && alive?.parent == "1", "orphan \(pid) in \(name): \(String(describing: alive))")
                    #expect(sandbox.berth(["exec", name, "kill", pid]).succeeded)
                    orphans[name] = pid
                }
                let reaped = try #require(orphans["reaping"]), zombie = try #require(orphans["plain"])
                // Under the init, the orphan is gone once it has ended: reaped, no zombie left.
                #expect(ContainerCLI.eventually { stat(sandbox, "reaping", pid: reaped) == nil },
                        "orphan \(reaped): \(String(describing: stat(sandbox, "reaping", pid: reaped)))")
                // Without, PID 1 is the command (sleep), which never waits: the orphan stays a zombie.
                #expect(ContainerCLI.eventually { stat(sandbox, "plain", pid: zombie)?.state == "Z" },
                        "orphan \(zombie): \(String(describing: stat(sandbox, "plain", pid: zombie)))")
                // PID 1 is the init, named so, its command line `berth-init -- COMMAND`, not berth's.
                #expect(sandbox.berth(["exec", "reaping", "cat", "/proc/1/comm"]).stdout == "berth-init\n")
                let cmdline = sandbox.berth(["exec", "reaping", "cat", "/proc/1/cmdline"]).stdout
                #expect(cmdline.hasPrefix("berth-init\0--\0sh\0-c\0") && !cmdline.contains("--rootfs") && !cmdline.contains("_supervise"),
                        "\(cmdline.debugDescription)")
                #expect(sandbox.berth(["exec", "plain", "cat", "/proc/1/comm"]).stdout == "sleep\n")
                #expect(sandbox.berth(["rm", "-f", "reaping", "plain"]).succeeded)
                #expect(ContainerCLI.nothingRecorded(sandbox))
            }
        }
    }

    @Test("--init forwards stop's SIGTERM to a command with no handler (143); without it PID 1 ignores it and takes the SIGKILL (137); kept by start")
    func forwardsSignals() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs(applets: Self.applets) { rootfs in
                try #require(sandbox.berth(["run", "-d", "--name", "fwd", "--network", "none", "--init", "--rootfs", rootfs.path, "--", "sleep", "30"]).succeeded)
                #expect(ContainerCLI.bounded(sandbox, ["stop", "fwd"]).succeeded)
                #expect(try exitCode(sandbox, "fwd") == 143)
                #expect(try hostConfig(sandbox, "fwd")["Init"] as? Bool == true)

                // Kept with its settings: started again it has its init, which forwards a
                // signal sent inside the container to PID 1 as well.
                try #require(sandbox.berth(["start", "fwd"]).succeeded)
                #expect(sandbox.berth(["exec", "fwd", "cat", "/proc/1/comm"]).stdout == "berth-init\n")
                #expect(sandbox.berth(["exec", "fwd", "kill", "-TERM", "1"]).succeeded)
                let waited = ContainerCLI.bounded(sandbox, ["wait", "fwd"])
                #expect(waited.stdout == "143\n", "\(waited)")

                try #require(sandbox.berth(["run", "-d", "--name", "bare", "--network", "none", "--rootfs", rootfs.path, "--", "sleep", "30"]).succeeded)
                #expect(ContainerCLI.bounded(sandbox, ["stop", "-t", "1", "bare"]).succeeded)
                #expect(try exitCode(sandbox, "bare") == 137)
                // As Docker: no Init member without --init.
                #expect(try hostConfig(sandbox, "bare")["Init"] == nil)
                #expect(sandbox.berth(["rm", "fwd", "bare"]).succeeded)
            }
        }
    }

    /// The pid (on the host) of the command under the init of container NAME: the init's child.
    private func commandPid(_ sandbox: HostSandbox, _ name: String) throws -> (initPid: Int, command: Int) {
        let initPid = try #require(try ContainerCLI.container(sandbox, name)?["pid"] as? Int)
        let children = (try? String(contentsOfFile: "/proc/\(initPid)/task/\(initPid)/children", encoding: .utf8)) ?? ""
        return (initPid, try #require(children.split(separator: " ").first.flatMap { Int($0) }, "children of \(initPid): \(children)"))
    }

    @Test("--init: PID 1 is berth-init exec'd through a read-only view — dumpable, so a berth without CAP_SYS_PTRACE can exec into the container; its memory is not a copy of berth's; its command line is exactly `berth-init -- COMMAND`")
    func execdInit() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "setpriv (util-linux) is missing")
        try withHostSandbox { sandbox in
            try withRunRootfs(applets: Self.applets) { rootfs in
                try #require(sandbox.berth(["run", "-d", "--name", "pid1", "--network", "none", "--init", "--rootfs", rootfs.path, "--", "sleep", "300"]).succeeded)
                // berth as root in a container with docker's default capabilities: no
                // CAP_SYS_PTRACE (out of the bounding set, root's execve leaves it out of every
                // set). Opening /proc/PID/ns/* of a non-dumpable PID 1 (berth's forked image)
                // was refused then (EACCES).
                let lacking = Command.run(["setpriv", "--bounding-set", "-sys_ptrace", "--"] + sandbox.berthArguments(["exec", "pid1", "cat", "/proc/1/comm"]),
                                          environment: sandbox.berthEnvironment())
                #expect(lacking.succeeded && lacking.stdout == "berth-init\n", "\(lacking)")
                #expect(sandbox.berth(["exec", "pid1", "cat", "/proc/1/cmdline"]).stdout == "berth-init\0--\0sleep\0300\0")
                let (initPid, _) = try commandPid(sandbox, "pid1")
                // Its binary is a view no one can write through (read-only mount or sealed memfd).
                let exe = open("/proc/\(initPid)/exe", O_RDONLY | O_CLOEXEC)
                try #require(exe >= 0)
                defer { close(exe) }
                var fs = statvfs()
                let readOnly = fstatvfs(exe, &fs) == 0 && fs.f_flag & UInt(ST_RDONLY) != 0
                let sealed = fcntl(exe, 1034 /* F_GET_SEALS */) & 0x8 /* F_SEAL_WRITE */ != 0
                #expect(readOnly || sealed)
                // Its own small image's memory, not a copy of berth's anonymous memory (a
                // forked berth-init carried megabytes).
                let status = try String(contentsOfFile: "/proc/\(initPid)/status", encoding: .utf8)
                let anonymous = status.split(separator: "\n").first { $0.hasPrefix("RssAnon:") }
                    .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") }
                #expect((anonymous ?? .max) < 1024, "\(String(describing: anonymous)) kB")
                #expect(sandbox.berth(["rm", "-f", "pid1"]).succeeded)
            }
        }
    }

    /// Field 3 (state) and 5 (process group) of the host's /proc/PID/stat.
    private func hostStat(_ pid: Int) -> (state: String, group: Int)? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 2, let group = Int(fields[2]) else { return nil }
        return (String(fields[0]), group)
    }

    @Test("--init without -t: the command leads a process group of its own, as under tini (a `kill 0` of its never reaches the init), not orphaned: a SIGTSTP passed on stops it, SIGCONT resumes it")
    func commandGroup() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs(applets: Self.applets) { rootfs in
                try #require(sandbox.berth(["run", "-d", "--name", "grp", "--network", "none", "--init", "--rootfs", rootfs.path, "--", "sleep", "300"]).succeeded)
                let (initPid, command) = try commandPid(sandbox, "grp")
                let commandStat = try #require(hostStat(command))
                let initStat = try #require(hostStat(initPid))
                #expect(commandStat.group == command && initStat.group != command, "init \(initStat), command \(commandStat)")
                // In the init's group, which has no parent in its session (the supervisor is in
                // another), a SIGTSTP's stop was discarded (an orphaned group's).
                #expect(sandbox.berth(["kill", "-s", "TSTP", "grp"]).succeeded)
                #expect(ContainerCLI.eventually { hostStat(command)?.state == "T" }, "\(String(describing: hostStat(command)))")
                #expect(sandbox.berth(["kill", "-s", "CONT", "grp"]).succeeded)
                #expect(ContainerCLI.eventually { hostStat(command)?.state == "S" }, "\(String(describing: hostStat(command)))")
                #expect(sandbox.berth(["rm", "-f", "grp"]).succeeded)
            }
        }
    }

    @Test("--init exits with the command's status: its code, or 128+N for signal N")
    func passesStatus() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs(applets: Self.applets) { rootfs in
                let base = ["run", "--rm", "--network", "none", "--init", "--rootfs", rootfs.path, "--"]
                #expect(sandbox.berth(base + ["sh", "-c", "exit 3"]).status == 3)
                #expect(sandbox.berth(base + ["sh", "-c", "echo out; echo err >&2"]).stdout == "out\n")
                // Killed: SIGKILL a PID 1 would ignore from inside its own namespace ends the
                // command under the init.
                #expect(sandbox.berth(base + ["sh", "-c", "kill -KILL $$"]).status == 137)
                #expect(ContainerCLI.nothingRecorded(sandbox))
            }
        }
    }

    @Test("--init: a command not found or not executable fails as without it (127, 126, the same message)")
    func execFailure() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs(applets: Self.applets) { rootfs in
                // Found (a regular, executable file) but refused by execve: reported from the
                // command's process, under the init.
                try "not a program\n".write(toFile: rootfs.path + "/bin/broken", atomically: true, encoding: .utf8)
                chmod(rootfs.path + "/bin/broken", 0o755)
                for (command, status) in [("nosuch", 127), ("broken", 126)] {
                    let plain = sandbox.berth(["run", "--rm", "--network", "none", "--rootfs", rootfs.path, "--", command])
                    let withInit = sandbox.berth(["run", "--rm", "--network", "none", "--init", "--rootfs", rootfs.path, "--", command])
                    #expect(plain.status == Int32(status), "\(plain)")
                    #expect(withInit.status == plain.status && withInit.stderr == plain.stderr && !withInit.stderr.isEmpty, "\(withInit) vs \(plain)")
                }
                #expect(ContainerCLI.nothingRecorded(sandbox))
            }
        }
    }
}

/// `berth run -it --init` in a terminal: the command leads the terminal's foreground process
/// group, so ^C reaches it (its group) and not the init.
@Suite("berth run -it --init in a terminal (kernel, tmux)", .enabled(if: try KernelTests.enabled && Prerequisite.installed(Tmux.available, "tmux")))
struct InitTerminalCLITests {
    /// Fields 5 (process group) and 8 (the terminal's foreground group) of /proc/PID/stat.
    private func groups(_ pid: Int) -> (group: Int, foreground: Int)? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 5, let group = Int(fields[2]), let foreground = Int(fields[5]) else { return nil }
        return (group, foreground)
    }

    @Test("run -it --init: the command is the terminal's foreground group, the init is not; ^C reaches the command once; its status is berth's")
    func interrupt() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                let session = try Tmux(columns: 100, rows: 30)
                defer { session.close() }
                let command = ["sh", "-c", "trap 'echo got-int; exit 7' INT; echo ready; while :; do sleep 1; done"]
                try session.run(sandbox.berthArguments(["run", "-it", "--init", "--network", "none", "--name", "tty", "--rootfs", rootfs.path, "--"] + command),
                                environment: sandbox.berthEnvironment())
                #expect(session.waitFor { $0.contains("ready") }, "\(session.screen())")
                let initPid = try #require(try ContainerCLI.container(sandbox, "tty")?["pid"] as? Int)
                let children = (try? String(contentsOfFile: "/proc/\(initPid)/task/\(initPid)/children", encoding: .utf8)) ?? ""
                let commandPid = try #require(children.split(separator: " ").first.flatMap { Int($0) }, "children of \(initPid): \(children)")
                let command_ = try #require(groups(commandPid))
                let init_ = try #require(groups(initPid))
                #expect(command_.group == commandPid && command_.foreground == commandPid, "\(command_)")
                #expect(init_.group != command_.foreground, "\(init_)")
                session.keys("C-c")
                #expect(session.waitForFile("status"), "\(session.screen())")
                #expect(session.file("status") == "7\n")
                #expect(session.screen().components(separatedBy: "got-int").count == 2, "\(session.screen())")
                #expect(session.settings("before") == session.settings("after"))
                #expect(sandbox.berth(["rm", "tty"]).succeeded)
            }
        }
    }
}
