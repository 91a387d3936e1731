import BerthTestSupport
import Foundation
import Testing

/// Refused input, a port clash, a reused pid and a hook killed at its timeout: each leaves
/// nothing half-made, and the next call works.
@Suite("berth-oci-hook refusals and recovery (kernel)", .enabled(if: try KernelTests.enabled))
struct OCIHookFailureTests {
    @Test("malformed state, missing id: non-zero exit, a clear message, Berth's state never opened",
          arguments: ["createRuntime", "poststop"], ["", "not json", #"{"id":"c1""#, #"{"status":"creating","pid":1}"#, #"{"id":""}"#, "[1]"])
    func refusedState(stage: String, state: String) throws {
        try withHostSandbox { sandbox in
            let stateDirectory = sandbox.stateDirectory + "/never"
            let result = Harness.hook(sandbox, stage, state: state, stateDirectory: stateDirectory)
            #expect(result.status == 1, "\(result)")
            #expect(result.stderr.hasPrefix("berth-oci-hook: \(stage): the container state"), "\(result)")
            #expect(result.stderr.contains("an OCI runtime writes the container's state"), "\(result)")
            #expect(!FileManager.default.fileExists(atPath: stateDirectory))
        }
    }

    @Test("usage errors exit 2 and say how to call it")
    func usage() throws {
        try withHostSandbox { sandbox in
            let unknown = Harness.hook(sandbox, "prestop", state: "{}")
            #expect(unknown.status == 2)
            #expect(unknown.stderr.contains(#"unknown hook stage "prestop" (use one of createRuntime, prestart"#), "\(unknown)")
            let none = Command.run(["nsenter", "--net=\(sandbox.namespace.path)", "--", Harness.hookBinary], input: "")
            #expect(none.status == 2 && none.stderr.contains("no stage given") && none.stderr.contains("usage: berth-oci-hook STAGE"), "\(none)")
        }
    }

    @Test("a relative state directory — --state-dir or BERTH_STATE_DIR — is refused, naming it, before a state is made in the bundle",
          arguments: ["createRuntime", "poststop"])
    func relativeStateDirectory(stage: String) throws {
        try withHostSandbox { sandbox in
            let container = try HookContainer(id: "relative")
            defer { container.end() }
            let state = container.state(status: stage == "poststop" ? "stopped" : "creating")
            let option = Harness.hook(sandbox, stage, state: state, cwd: container.bundle, options: ["--state-dir", "state"])
            #expect(option.status == 2, "\(option)")
            #expect(option.stderr.contains("--state-dir state is not an absolute path"), "\(option)")
            #expect(option.stderr.contains("give --state-dir an absolute path"))
            let variable = Harness.hook(sandbox, stage, state: state, cwd: container.bundle, stateDirectory: "berth")
            #expect(variable.status == 2, "\(variable)")
            #expect(variable.stderr.contains("BERTH_STATE_DIR=berth is not an absolute path"), "\(variable)")
            #expect(variable.stderr.contains("set BERTH_STATE_DIR to an absolute path in the hook's env"))
            #expect(!FileManager.default.fileExists(atPath: container.bundle + "/state"))
            #expect(!FileManager.default.fileExists(atPath: container.bundle + "/berth"))
            #expect(container.eth0.isEmpty)
            // An absolute --state-dir beats a relative variable.
            let absolute = Harness.hook(sandbox, stage, state: state, cwd: container.bundle, stateDirectory: "berth",
                                        options: ["--state-dir", sandbox.stateDirectory])
            #expect(absolute.succeeded, "\(absolute)")
        }
    }

    @Test("stdin a terminal (the hook run by hand): exit 2 at once, saying a runtime writes the state there, and nothing made",
          arguments: ["createRuntime", "poststop"])
    func terminalStdin(stage: String) throws {
        try withHostSandbox { sandbox in
            let terminal = try PseudoTerminal()
            let stateDirectory = sandbox.stateDirectory + "/never"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = Harness.arguments(sandbox, stage, cwd: "/", stateDirectory: stateDirectory, environment: [])
            process.standardInput = FileHandle(fileDescriptor: terminal.slave, closeOnDealloc: false)
            let err = Pipe()
            process.standardError = err
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            let pid = process.processIdentifier
            // A hook that waited for a state on the terminal would wait forever: ended with
            // SIGKILL, whatever it does.
            defer { if process.isRunning { kill(pid, SIGKILL); process.waitUntilExit() } }
            let ended = Harness.wait { !process.isRunning }
            #expect(ended, "the hook waited on the terminal")
            guard ended else { return }
            process.waitUntilExit()
            let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationReason == .exit && process.terminationStatus == 2, "exit \(process.terminationStatus): \(stderr)")
            #expect(stderr == "berth-oci-hook: \(stage): stdin is a terminal (a runtime writes the container's state there: run it from a runtime's hooks)\n",
                    "\(stderr)")
            #expect(!FileManager.default.fileExists(atPath: stateDirectory))
            #expect(Harness.berthVeths(sandbox).isEmpty)
            #expect(Harness.ruleset(sandbox).isEmpty)
        }
    }

    @Test("a container without a network namespace of its own is refused before anything is touched")
    func sharedNamespaceRefused() throws {
        try withHostSandbox { sandbox in
            let container = try HookContainer(id: "hostnet", namespace: .shared)
            defer { container.end() }
            let result = Harness.hook(sandbox, "createRuntime", state: container.state(), cwd: container.bundle)
            #expect(result.status == 1, "\(result)")
            #expect(result.stderr == #"berth-oci-hook: createRuntime: container hostnet has no network namespace of its own (config.json's linux.namespaces has no "network" entry), so it shares the host's, which Berth never wires (run the container with --network none (docker, podman) or give it a network entry in linux.namespaces)"# + "\n",
                    "\(result)")
            #expect(!FileManager.default.fileExists(atPath: sandbox.stateDirectory + "/state.db"))
            #expect(Harness.berthVeths(sandbox).isEmpty)
        }
    }

    @Test("a namespace path that is the host's own is refused, and nothing is made")
    func hostNamespaceByPathRefused() throws {
        try withHostSandbox { sandbox in
            let container = try HookContainer(id: "sneaky", namespace: .path(sandbox.namespace.path))
            defer { container.end() }
            let result = Harness.hook(sandbox, "createRuntime", state: container.state(), cwd: container.bundle)
            #expect(result.status == 1, "\(result)")
            #expect(result.stderr.contains("is the host's own network namespace"), "\(result)")
            #expect(Harness.endpoints(sandbox).isEmpty)
            #expect(Harness.berthVeths(sandbox).isEmpty)
            #expect(Harness.parse(sandbox.witness(["ip", "-j", "link", "show", "type", "bridge"])).isEmpty)
        }
    }

    @Test("a bad annotation or a missing network is refused, naming it, and nothing is made")
    func badRequests() throws {
        try withHostSandbox { sandbox in
            let container = try HookContainer(id: "bad")
            defer { container.end() }
            let badIP = Harness.hook(sandbox, "createRuntime", state: container.state(annotations: ["berth.ip": "10.0.0.999"]), cwd: container.bundle)
            #expect(badIP.status == 1 && badIP.stderr.contains("annotation berth.ip: "), "\(badIP)")
            let missing = Harness.hook(sandbox, "createRuntime", state: container.state(annotations: ["berth.network": "nosuch"]), cwd: container.bundle)
            #expect(missing.status == 1, "\(missing)")
            #expect(missing.stderr.contains(#"no network named "nosuch""#) && missing.stderr.contains("annotation berth.network"), "\(missing)")
            #expect(Harness.endpoints(sandbox).isEmpty)
            #expect(container.eth0.isEmpty)
            #expect(Harness.berthVeths(sandbox).isEmpty)
        }
    }

    @Test("a namespace with an eth0 already is refused with advice to give the container a namespace of its own, and nothing is made")
    func eth0Taken() throws {
        try withHostSandbox { sandbox in
            let container = try HookContainer(id: "shared")
            defer { container.end() }
            let made = Command.run(["nsenter", "--net=\(container.namespacePath)", "--", "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"])
            try #require(made.succeeded, "\(made)")
            let result = Harness.hook(sandbox, "createRuntime", state: container.state(), cwd: container.bundle)
            #expect(result.status == 1, "\(result)")
            #expect(result.stderr.contains("interface eth0 already exists"), "\(result)")
            #expect(result.stderr.contains("has an eth0 already") && result.stderr.contains("--network none"), "\(result)")
            #expect(!result.stderr.contains("choose another"), "\(result)")
            #expect(Harness.endpoints(sandbox).isEmpty)
            #expect(Harness.berthVeths(sandbox).isEmpty)
        }
    }

    @Test("a second container asking for a published port fails, naming the holder; the first keeps its mapping and traffic")
    func portConflict() throws {
        try withHostSandbox { sandbox in
            let first = try HookContainer(id: "first", annotations: ["berth.publish": "8080:80"])
            defer { first.end() }
            try #require(Harness.hook(sandbox, "createRuntime", state: first.state(), cwd: first.bundle).succeeded)
            let rulesBefore = Harness.ruleset(sandbox)

            let second = try HookContainer(id: "second", annotations: ["berth.publish": "9090:90,8080:80"])
            defer { second.end() }
            let clash = Harness.hook(sandbox, "createRuntime", state: second.state(), cwd: second.bundle)
            #expect(clash.status == 1, "\(clash)")
            #expect(clash.stderr.hasPrefix("berth-oci-hook: createRuntime: container second: "), "\(clash)")
            #expect(clash.stderr.contains("already published by") && clash.stderr.contains("first"), "\(clash)")
            #expect(second.eth0.isEmpty)
            #expect(Harness.endpoints(sandbox).map { $0["id"] as? String } == ["first"])
            #expect(Harness.ruleset(sandbox) == rulesBefore)

            // The runtime then runs poststop for the failed container: the first is untouched.
            #expect(Harness.hook(sandbox, "poststop", state: second.state(status: "stopped"), cwd: second.bundle).succeeded)
            #expect(Harness.ruleset(sandbox) == rulesBefore)
            let server = try EchoServer(in: try .open(path: first.namespacePath), port: 80, banner: "first")
            defer { server.stop() }
            #expect(try Probe.request(from: sandbox.namespace, to: "127.0.0.1", port: 8080).hasPrefix("first "))
        }
    }

    @Test("poststop never enters the namespace of the pid it is given: a reused pid's namespace is unchanged")
    func pidReuse() throws {
        try withHostSandbox { sandbox in
            let container = try HookContainer(id: "gone", annotations: ["berth.publish": "8080:80"])
            try #require(Harness.hook(sandbox, "createRuntime", state: container.state(), cwd: container.bundle).succeeded)
            container.end()

            // Another process, in a namespace attached by someone else, now has "a" pid the
            // runtime might hand over: give poststop that pid.
            let bystander = try HookContainer(id: "bystander")
            defer { bystander.end() }
            let attach = sandbox.berth(["attach", "berth", "--netns", bystander.namespacePath, "--id", "bystander", "-p", "9090:90"])
            try #require(attach.succeeded, "\(attach)")
            let before = (bystander.ip(["link", "show"]).map { "\($0["ifname"] ?? "") \($0["operstate"] ?? "")" }, bystander.eth0)

            let poststop = Harness.hook(sandbox, "poststop", state: container.state(status: "stopped", pid: bystander.pid), cwd: container.bundle)
            #expect(poststop.succeeded, "\(poststop)")
            let after = (bystander.ip(["link", "show"]).map { "\($0["ifname"] ?? "") \($0["operstate"] ?? "")" }, bystander.eth0)
            #expect(after.0 == before.0)
            #expect(after.1 == before.1 && after.1.count == 1)
            #expect(Harness.endpoints(sandbox).map { $0["id"] as? String } == ["bystander"])
            let rules = Harness.ruleset(sandbox)
            #expect(rules.contains("berth-endpoint bystander") && !rules.contains("berth-endpoint gone"))
        }
    }

    /// Where a killed hook stopped, and who finishes its work.
    static let killCases: [(String, String)] = [
        ("attach.veth", "poststop"), ("attach.veth", "gc"), ("attach.veth", "createRuntime"),
        ("attach.publish", "poststop"), ("attach.publish", "gc"), ("attach.publish", "createRuntime"),
    ]

    @Test("a hook killed at its timeout mid-attach is finished by poststop, gc or the next createRuntime",
          .enabled(if: Harness.failPointsCompiledIn), arguments: killCases)
    func killedMidAttach(point: String, finisher: String) throws {
        try withHostSandbox { sandbox in
            let container = try HookContainer(id: "slow", annotations: ["berth.publish": "8080:80"])
            defer { container.end() }
            let hook = try Harness.start(sandbox, "createRuntime", state: container.state(), cwd: container.bundle,
                                         environment: ["BERTH_FAILPOINT=\(point):hang"])
            // The hang is reached once the step before it shows in the kernel.
            let reached = Harness.wait {
                point == "attach.veth" ? !Harness.berthVeths(sandbox).isEmpty : Harness.ruleset(sandbox).contains("berth-endpoint slow")
            }
            kill(hook.processIdentifier, SIGKILL)
            hook.waitUntilExit()
            try #require(reached, "the hook never reached \(point)")
            #expect(hook.terminationReason == .uncaughtSignal)
            #expect(Harness.berthVeths(sandbox).count == 1)
            // Killed at the veth: the container's side is not configured yet. Killed at the
            // publish: the veth was wired first, so eth0 has its address.
            #expect(container.eth0.isEmpty == (point == "attach.veth"), "\(container.eth0)")
            // The lease was committed, marked, before the kernel work: the record stays, its
            // address out of every other attach's reach, until one of the finishers below.
            #expect(Harness.endpoints(sandbox).compactMap { $0["id"] as? String } == ["slow"])

            switch finisher {
            case "poststop":
                let done = Harness.hook(sandbox, "poststop", state: container.state(status: "stopped"), cwd: container.bundle)
                #expect(done.succeeded, "\(done)")
            case "gc":
                let done = sandbox.berth(["gc"])
                #expect(done.succeeded, "\(done)")
            default:
                break
            }
            if finisher != "createRuntime" {
                #expect(Harness.berthVeths(sandbox).isEmpty)
                #expect(container.ip(["link", "show", "dev", "eth0"]).isEmpty)
                #expect(!Harness.ruleset(sandbox).contains("berth-endpoint slow"))
            }

            let again = Harness.hook(sandbox, "createRuntime", state: container.state(), cwd: container.bundle)
            #expect(again.succeeded, "\(again)")
            #expect(Harness.endpoints(sandbox).count == 1)
            #expect(Harness.berthVeths(sandbox).count == 1)
            #expect(container.eth0.count == 1)
            #expect(Harness.ruleset(sandbox).components(separatedBy: "berth-endpoint slow").count - 1 == 1)
        }
    }

    @Test("a detach interrupted mid-way is finished by the next createRuntime in the same namespace, which attaches anew",
          .enabled(if: Harness.failPointsCompiledIn))
    func interruptedPoststop() throws {
        try withHostSandbox { sandbox in
            let container = try HookContainer(id: "again", annotations: ["berth.publish": "8080:80"])
            defer { container.end() }
            let first = Harness.hook(sandbox, "createRuntime", state: container.state(), cwd: container.bundle)
            try #require(first.succeeded, "\(first)")
            // A detach interrupted while the namespace lives (berth detach: a poststop leaves
            // the endpoint of a namespace that is alive and wired, never its own by then).
            let stop = sandbox.berth(["detach", "again"], environment: ["BERTH_FAILPOINT": "detach.unplug"])
            #expect(!stop.succeeded, "\(stop)")
            // Unplugged (the container's end renamed away), still recorded, marked.
            #expect(container.eth0.isEmpty)
            #expect(Harness.endpoints(sandbox).count == 1)

            let again = Harness.hook(sandbox, "createRuntime", state: container.state(), cwd: container.bundle)
            #expect(again.succeeded, "\(again)")
            #expect(container.eth0.count == 1)
            #expect(Harness.endpoints(sandbox).count == 1)
            #expect(Harness.berthVeths(sandbox).count == 1)
            #expect(Harness.ruleset(sandbox).components(separatedBy: "berth-endpoint again").count - 1 == 1)
            let check = sandbox.berth(["check"])
            #expect(check.succeeded, "\(check)")

            container.end()
            let done = Harness.hook(sandbox, "poststop", state: container.state(status: "stopped"), cwd: container.bundle)
            #expect(done.succeeded, "\(done)")
            #expect(Harness.endpoints(sandbox).isEmpty && Harness.berthVeths(sandbox).isEmpty)
            #expect(!Harness.ruleset(sandbox).contains("berth-endpoint again"))
        }
    }
}

/// A pseudo-terminal pair, as a person's shell has: the slave is what a program run by hand
/// gets as stdin. Both ends are closed at deinit.
private final class PseudoTerminal {
    let master: Int32
    let slave: Int32

    init() throws {
        // posix_openpt, grantpt, unlockpt and ptsname are not visible through Swift's Glibc:
        // their ioctls on /dev/ptmx (grantpt is nothing to do on devpts).
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        try #require(master >= 0, "open /dev/ptmx: \(String(cString: strerror(errno)))")
        var unlock: CInt = 0
        var number: CUnsignedInt = 0
        let tiocsptlck: UInt = 0x4004_5431, tiocgptn: UInt = 0x8004_5430
        guard ioctl(master, tiocsptlck, &unlock) == 0, ioctl(master, tiocgptn, &number) == 0 else {
            let error = String(cString: strerror(errno))
            close(master)
            throw SandboxError("unlock or number of the pseudo-terminal: \(error)")
        }
        let path = "/dev/pts/\(number)"
        slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard slave >= 0 else {
            let error = String(cString: strerror(errno))
            close(master)
            throw SandboxError("open \(path): \(error)")
        }
        #expect(isatty(slave) == 1)
    }

    deinit {
        close(slave)
        close(master)
    }
}
