import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// `berth run`, `stop`, `exec`, `ps` and `gc` on containers, through the built binary inside
/// a host sandbox; iproute2, nft and curl check the kernel side independently.
@Suite("berth run (kernel)", .enabled(if: try KernelTests.enabled))
struct RunCommandTests {
    @Test("run -d publishes httpd: curl through the host port gets the page; stop removes veth, elements, lease and row")
    func detachedHTTPServer() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs(applets: ["httpd"]) { rootfs in
                try "hello from berth\n".write(toFile: rootfs.path + "/www/index.html", atomically: true, encoding: .utf8)
                let run = sandbox.berth(["run", "--rootfs", rootfs.path, "-p", "18080:80", "-d", "--name", "web", "--",
                                         "httpd", "-f", "-p", "80", "-h", "/www"])
                #expect(run.status == 0, "\(run)")
                #expect(run.stdout == "web\n")
                // run -d returns once the command runs; httpd binds right after exec.
                let page = sandbox.run(["curl", "-sS", "--retry", "20", "--retry-delay", "0", "--retry-connrefused", "--max-time", "5",
                                        "http://127.0.0.1:18080/"])
                #expect(page.stdout == "hello from berth\n", "\(page)")

                let state = try psJSON(sandbox)
                let container = try #require(state.first { $0["name"] as? String == "web" })
                #expect(container["status"] as? String == "running")
                #expect(container["network"] as? String == "berth")
                #expect(ContainerCLI.vethCount(sandbox) == 1)
                #expect(sandbox.run(["nft", "list", "ruleset"]).stdout.contains("18080"))
                // /etc/hosts names the container at its leased address.
                let ip = try #require(container["ip"] as? String)
                // (the container's own, bind-mounted over the rootfs's, which stays as it was).
                let hosts = sandbox.berth(["exec", "web", "--", "cat", "/etc/hosts"]).stdout
                #expect(((try? String(contentsOfFile: rootfs.path + "/etc/hosts", encoding: .utf8)) ?? "").isEmpty)
                #expect(hosts.contains("\(ip)\t\(container["hostname"] as? String ?? "?")"))

                let stop = sandbox.berth(["stop", "--time", "1", "web"])
                #expect(stop.status == 0, "\(stop)")
                #expect(stop.stdout == "web\n")
                // Stopped, it stays until removed, holding nothing.
                #expect(try ContainerCLI.container(sandbox, "web")?["status"] as? String == "exited")
                #expect(ContainerCLI.vethsGone(sandbox))
                #expect(sandbox.berth(["rm", "web"]).status == 0)
                #expect(noContainers(sandbox))
                #expect(!sandbox.witness(["nft", "list", "ruleset"]).contains("18080"))
                let networks = sandbox.berth(["network", "ls"])
                #expect(networks.stdout.contains("berth0"))
                // The lease is back: the next container gets the same first address.
                let again = sandbox.berth(["run", "--rm", "--rootfs", rootfs.path, "--", "cat", "/etc/hosts"])
                #expect(again.status == 0, "\(again)")
                #expect(again.stdout.contains("\(ip)\t"))
                #expect(noContainers(sandbox))
                #expect(ContainerCLI.vethsGone(sandbox))
            }
        }
    }

    @Test("foreground: exit code propagated, hostname set, the command is PID 1, only its own interfaces")
    func foreground() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                let seven = sandbox.berth(["run", "--rm", "--rootfs", rootfs.path, "--hostname", "box", "--", "sh", "-c", "hostname; exit 7"])
                #expect(seven.status == 7, "\(seven)")
                #expect(seven.stdout == "box\n")

                let ps = sandbox.berth(["run", "--rm", "--rootfs", rootfs.path, "--network", "none", "--", "ps"])
                #expect(ps.status == 0, "\(ps)")
                let rows = ps.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: " ") }
                #expect(rows.count == 1 && rows.first?.first == "1" && rows.first?.last == "ps", "\(ps.stdout)")

                // The sandbox has lo, berth0 and the container's host veth; inside is lo and eth0 only.
                let dev = sandbox.berth(["run", "--rm", "--rootfs", rootfs.path, "--", "cat", "/proc/net/dev"])
                #expect(dev.status == 0, "\(dev)")
                let interfaces = dev.stdout.split(separator: "\n").dropFirst(2)
                    .compactMap { $0.split(separator: ":").first?.trimmingCharacters(in: .whitespaces) }
                #expect(Set(interfaces) == ["lo", "eth0"], "\(dev.stdout)")
                let none = sandbox.berth(["run", "--rm", "--rootfs", rootfs.path, "--network", "none", "--", "cat", "/proc/net/dev"])
                #expect(none.stdout.split(separator: "\n").dropFirst(2).count == 1, "\(none.stdout)")

                // --mac-address: eth0 has it; refused where there is no eth0.
                let mac = sandbox.berth(["run", "--rm", "--rootfs", rootfs.path, "--mac-address", "02:42:de:ad:be:ef", "--", "cat", "/sys/class/net/eth0/address"])
                #expect(mac.status == 0 && mac.stdout == "02:42:de:ad:be:ef\n", "\(mac)")
                for network in ["none", "host"] {
                    let refused = sandbox.berth(["run", "--rm", "--rootfs", rootfs.path, "--network", network, "--mac-address", "02:42:de:ad:be:ef", "--", "true"])
                    #expect(refused.status == 125 && refused.stderr.contains("MAC address 02:42:de:ad:be:ef cannot be used"), "\(refused)")
                }

                // Nothing is left of the finished containers.
                #expect(noContainers(sandbox))
                #expect(ContainerCLI.vethsGone(sandbox))
            }
        }
    }

    @Test("SIGTERM to a foreground berth run reaches the command, whose status berth exits with")
    func signalForwarding() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                // The command handles TERM (PID 1 ignores it otherwise) and says when it has.
                let script = """
                    \(Command.berthBinary) run --rm --rootfs \(rootfs.path) --network none -- sh -c 'trap "exit 42" TERM; touch /tmp/ready; while true; do sleep 0.05; done' &
                    pid=$!
                    while [ ! -e \(rootfs.path)/tmp/ready ]; do sleep 0.01; done
                    kill -TERM $pid
                    wait $pid
                    echo "status $?"
                    """
                let result = Command.run(["nsenter", "--net=\(sandbox.namespace.path)", "--", "sh", "-c", script],
                                         environment: ["BERTH_STATE_DIR": sandbox.stateDirectory])
                #expect(result.stdout == "status 42\n", "\(result)")
                #expect(noContainers(sandbox))
            }
        }
    }

    @Test("^Z (SIGTSTP) to a foreground berth run without -t does not stop berth: the command gets it, and its output and status come through")
    func stopSignalForwarded() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                // The command handles TSTP (PID 1 ignores it otherwise) and says so.
                let script = """
                    \(Command.berthBinary) run --rm --rootfs \(rootfs.path) --network none -- sh -c 'trap "echo stopped-asked; exit 7" TSTP; touch /tmp/ready; while true; do sleep 0.05; done' > \(rootfs.path)/out &
                    pid=$!
                    while [ ! -e \(rootfs.path)/tmp/ready ]; do sleep 0.01; done
                    kill -TSTP $pid
                    sleep 0.3
                    echo "state $(cut -d' ' -f3 /proc/$pid/stat)"
                    kill -CONT $pid
                    wait $pid
                    echo "status $?"
                    cat \(rootfs.path)/out
                    """
                let result = Command.run(["nsenter", "--net=\(sandbox.namespace.path)", "--", "sh", "-c", script],
                                         environment: ["BERTH_STATE_DIR": sandbox.stateDirectory])
                #expect(!result.stdout.contains("state T") && result.stdout.contains("status 7\nstopped-asked\n"), "\(result)")
                #expect(noContainers(sandbox))
            }
        }
    }

    @Test("SIGTERM while berth run is still attaching the container does not kill berth half-way: the held command is killed, the set-up undone, and berth says so (125), leaving nothing")
    func signalDuringSetup() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                let marker = sandbox.stateDirectory + "/attach-reached"
                // The fail point stops the attach for up to a minute (a signal's handler cuts the
                // sleep short). Without the held handlers, berth itself would die of the TERM
                // (status 143) with the attach half made; with them, the TERM kills the command
                // held before its exec, so a set-up that hangs can be interrupted, and the run is
                // undone: the command (which would write `ran`) never runs. perl starts berth
                // with no signal blocked, as a login shell would (the test runner's threads block
                // most, and a child inherits that mask).
                let script = """
                    BERTH_FAILPOINT=attach.configure:hang BERTH_FAILPOINT_REACHED=\(marker) \
                      perl -MPOSIX -e 'sigprocmask(SIG_SETMASK, POSIX::SigSet->new) or die; exec @ARGV or die' \
                      \(Command.berthBinary) run --rm --rootfs \(rootfs.path) -- sh -c 'echo ran > /ran; exit 7' &
                    pid=$!
                    while [ ! -e \(marker) ]; do sleep 0.01; done
                    kill -TERM $pid
                    wait $pid
                    echo "status $?"
                    """
                unlink(rootfs.path + "/ran")
                let result = Command.run(["nsenter", "--net=\(sandbox.namespace.path)", "--", "sh", "-c", script],
                                         environment: ["BERTH_STATE_DIR": sandbox.stateDirectory])
                #expect(result.stdout == "status 125\n" && result.stderr.contains("was not started: its supervising process was told to end (SIGINT or SIGTERM)"), "\(result)")
                #expect(!FileManager.default.fileExists(atPath: rootfs.path + "/ran"), "the command ran after the TERM")
                #expect(noContainers(sandbox))
                #expect(ContainerCLI.vethsGone(sandbox))
            }
        }
    }

    @Test("restart policy: a forwarded signal the command survives does not end it; a SIGTERM does, even when another signal follows it")
    func signalsAndRestarts() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                // Runs until /tmp/go exists, then exits 1; each run leaves a line in /tmp/runs.
                // sh is PID 1 without a QUIT handler: the forwarded QUIT cannot end it.
                func run(_ name: String, _ command: String, signals: String) -> (status: String, runs: String) {
                    for file in ["runs", "ready", "go", "term"] { unlink(rootfs.path + "/tmp/" + file) }
                    let script = """
                        perl -MPOSIX -e 'sigprocmask(SIG_SETMASK, POSIX::SigSet->new) or die; exec @ARGV or die' \
                          \(Command.berthBinary) run --name \(name) --restart on-failure:2 --rootfs \(rootfs.path) --network none -- sh -c '\(command)' &
                        pid=$!
                        while [ ! -e \(rootfs.path)/tmp/ready ]; do sleep 0.01; done
                        \(signals)
                        wait $pid
                        echo "status $?"
                        """
                    let result = Command.run(["nsenter", "--net=\(sandbox.namespace.path)", "--", "sh", "-c", script],
                                             environment: ["BERTH_STATE_DIR": sandbox.stateDirectory])
                    let runs = (try? String(contentsOfFile: rootfs.path + "/tmp/runs", encoding: .utf8)) ?? ""
                    return (result.stdout, runs)
                }
                let survived = run("quit", "echo run >> /tmp/runs; touch /tmp/ready; while [ ! -e /tmp/go ]; do sleep 0.02; done; exit 1",
                                   signals: "kill -QUIT $pid; sleep 0.2; touch \(rootfs.path)/tmp/go")
                #expect(survived == ("status 1\n", "run\nrun\nrun\n"), "a QUIT the command survived ended the policy: \(survived)")
                // TERM asks berth to end; USR1, caught after it, makes the command exit 1.
                let told = run("term", "echo run >> /tmp/runs; [ -e /tmp/term ] && exit 1; trap \"touch /tmp/term\" TERM; trap \"exit 1\" USR1; touch /tmp/ready; while :; do sleep 0.02; done",
                               signals: "kill -TERM $pid; while [ ! -e \(rootfs.path)/tmp/term ]; do sleep 0.01; done; kill -USR1 $pid")
                #expect(told == ("status 1\n", "run\n"), "the TERM was lost behind the USR1: \(told)")
                #expect(sandbox.berth(["rm", "quit", "term"]).status == 0)
                #expect(noContainers(sandbox))
            }
        }
    }

    @Test("exec runs in the container's namespaces and exits with the command's status; ps lists the container")
    func exec() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                let run = sandbox.berth(["run", "-d", "--name", "box", "--hostname", "inside", "--rootfs", rootfs.path, "-p", "9000:9000",
                                         "--", "sleep", "1000"])
                #expect(run.status == 0, "\(run)")
                // The shell counts /proc's PIDs itself (a glob, no child): `ps | wc -l` raced
                // with the shell forking wc, and counted 4 or 5.
                let exec = sandbox.berth(["exec", "box", "--", "sh", "-c", "hostname; set -- /proc/[0-9]*; echo $#; exit 5"])
                #expect(exec.status == 5, "\(exec)")
                // hostname, then sleep (PID 1) and this sh: no host process.
                #expect(exec.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) } == ["inside", "2"])

                let columns = sandbox.berth(["ps"])
                let header = columns.stdout.split(separator: "\n").first.map { $0.split(separator: " ").map(String.init) }
                #expect(header == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"], "\(columns.stdout)")
                #expect(columns.stdout.contains("box") && columns.stdout.contains("\"sleep 1000\"") && columns.stdout.contains("0.0.0.0:9000->9000/tcp"))
                #expect(columns.stdout.contains(rootfs.path) && columns.stdout.contains("Up "))

                let missing = sandbox.berth(["exec", "nope", "--", "true"])
                #expect(missing.status == 125 && missing.stderr.contains("no container named \"nope\""), "\(missing)")
                let notFound = sandbox.berth(["exec", "box", "--", "nope"])
                #expect(notFound.status == 127 && notFound.stderr.contains("command \"nope\" not found"), "\(notFound)")
                let notExecutable = sandbox.berth(["exec", "box", "--", "/proc"])
                #expect(notExecutable.status == 126, "\(notExecutable)")
                #expect(sandbox.berth(["stop", "-t", "0", "box"]).status == 0)
                let stopped = sandbox.berth(["exec", "box", "--", "true"])
                #expect(stopped.status == 125 && stopped.stderr.contains("container box is not running"), "\(stopped)")
                #expect(sandbox.berth(["rm", "box"]).status == 0)
                #expect(noContainers(sandbox))
            }
        }
    }

    @Test("a taken name, a taken port, a missing rootfs or command, -p with host: clear errors and nothing left")
    func errors() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                #expect(sandbox.berth(["run", "-d", "--name", "one", "--rootfs", rootfs.path, "-p", "8080:80", "--", "sleep", "1000"]).status == 0)
                defer { sandbox.berth(["rm", "-f", "one"]) }
                let before = sandbox.run(["nft", "list", "ruleset"]).stdout

                for detach in [[], ["-d"]] {
                    let name = sandbox.berth(["run"] + detach + ["--name", "one", "--rootfs", rootfs.path, "--", "true"])
                    #expect(name.status == 125 && name.stderr.contains("container name \"one\" is already in use"), "\(name)")
                    let port = sandbox.berth(["run"] + detach + ["--name", "two", "--rootfs", rootfs.path, "-p", "8080:81", "--", "sleep", "1000"])
                    #expect(port.status == 125 && port.stderr.contains("8080"), "\(port)")
                    let rootfsMissing = sandbox.berth(["run"] + detach + ["--rootfs", rootfs.path + "/nope", "--", "true"])
                    #expect(rootfsMissing.status == 125 && rootfsMissing.stderr.contains("does not exist"), "\(rootfsMissing)")
                    let commandMissing = sandbox.berth(["run"] + detach + ["--rootfs", rootfs.path, "-p", "8081:80", "--", "nope"])
                    #expect(commandMissing.status == 127 && commandMissing.stderr.contains("command \"nope\" not found"), "\(commandMissing)")
                    let noCommand = sandbox.berth(["run"] + detach + ["--rootfs", rootfs.path])
                    #expect(noCommand.status == 125 && noCommand.stderr.contains("no command given"), "\(noCommand)")
                    // Docker's codes: 126 for a command that cannot be invoked, 125 for a bad flag.
                    let notExecutable = sandbox.berth(["run"] + detach + ["--rootfs", rootfs.path, "--", "/etc/hosts"])
                    #expect(notExecutable.status == 126 && notExecutable.stderr.contains("is not an executable file"), "\(notExecutable)")
                    let badFlag = sandbox.berth(["run"] + detach + ["--rootfs", rootfs.path, "--name"])
                    #expect(badFlag.status == 125 && badFlag.stderr.contains("--name"), "\(badFlag)")
                    // A mistyped option is not run as a command; after '--' such a name is one.
                    let typo = sandbox.berth(["run"] + detach + ["--rootfs", rootfs.path, "--netwrok", "web", "true"])
                    #expect(typo.status == 125 && typo.stderr.contains("unknown option '--netwrok'"), "\(typo)")
                    let dashed = sandbox.berth(["run"] + detach + ["--rootfs", rootfs.path, "--", "--netwrok"])
                    #expect(dashed.status == 127 && dashed.stderr.contains("command \"--netwrok\" not found"), "\(dashed)")
                    let hostPorts = sandbox.berth(["run"] + detach + ["--network", "host", "-p", "80", "--", "true"])
                    #expect(hostPorts.status == 125 && hostPorts.stderr.contains("network host has no bridge to publish ports on"), "\(hostPorts)")
                }
                let names = try psJSON(sandbox).compactMap { $0["name"] as? String }
                #expect(names == ["one"])
                #expect(ContainerCLI.vethCount(sandbox) == 1)
                #expect(sandbox.run(["nft", "list", "ruleset"]).stdout == before)
            }
        }
    }

    @Test("SIGKILL of the supervisor, then gc: the orphaned command is killed and nothing is left")
    func orphanedBySupervisorDeath() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                let run = sandbox.berth(["run", "-d", "--name", "orphan", "--rootfs", rootfs.path, "-p", "7070:70", "--", "sleep", "1000"])
                #expect(run.status == 0, "\(run)")
                let container = try #require(try psJSON(sandbox).first)
                let supervisor = try #require(container["supervisorPid"] as? Int)
                let pid = try #require(container["pid"] as? Int)
                #expect(ContainerCLI.isRunning(pid: pid) && ContainerCLI.isRunning(pid: supervisor))
                #expect(kill(pid_t(supervisor), SIGKILL) == 0)
                // Until gc, ps says so.
                _ = ContainerCLI.eventually(30) { !ContainerCLI.isRunning(pid: supervisor) }
                #expect(sandbox.berth(["ps"]).stdout.contains("Orphaned"))

                let gc = sandbox.berth(["gc"])
                #expect(gc.status == 0, "\(gc)")
                #expect(gc.stdout.contains("stopped orphaned container orphan"), "\(gc)")
                #expect(!ContainerCLI.isRunning(pid: pid))
                #expect(sandbox.berth(["rm", "orphan"]).status == 0)
                #expect(noContainers(sandbox))
                #expect(ContainerCLI.vethsGone(sandbox))
                #expect(!sandbox.witness(["nft", "list", "ruleset"]).contains("7070"))
                #expect(sandbox.berth(["gc"]).stdout == "nothing to remove\n")
            }
        }
    }

    // MARK: - Helpers

    private func psJSON(_ sandbox: HostSandbox) throws -> [[String: Any]] {
        let result = sandbox.berth(["ps", "--json"])
        guard result.succeeded else { throw SandboxError("berth ps --json failed: \(result)") }
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
    }

    /// `berth ps -a --json` says `[]`: no container (running or not) and no endpoint.
    private func noContainers(_ sandbox: HostSandbox) -> Bool {
        ContainerCLI.nothingRecorded(sandbox)
    }
}

/// A throwaway busybox root filesystem for CLI tests (Debian's static busybox, with links
/// for the applets used), removed afterwards.
struct RunRootfs {
    let path: String
}

func withRunRootfs<T>(applets extra: [String] = [], _ body: (RunRootfs) throws -> T) throws -> T {
    let path = NSTemporaryDirectory() + "berth-run-rootfs-\(getpid())-\(UUID().uuidString.prefix(8))"
    let fm = FileManager.default
    defer { try? fm.removeItem(atPath: path) }
    for dir in ["bin", "tmp", "etc", "www"] {
        try fm.createDirectory(atPath: path + "/" + dir, withIntermediateDirectories: true)
    }
    try fm.copyItem(atPath: "/bin/busybox", toPath: path + "/bin/busybox")
    for applet in Set(["sh", "hostname", "ps", "cat", "true", "sleep", "touch", "wc"] + extra) {
        try fm.createSymbolicLink(atPath: path + "/bin/" + applet, withDestinationPath: "busybox")
    }
    return try body(RunRootfs(path: path))
}
