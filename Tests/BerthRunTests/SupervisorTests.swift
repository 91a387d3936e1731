#if canImport(Glibc)
import Glibc
#endif
import BerthConfine
import BerthCore
import BerthNetwork
@testable import BerthRun
import BerthTestSupport
import Foundation
import Testing

/// What crosses the process boundary to a detached supervisor: its request (the options as
/// a value) and its report (the container, or the whole error).
@Suite("Supervisor request and report")
struct SupervisorMessageTests {
    @Test("a request carries every option but the caller's descriptors, and reads back equal")
    func requestRoundTrip() throws {
        let confinement = Confinement(capabilities: try CapabilitySet.docker.adjusted(adding: ["NET_ADMIN"], dropping: ["NET_RAW"]),
                                      seccomp: SeccompProfile(defaultAction: .errno(1), rules: [SeccompRule(["read"])]), noNewPrivileges: true)
        let process = ContainerSpec(command: ["sh", "-c", "echo \"a b\"\n", ""], namespaces: [.network, .uts, .pid, .mount], hostname: "box",
                                    rootfs: "/srv/rootfs", environment: ["A=1", "EMPTY="], workingDirectory: "/tmp", privileged: true,
                                    confinement: confinement)
        let limits = ResourceLimits(memory: 32 << 20, memorySwap: .unlimited, nanoCPUs: 500_000_000, cpuShares: 512,
                                    cpusetCPUs: CPUList([0, 1]), cpusetMems: CPUList([0]), pids: 20)
        let options = RunOptions(process: process, name: "web", network: .bridge("front"),
                                 ports: [try PortSpec(parsing: "8080:80"), try PortSpec(parsing: "127.0.0.1:5353:53/udp"), try PortSpec(parsing: "9000-9001:90-91")],
                                 address: try IPv4Address(parsing: "10.88.0.7"), limits: limits)
        let request = SupervisorRequest(options: options, stateDirectory: "/var/lib/other", resolverExecutable: "/opt/rt/berth-dns")
        let text = request.json.render()
        #expect(try SupervisorRequest(json: JSONValue(parsing: text)) == request)
        #expect(try SupervisorRequest(json: JSONValue(parsing: text)).resolverExecutable == "/opt/rt/berth-dns")

        let back = try SupervisorRequest(json: JSONValue(parsing: text))
        #expect(back.options?.process.confinement == confinement && back.options?.limits == limits)

        let minimal = SupervisorRequest(options: RunOptions(process: ContainerSpec(command: ["true"]), network: .none), stateDirectory: "/s")
        #expect(try SupervisorRequest(json: JSONValue(parsing: minimal.json.render())) == minimal)
        let unconfined = SupervisorRequest(options: RunOptions(process: ContainerSpec(command: ["true"], confinement: Confinement(seccomp: nil))),
                                           stateDirectory: "/s")
        #expect(try SupervisorRequest(json: JSONValue(parsing: unconfined.json.render())).options?.process.confinement.seccomp == nil)
        let host = SupervisorRequest(options: RunOptions(process: ContainerSpec(command: ["true"]), network: .host), stateDirectory: "/s")
        #expect(try SupervisorRequest(json: JSONValue(parsing: host.json.render())).options?.network == .host)
        // The settings added with exited containers, and a start of a stopped one.
        var everything = process
        everything.user = "bob:staff"
        everything.mounts = [BindMount(source: "/srv/data", target: "/data", readOnly: true), BindMount(source: "/a:b", target: "/c")]
        everything.readOnlyRootfs = true
        everything.terminal = true
        everything.initProcess = true
        var fullOptions = RunOptions(process: everything, name: "it", interactive: true, restart: .onFailure(maximumRetries: 2))
        fullOptions.ipv6Address = IPv6Address("fd00:61::61")
        fullOptions.mac = try MACAddress(parsing: "02:42:de:ad:be:ef")
        let full = SupervisorRequest(options: fullOptions, stateDirectory: "/s")
        #expect(try SupervisorRequest(json: JSONValue(parsing: full.json.render())) == full)
        #expect(try SupervisorRequest(json: JSONValue(parsing: full.json.render())).options?.mac?.description == "02:42:de:ad:be:ef")
        let start = SupervisorRequest(.start(id: String(repeating: "b", count: 64)), stateDirectory: "/s")
        #expect(try SupervisorRequest(json: JSONValue(parsing: start.json.render())) == start)
    }

    @Test("a malformed request is an internal error naming the member")
    func malformedRequest() throws {
        let json = SupervisorRequest(options: RunOptions(process: ContainerSpec(command: ["true"])), stateDirectory: "/s").json
        guard case .object(var members) = json, case .object(var options)? = json["run"] else {
            Issue.record("not an object: \(json.render())")
            return
        }
        options.removeAll { $0.0 == "network" }
        members.removeAll { $0.0 == "run" }
        members.append(("run", .object(options)))
        let withoutNetwork = JSONValue.object(members)
        let error = #expect(throws: BerthError.self) { try SupervisorRequest(json: withoutNetwork) }
        #expect(error?.code == .internalError && error?.message.contains("\"network\"") == true)
        // Members added later are optional: settings an older berth stored still read.
        let stored = RunOptions(process: ContainerSpec(command: ["true"])).json(includingCommand: false)
        guard case .object(var old) = stored else {
            Issue.record("RunOptions' JSON is not an object: \(stored.render())")
            return
        }
        old.removeAll { ["interactive", "restart", "autoRemove", "limits", "ipv6Address"].contains($0.0) }
        let read = try RunOptions(json: .object(old), command: ["sh"])
        #expect(read.process.command == ["sh"] && read.restart == .no && !read.interactive && !read.autoRemove && read.limits.isEmpty)
        // A process object without "init" (an older berth's): no init.
        var initSpec = ContainerSpec(command: ["true"])
        initSpec.initProcess = true
        guard case .object(var initOptions) = RunOptions(process: initSpec).json(includingCommand: false),
              case .object(var process)? = RunOptions(process: initSpec).json(includingCommand: false)["process"] else {
            Issue.record("RunOptions' JSON is not an object")
            return
        }
        #expect(try RunOptions(json: .object(initOptions), command: ["sh"]).process.initProcess)
        process.removeAll { $0.0 == "init" }
        initOptions.removeAll { $0.0 == "process" }
        initOptions.append(("process", .object(process)))
        #expect(try !RunOptions(json: .object(initOptions), command: ["sh"]).process.initProcess)
        #expect(read.ipv6Address == nil)

        // A confinement or limits that do not read back are refused, never replaced by defaults.
        let text = SupervisorRequest(options: RunOptions(process: ContainerSpec(command: ["true"])), stateDirectory: "/s").json.render()
        for (from, to, member) in [("\"seccomp\":\"docker\"", "\"seccomp\":\"none\"", "confinement"), ("\"pids\":null", "\"pids\":\"20\"", "limits")] {
            #expect(text.contains(from))
            let broken = #expect(throws: BerthError.self) { try SupervisorRequest(json: JSONValue(parsing: text.replacingOccurrences(of: from, with: to))) }
            #expect(broken?.code == .internalError && broken?.message.contains("\"\(member)\"") == true, "\(String(describing: broken))")
        }
    }

    @Test("the stop signal and stop timeout read back; an older record without them stops with SIGTERM after 10 s; a bad one is refused")
    func stopSettings() throws {
        var options = RunOptions(process: ContainerSpec(command: ["sh"]), restart: .always)
        options.stopSignal = SIGUSR1
        options.stopTimeout = 1
        let back = try RunOptions(json: JSONValue(parsing: options.json().render()))
        #expect(back == options && back.stopSignal == SIGUSR1 && back.stopTimeout == 1 && back.effectiveStopSignal == SIGUSR1)
        options.stopSignal = 64
        options.stopTimeout = -1
        #expect(try RunOptions(json: JSONValue(parsing: options.json().render())) == options)
        let plain = RunOptions(process: ContainerSpec(command: ["sh"]))
        #expect(try RunOptions(json: JSONValue(parsing: plain.json().render())).stopSignal == nil)

        // Settings an older berth stored: no members at all.
        guard case .object(var old) = plain.json(includingCommand: false) else {
            Issue.record("RunOptions' JSON is not an object")
            return
        }
        #expect(old.contains { $0.0 == "stopSignal" } && old.contains { $0.0 == "stopTimeout" })
        old.removeAll { ["stopSignal", "stopTimeout"].contains($0.0) }
        let read = try RunOptions(json: .object(old), command: ["sh"])
        #expect(read.stopSignal == nil && read.stopTimeout == nil && read.effectiveStopSignal == SIGTERM)
        func record(_ options: RunOptions?) -> ContainerRecord {
            ContainerRecord(id: String(repeating: "a", count: 64), name: "old", endpointID: nil, network: "none", process: nil, supervisor: nil,
                            command: ["sh"], hostname: "h", rootfs: nil, status: .exited, created: 0, options: options)
        }
        #expect(Container.stopTimeout(of: record(read)) == .seconds(10) && Container.stopTimeout(of: record(nil)) == .seconds(10))
        var timed = read
        timed.stopTimeout = 3
        #expect(Container.stopTimeout(of: record(timed)) == .seconds(3))

        // Stored, a signal out of range or a timeout below -1 is refused, never replaced.
        let text = plain.json().render()
        #expect(text.contains("\"stopSignal\":null") && text.contains("\"stopTimeout\":null"), "\(text)")
        for (from, to, member) in [("\"stopSignal\":null", "\"stopSignal\":65", "stopSignal"), ("\"stopSignal\":null", "\"stopSignal\":\"USR1\"", "stopSignal"),
                                   ("\"stopTimeout\":null", "\"stopTimeout\":-2", "stopTimeout")] {
            let broken = #expect(throws: BerthError.self) { try RunOptions(json: JSONValue(parsing: text.replacingOccurrences(of: from, with: to))) }
            #expect(broken?.code == .internalError && broken?.message.contains("\"\(member)\"") == true, "\(String(describing: broken))")
        }

        // Given through the API, the same values are invalid arguments naming the parameter.
        for (signal, timeout, parameter) in [(Int32(0), Int?.none, "stopSignal"), (65, nil, "stopSignal"), (nil, -2, "stopTimeout")] {
            var bad = plain
            bad.stopSignal = signal
            bad.stopTimeout = timeout
            let error = #expect(throws: BerthError.self) { try bad.validate() }
            #expect(error?.code == .invalidArgument && error?.parameter == parameter, "\(String(describing: error))")
        }
    }

    @Test("kill cancels the restart policy for SIGKILL, SIGTERM, SIGINT and the container's stop signal, not another")
    func killEnds() {
        #expect(Container.ends(SIGKILL, stopSignal: nil) && Container.ends(SIGTERM, stopSignal: nil) && Container.ends(SIGINT, stopSignal: nil))
        #expect(!Container.ends(SIGUSR1, stopSignal: nil) && !Container.ends(SIGHUP, stopSignal: SIGUSR1))
        #expect(Container.ends(SIGUSR1, stopSignal: SIGUSR1) && Container.ends(SIGTERM, stopSignal: SIGQUIT))
    }

    @Test("a failure report keeps every field of the error, causes included")
    func errorRoundTrip() throws {
        struct Errno: Error, CustomStringConvertible { var description: String { "Address in use" } }
        let inner = BerthError(.kernel, "the kernel refused the element", object: .link("vb1", namespace: "/proc/9/ns/net"), cause: Errno())
        let error = BerthError(.conflict, "port tcp/8080 is taken", hint: "library words", object: BerthError.Object(.port, "tcp/8080"),
                               operation: .publish, parameter: "ports", remedy: .chooseAnother(parameter: "ports"), cause: inner)
        let remedies: [BerthError.Remedy] = [.collectGarbage, .reconcile, .detachEndpoints, .remove(.container("one")), .stop(.container("two")),
                                             .chooseAnother(parameter: "name"), .privilege("CAP_NET_ADMIN"), .listExisting(.network),
                                             .give(parameter: "bridge"), .leaveOut(parameter: "subnet")]
        for remedy in remedies {
            let text = SupervisorReport.failed(BerthError(.conflict, "x", remedy: remedy)).json.render()
            guard case .failed(let back) = try SupervisorReport(json: JSONValue(parsing: text)) else { Issue.record("not a failure"); continue }
            #expect(back.remedy == remedy)
        }
        let text = SupervisorReport.failed(error).json.render()
        guard case .failed(let back) = try SupervisorReport(json: JSONValue(parsing: text)) else { Issue.record("not a failure"); return }
        #expect(back.code == error.code && back.message == error.message && back.hint == error.hint)
        #expect(back.object == error.object && back.operation == error.operation && back.parameter == error.parameter && back.remedy == error.remedy)
        let backInner = try #require(back.cause as? BerthError)
        #expect(backInner.object == inner.object && backInner.code == .kernel)
        #expect(String(describing: try #require(backInner.cause)) == "Address in use")
        #expect(back.description == error.description)

        let warnings = [HostWarning(.ipv4ForwardingEnabled), HostWarning(.ipv6ForwardingEnabled),
                        HostWarning(.routerAdvertisementsIgnored(interface: "lan0", gateway: try IPAddress(parsing: "fe80::1"))),
                        HostWarning(.routerAdvertisementsIgnored(interface: "lan1", gateway: nil)),
                        HostWarning(.forwardDropped(ForwardDrop(family: "ip", table: "filter", chain: "FORWARD", owner: .docker, bridges: ["berth0", "br-1"])))]
        guard case .started(let id, let name, let back) = try SupervisorReport(
            json: JSONValue(parsing: SupervisorReport.started(id: "abc", name: "web", warnings: warnings).json.render()))
        else { Issue.record("not a start"); return }
        #expect(id == "abc" && name == "web" && back == warnings)
        // A report without warnings (a supervisor of an older build) reads as none.
        guard case .started(_, _, let none) = try SupervisorReport(json: JSONValue(parsing: #"{"started":{"id":"abc","name":"web"}}"#))
        else { Issue.record("not a start"); return }
        #expect(none.isEmpty)
    }
}

/// `Supervisor.start` with the built berth binary as the program whose hidden entry calls
/// `Supervisor.main()`.
@Suite("Supervisor (kernel)", .enabled(if: try KernelTests.enabled))
struct SupervisorKernelTests {
    private let entry = Supervisor.Entry(executable: Command.berthBinary, arguments: ["_supervise"])

    @Test("start returns once the command runs under a supervisor in its own session; stop ends both and cleans up")
    func startAndStop() throws {
        try withHostSandbox { sandbox in
            try withRootfs { rootfs in
                let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
                let options = RunOptions(process: ContainerSpec(command: ["sleep", "1000"], rootfs: rootfs.path), name: "detached", network: .none)
                // The supervisor works in the caller's network namespace (the fence's), not the
                // sandbox: the none network touches neither.
                let started = try Supervisor.start(options, stateDirectory: sandbox.stateDirectory, entry: entry)
                #expect(started.name == "detached")
                let record = try Container.find("detached", manager: manager)
                #expect(record.id == started.id && record.status == .running && record.command == ["sleep", "1000"])
                #expect(record.supervisor?.pid == started.supervisor.pid)
                // A session of its own: its session id is its pid.
                let stat = try String(contentsOfFile: "/proc/\(started.supervisor.pid)/stat", encoding: .utf8)
                let fields = stat[stat.index(after: try #require(stat.lastIndex(of: ")")))...].split(separator: " ")
                #expect(fields.count > 3 && fields[3] == Substring("\(started.supervisor.pid)"))

                try Container.stop("detached", timeout: .milliseconds(100), manager: manager)
                // The supervisor exits with the command's status, as a shell reports it: 128 + SIGKILL.
                #expect(try started.supervisor.wait() == .exited(128 + SIGKILL))
                // The container stays, exited, unsupervised, until removed.
                let exited = try Container.find("detached", manager: manager)
                #expect(exited.status == .exited && exited.exitCode == 128 + SIGKILL && exited.process == nil && exited.supervisor == nil)
                try Container.remove("detached", manager: manager)
                #expect(try Container.list(manager: manager).isEmpty)
            }
        }
    }

    @Test("the confinement crosses to the supervisor: unshare -U is refused under Docker's profile and runs unconfined; limits apply (a fork past --pids-limit 1 fails)")
    func confinementCrosses() throws {
        try withHostSandbox { sandbox in
            try withRootfs { rootfs in
                try rootfs.addApplets(["unshare"])
                let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
                func detached(_ confinement: Confinement, limits: ResourceLimits = ResourceLimits(),
                              command: [String] = ["unshare", "-U", "true"]) throws -> ContainerExit {
                    let spec = ContainerSpec(command: command, rootfs: rootfs.path, confinement: confinement)
                    let started = try Supervisor.start(RunOptions(process: spec, network: .none, limits: limits),
                                                       stateDirectory: sandbox.stateDirectory, entry: entry)
                    // The supervisor exits with the command's status.
                    return try started.supervisor.wait()
                }
                #expect(try detached(Confinement()) == .exited(1))
                #expect(try detached(Confinement(seccomp: nil)) == .exited(0))
                let admin = Confinement(capabilities: try CapabilitySet.docker.adjusted(adding: ["SYS_ADMIN"], dropping: []))
                #expect(try detached(admin) == .exited(0))

                let forking = ["sh", "-c", "true & wait"]
                #expect(try detached(Confinement(), limits: ResourceLimits(pids: 2), command: forking) == .exited(0))
                #expect(try detached(Confinement(), limits: ResourceLimits(pids: 1), command: forking) != .exited(0))
                let invalid = #expect(throws: BerthError.self) { try detached(Confinement(), limits: ResourceLimits(memory: 1 << 20)) }
                #expect(invalid?.code == .invalidArgument && invalid?.parameter == "memory")
                // The five that ran stay, exited, until removed; the refused one left nothing.
                let left = try Container.list(manager: manager)
                #expect(left.count == 5 && left.allSatisfy { $0.status == .exited }, "\(left)")
                for record in left { try Container.remove(record.name, manager: manager) }
                #expect(try Container.list(manager: manager).isEmpty)
            }
        }
    }

    @Test("an error in the supervisor comes back whole, and nothing is left")
    func errorsComeBack() throws {
        try withHostSandbox { sandbox in
            try withRootfs { rootfs in
                let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
                let missing = #expect(throws: BerthError.self) {
                    try Supervisor.start(RunOptions(process: ContainerSpec(command: ["no-such-program"], rootfs: rootfs.path), network: .none),
                                         stateDirectory: sandbox.stateDirectory, entry: entry)
                }
                #expect(missing?.code == .notFound && missing?.message.contains("command \"no-such-program\" not found") == true)
                #expect(missing?.parameter == "command")

                let first = try Supervisor.start(RunOptions(process: ContainerSpec(command: ["sleep", "1000"], rootfs: rootfs.path), name: "one", network: .none),
                                                 stateDirectory: sandbox.stateDirectory, entry: entry)
                defer {
                    _ = try? Container.remove("one", force: true, manager: manager)
                    _ = try? first.supervisor.wait()
                }
                let taken = #expect(throws: BerthError.self) {
                    try Supervisor.start(RunOptions(process: ContainerSpec(command: ["true"], rootfs: rootfs.path), name: "one", network: .none),
                                         stateDirectory: sandbox.stateDirectory, entry: entry)
                }
                #expect(taken?.code == .alreadyExists && taken?.remedy == .chooseAnother(parameter: "name") && taken?.object == .container("one"))
                #expect(try Container.list(manager: manager).map(\.name) == ["one"])

                // Descriptors of this process cannot be handed to another.
                let stdio = #expect(throws: BerthError.self) {
                    try Supervisor.start(RunOptions(process: ContainerSpec(command: ["true"], stdout: 1), network: .none), entry: entry)
                }
                #expect(stdio?.parameter == "stdio")
            }
        }
    }
}
