import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

/// `berth-oci-hook` run the way runtimes run it: in the host's (the sandbox's) namespace,
/// the state on stdin, no environment but what the hook entry lists, cwd the bundle.
@Suite("berth-oci-hook attach and detach (kernel)", .enabled(if: try KernelTests.enabled))
struct OCIHookKernelTests {
    /// Each runtime's createRuntime (or prestart) sample with its poststop sample.
    static let samplePairs = [
        ("oci-hook-runc-createRuntime.state.json", "oci-hook-runc-poststop.state.json"),
        ("oci-hook-runc-prestart.state.json", "oci-hook-runc-poststop.state.json"),
        ("oci-hook-crun-createRuntime.state.json", "oci-hook-crun-poststop.state.json"),
        ("oci-hook-crun-prestart.state.json", "oci-hook-crun-poststop.state.json"),
        ("podman-ocihook-createRuntime.state.json", "podman-ocihook-poststop.state.json"),
        ("docker-runtime-wrapper-createRuntime.state.json", "oci-hook-runc-poststop.state.json"),
    ]

    /// A sample state with this test's id, pid and bundle; the rest as the runtime wrote it.
    static func sample(_ name: String, for container: HookContainer) throws -> String {
        var state = try #require(try JSONSerialization.jsonObject(with: Data(try Fixtures.bytes(name))) as? [String: Any])
        state["id"] = container.id
        state["bundle"] = container.bundle
        if state["pid"] != nil, (state["pid"] as? Int) != 0 { state["pid"] = Int(container.pid) }
        return Harness.json(state)
    }

    @Test("each runtime's state shape attaches at its first stage and detaches at poststop", arguments: samplePairs)
    func samples(first: String, poststop: String) throws {
        try withHostSandbox { sandbox in
            let container = try HookContainer(id: "sample-\(KernelTests.uniqueSuffix())", annotations: ["berth.publish": "8080:80"])
            defer { container.end() }
            let stage = first.contains("prestart") ? "prestart" : "createRuntime"
            let attach = Harness.hook(sandbox, stage, state: try Self.sample(first, for: container), cwd: container.bundle)
            #expect(attach.succeeded && attach.stdout.isEmpty && attach.stderr.isEmpty, "\(attach)")
            #expect(container.eth0.count == 1)
            #expect(Harness.endpoints(sandbox).map { $0["id"] as? String } == [container.id])
            #expect(Harness.ruleset(sandbox).contains("berth-endpoint \(container.id)"))

            // A runtime runs poststop once the container's process is gone.
            container.end()
            let detach = Harness.hook(sandbox, "poststop", state: try Self.sample(poststop, for: container), cwd: container.bundle)
            #expect(detach.succeeded && detach.stderr.isEmpty, "\(detach)")
            #expect(Harness.endpoints(sandbox).isEmpty)
            #expect(Harness.berthVeths(sandbox).isEmpty)
            #expect(!Harness.ruleset(sandbox).contains("berth-endpoint \(container.id)"))
        }
    }

    @Test("the default network is created on first use; annotations choose address, MAC and ports; bytes flow through the port")
    func defaultNetworkAndTraffic() throws {
        try withHostSandbox { sandbox in
            let container = try HookContainer(id: "web")
            defer { container.end() }
            // Annotations in the state only, as runc and crun pass them.
            let annotations = ["berth.publish": "8080:80", "berth.ip": "172.17.0.9", "berth.mac": "02:42:ac:11:00:99"]
            let attach = Harness.hook(sandbox, "createRuntime", state: container.state(annotations: annotations), cwd: container.bundle)
            try #require(attach.succeeded, "\(attach)")
            let networks = Harness.parse(sandbox.berth(["network", "ls", "--json"]).stdout)
            #expect(networks.map { $0["name"] as? String } == ["berth"])
            #expect(networks.first?["bridge"] as? String == "berth0")
            #expect(container.eth0.first?.hasPrefix("172.17.0.9") == true, "\(container.eth0)")
            #expect(container.ip(["link", "show", "dev", "eth0"]).first?["address"] as? String == "02:42:ac:11:00:99")

            let server = try EchoServer(in: try NetworkNamespace.open(path: container.namespacePath), port: 80, banner: "web")
            defer { server.stop() }
            let reply = try Probe.request(from: sandbox.namespace, to: "127.0.0.1", port: 8080)
            #expect(reply.hasPrefix("web ") && reply.hasSuffix(" ping"), "\(reply)")
        }
    }

    @Test("a dual-stack network: berth.ip6 chooses the IPv6 address, without it the lowest free one; the host reaches the container over IPv6; poststop frees both")
    func dualStack() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "dual", "--subnet", "10.66.0.0/24", "--subnet", "fd00:66::/64"]).succeeded)
            let chosen = try HookContainer(id: "six")
            defer { chosen.end() }
            let annotations = ["berth.network": "dual", "berth.ip6": "fd00:66::99"]
            let attach = Harness.hook(sandbox, "createRuntime", state: chosen.state(annotations: annotations), cwd: chosen.bundle)
            try #require(attach.succeeded, "\(attach)")
            #expect(chosen.eth0 == ["10.66.0.2"])
            #expect(chosen.eth0v6 == ["fd00:66::99"])
            let routes = Command.run(["nsenter", "--net=\(chosen.namespacePath)", "--", "ip", "-6", "route", "show", "default"]).stdout
            #expect(routes.hasPrefix("default via fd00:66::1 dev eth0"), "\(routes)")
            let server = try EchoServer(in: try NetworkNamespace.open(path: chosen.namespacePath), address: "::", port: 80, banner: "six")
            defer { server.stop() }
            #expect((try? Probe.request(from: sandbox.namespace, to: "fd00:66::99", port: 80, timeout: 3))?.hasPrefix("six fd00:66::1 ") == true)

            let lowest = try HookContainer(id: "low")
            defer { lowest.end() }
            let second = Harness.hook(sandbox, "createRuntime", state: lowest.state(annotations: ["berth.network": "dual"]), cwd: lowest.bundle)
            try #require(second.succeeded, "\(second)")
            #expect(lowest.eth0v6 == ["fd00:66::2"])
            // The same address again is refused naming its holder; nothing of the second is made.
            let taken = try HookContainer(id: "taken")
            defer { taken.end() }
            let refused = Harness.hook(sandbox, "createRuntime", state: taken.state(annotations: annotations), cwd: taken.bundle)
            #expect(refused.status == 1 && refused.stderr.contains("fd00:66::99") && refused.stderr.contains("six"), "\(refused)")
            #expect(taken.eth0.isEmpty)

            chosen.end()
            #expect(Harness.hook(sandbox, "poststop", state: chosen.state(status: "stopped", annotations: annotations), cwd: chosen.bundle).succeeded)
            let again = try HookContainer(id: "again")
            defer { again.end() }
            #expect(Harness.hook(sandbox, "createRuntime", state: again.state(annotations: annotations), cwd: again.bundle).succeeded)
            #expect(again.eth0v6 == ["fd00:66::99"])
        }
    }

    @Test("annotations come from config.json when the state has none, and the working directory is the bundle")
    func configAnnotationsAndWorkingDirectory() throws {
        try withHostSandbox { sandbox in
            #expect(sandbox.berth(["network", "create", "lab", "--subnet", "10.61.0.0/24"]).succeeded)
            let container = try HookContainer(id: "cfg", annotations: ["berth.network": "lab", "berth.ip": "10.61.0.7"])
            defer { container.end() }
            // No "bundle" in the state: the hook finds config.json in its working directory.
            let attach = Harness.hook(sandbox, "createRuntime", state: container.state(bundle: false), cwd: container.bundle)
            #expect(attach.succeeded, "\(attach)")
            #expect(container.eth0 == ["10.61.0.7"])
            // The state's annotation wins over config.json's.
            let other = try HookContainer(id: "cfg2", annotations: ["berth.network": "lab", "berth.ip": "10.61.0.7"])
            defer { other.end() }
            let second = Harness.hook(sandbox, "createRuntime", state: other.state(annotations: ["berth.ip": "10.61.0.8"]), cwd: other.bundle)
            #expect(second.succeeded, "\(second)")
            #expect(other.eth0 == ["10.61.0.8"])
        }
    }

    @Test("createRuntime twice, prestart after it, poststop twice: one endpoint, one lease, one element, then none")
    func idempotence() throws {
        try withHostSandbox { sandbox in
            let container = try HookContainer(id: "twice", annotations: ["berth.publish": "8080:80"])
            defer { container.end() }
            for stage in ["createRuntime", "createRuntime", "prestart"] {
                let result = Harness.hook(sandbox, stage, state: container.state(), cwd: container.bundle)
                #expect(result.succeeded, "\(stage): \(result)")
            }
            #expect(Harness.endpoints(sandbox).count == 1)
            #expect(container.eth0.count == 1)
            #expect(Harness.berthVeths(sandbox).count == 1)
            #expect(Harness.ruleset(sandbox).components(separatedBy: "berth-endpoint twice").count - 1 == 1)
            container.end()
            for _ in 0..<2 {
                let result = Harness.hook(sandbox, "poststop", state: container.state(status: "stopped"), cwd: container.bundle)
                #expect(result.succeeded, "\(result)")
            }
            #expect(Harness.endpoints(sandbox).isEmpty)
            #expect(Harness.berthVeths(sandbox).isEmpty)
            // A poststop for a container never attached is fine too.
            #expect(Harness.hook(sandbox, "poststop", state: #"{"id":"never-seen","status":"stopped"}"#).succeeded)
        }
    }

    @Test("a restarted container (same id, new namespace, no poststop between) ends with one endpoint, in the new namespace")
    func restartWithoutPoststop() throws {
        try withHostSandbox { sandbox in
            let first = try HookContainer(id: "restarted", annotations: ["berth.publish": "8080:80"])
            try #require(Harness.hook(sandbox, "createRuntime", state: first.state(), cwd: first.bundle).succeeded)
            first.end()
            let second = try HookContainer(id: "restarted", annotations: ["berth.publish": "8080:80"])
            defer { second.end() }
            let again = Harness.hook(sandbox, "createRuntime", state: second.state(), cwd: second.bundle)
            #expect(again.succeeded, "\(again)")
            let endpoints = Harness.endpoints(sandbox)
            #expect(endpoints.count == 1)
            #expect(endpoints.first?["netns"] as? String == second.namespacePath)
            #expect(second.eth0.count == 1)
        }
    }

    @Test("a second live container with the same id (another runtime root) is refused; the first keeps its eth0, endpoint and port")
    func sameIDTwoLiveNamespaces() throws {
        try withHostSandbox { sandbox in
            let first = try HookContainer(id: "twin", annotations: ["berth.publish": "8080:80"])
            defer { first.end() }
            try #require(Harness.hook(sandbox, "createRuntime", state: first.state(), cwd: first.bundle).succeeded)
            let address = first.eth0
            let second = try HookContainer(id: "twin", annotations: ["berth.publish": "8081:80"])
            defer { second.end() }
            let refused = Harness.hook(sandbox, "createRuntime", state: second.state(), cwd: second.bundle)
            #expect(!refused.succeeded)
            #expect(refused.stderr.contains("another container with id twin holds it"), "\(refused)")
            #expect(refused.stderr.contains("another container id"), "\(refused)")
            #expect(first.eth0 == address && address.count == 1)
            #expect(second.eth0.isEmpty)
            let endpoints = Harness.endpoints(sandbox)
            #expect(endpoints.count == 1)
            #expect(endpoints.first?["netns"] as? String == first.namespacePath)
            #expect(Harness.berthVeths(sandbox).count == 1)
            #expect(Harness.ruleset(sandbox).contains("8080"))

            // runc destroys the refused container and runs its poststop hooks: the endpoint
            // recorded under its id is the live first one's, which keeps its eth0, lease,
            // veth and port; the poststop says why.
            second.end()
            let poststop = Harness.hook(sandbox, "poststop", state: second.state(status: "stopped"), cwd: second.bundle)
            #expect(poststop.succeeded, "\(poststop)")
            #expect(poststop.stderr.contains("endpoint twin stays") && poststop.stderr.contains(first.namespacePath), "\(poststop)")
            #expect(first.eth0 == address)
            let after = Harness.endpoints(sandbox)
            #expect(after.count == 1)
            #expect(after.first?["netns"] as? String == first.namespacePath)
            #expect(Harness.berthVeths(sandbox).count == 1)
            #expect(Harness.ruleset(sandbox).contains("8080"))
            // The first one's own poststop, once it is gone, detaches it.
            first.end()
            #expect(Harness.hook(sandbox, "poststop", state: first.state(status: "stopped"), cwd: first.bundle).succeeded)
            #expect(Harness.endpoints(sandbox).isEmpty)
            #expect(Harness.berthVeths(sandbox).isEmpty)
        }
    }

    @Test("a container joining an existing namespace by path is attached there; its poststop keeps the endpoint while the namespace lives, saying so")
    func joinedNamespace() throws {
        try withHostSandbox { sandbox in
            let joined = try sandbox.makeNamespace("joined")
            let container = try HookContainer(id: "joiner", namespace: .path(joined.path))
            defer { container.end() }
            // The process is in the joined namespace, as a runtime's is: the path is recorded.
            let attach = Harness.hook(sandbox, "createRuntime", state: container.state(), cwd: container.bundle)
            #expect(attach.succeeded, "\(attach)")
            func inJoined() -> [[String: Any]] {
                Harness.parse(Command.run(["ip", "-n", joined.name ?? "", "-j", "-4", "addr", "show", "dev", "eth0"]).stdout)
            }
            #expect(inJoined().count == 1)
            #expect(container.eth0 == inJoined().flatMap { ($0["addr_info"] as? [[String: Any]] ?? []).compactMap { $0["local"] as? String } })
            // Other containers may share the namespace: its eth0 stays, and poststop says why.
            let poststop = Harness.hook(sandbox, "poststop", state: container.state(status: "stopped"), cwd: container.bundle)
            #expect(poststop.succeeded, "\(poststop)")
            #expect(poststop.stderr.contains("endpoint joiner stays while its network namespace \(joined.path) is in use"), "\(poststop)")
            #expect(poststop.stderr.contains("berth gc removes the endpoint once that namespace is gone"))
            #expect(inJoined().count == 1)
            #expect(Harness.endpoints(sandbox).map { $0["id"] as? String } == ["joiner"])
            #expect(Harness.berthVeths(sandbox).count == 1)
        }
    }

    @Test("a joined namespace is the container process's: a config.json path to another namespace is refused, naming both")
    func joinedPathNotTheProcesses() throws {
        try withHostSandbox { sandbox in
            let joined = try sandbox.makeNamespace("joined-elsewhere")
            let container = try HookContainer(id: "misled", namespace: .path(joined.path))
            defer { container.end() }
            // The state's pid is a process in a namespace of its own, not the one config.json names.
            let other = try HookContainer(id: "elsewhere")
            defer { other.end() }
            let refused = Harness.hook(sandbox, "createRuntime", state: container.state(pid: other.pid), cwd: container.bundle)
            #expect(!refused.succeeded)
            #expect(refused.stderr.contains(joined.path) && refused.stderr.contains("/proc/\(other.pid)/ns/net"), "\(refused)")
            #expect(Harness.endpoints(sandbox).isEmpty)
            #expect(Harness.berthVeths(sandbox).isEmpty)
            #expect(other.eth0.isEmpty)
            // Its own process's pid: attached, and the path is what is recorded.
            let attach = Harness.hook(sandbox, "createRuntime", state: container.state(), cwd: container.bundle)
            #expect(attach.succeeded, "\(attach)")
            #expect(Harness.endpoints(sandbox).first?["netns"] as? String == joined.path)
        }
    }

    @Test("a pod member's poststop leaves the infra namespace wired; its restart keeps the endpoint; berth gc removes it once the namespace is gone")
    func joinedNamespaceOutlivesMember() throws {
        try withHostSandbox { sandbox in
            // The infra container holds the namespace; the member joins it by its process's path
            // (docker's --network container:NAME writes /proc/PID/ns/net).
            let infra = try HookContainer(id: "infra")
            defer { infra.end() }
            let member = try HookContainer(id: "member", annotations: ["berth.publish": "8080:80"], namespace: .path(infra.namespacePath))
            defer { member.end() }
            #expect(Harness.hook(sandbox, "createRuntime", state: member.state(), cwd: member.bundle).succeeded)
            #expect(infra.eth0.count == 1)
            let poststop = Harness.hook(sandbox, "poststop", state: member.state(status: "stopped"), cwd: member.bundle)
            #expect(poststop.succeeded && poststop.stderr.contains("endpoint member stays"), "\(poststop)")
            #expect(infra.eth0.count == 1)
            #expect(Harness.ruleset(sandbox).contains("berth-endpoint member"))
            // The member restarts in the same namespace: the endpoint it finds is kept.
            let again = Harness.hook(sandbox, "createRuntime", state: member.state(), cwd: member.bundle)
            #expect(again.succeeded && again.stderr.isEmpty, "\(again)")
            #expect(Harness.endpoints(sandbox).count == 1)
            #expect(Harness.berthVeths(sandbox).count == 1)
            #expect(infra.eth0.count == 1)
            // The pod goes away: the member's poststop found it in use, so gc removes it.
            #expect(Harness.hook(sandbox, "poststop", state: member.state(status: "stopped"), cwd: member.bundle).succeeded)
            member.end()
            infra.end()
            let gc = sandbox.berth(["gc"])
            #expect(gc.succeeded, "\(gc)")
            #expect(Harness.endpoints(sandbox).isEmpty)
            #expect(Harness.berthVeths(sandbox).isEmpty)
            #expect(!Harness.ruleset(sandbox).contains("berth-endpoint member"))
        }
    }

    @Test("poststop detaches a joiner whose namespace is gone; a joiner with no readable bundle keeps its endpoint while the namespace is alive and wired, and loses it once gone")
    func joinedNamespaceGone() throws {
        try withHostSandbox { sandbox in
            let infra = try HookContainer(id: "infra-gone")
            let member = try HookContainer(id: "member-gone", namespace: .path(infra.namespacePath))
            defer { member.end() }
            #expect(Harness.hook(sandbox, "createRuntime", state: member.state(), cwd: member.bundle).succeeded)
            member.end()
            infra.end()
            let poststop = Harness.hook(sandbox, "poststop", state: member.state(status: "stopped"), cwd: member.bundle)
            #expect(poststop.succeeded && poststop.stderr.isEmpty, "\(poststop)")
            #expect(Harness.endpoints(sandbox).isEmpty)

            // No bundle to read at poststop: whether it joined cannot be told, so the endpoint
            // stays while its namespace is alive and wired (never a namespace of the
            // container's own by then), and goes once that namespace is gone.
            let holder = try HookContainer(id: "holder")
            defer { holder.end() }
            let orphan = try HookContainer(id: "orphan", namespace: .path(holder.namespacePath))
            defer { orphan.end() }
            #expect(Harness.hook(sandbox, "createRuntime", state: orphan.state(), cwd: orphan.bundle).succeeded)
            let unreadable = Harness.hook(sandbox, "poststop", state: orphan.state(status: "stopped", bundle: false), cwd: "/")
            #expect(unreadable.succeeded && unreadable.stderr.contains("endpoint orphan stays"), "\(unreadable)")
            #expect(Harness.endpoints(sandbox).count == 1)
            #expect(holder.eth0.count == 1)
            orphan.end()
            holder.end()
            let gone = Harness.hook(sandbox, "poststop", state: orphan.state(status: "stopped", bundle: false), cwd: "/")
            #expect(gone.succeeded && gone.stderr.isEmpty, "\(gone)")
            #expect(Harness.endpoints(sandbox).isEmpty)
            #expect(Harness.berthVeths(sandbox).isEmpty)
        }
    }

    @Test("--state-dir wins over BERTH_STATE_DIR")
    func stateDirectoryOption() throws {
        try withHostSandbox { sandbox in
            let container = try HookContainer(id: "elsewhere")
            defer { container.end() }
            let other = sandbox.stateDirectory + "/other"
            let attach = Harness.hook(sandbox, "createRuntime", state: container.state(), cwd: container.bundle, options: ["--state-dir", other])
            #expect(attach.succeeded, "\(attach)")
            #expect(FileManager.default.fileExists(atPath: other + "/state.db"))
            #expect(Harness.endpoints(sandbox).isEmpty)
            #expect(container.eth0.count == 1)
            container.end()
            #expect(Harness.hook(sandbox, "poststop", state: container.state(status: "stopped"), options: ["--state-dir=\(other)"]).succeeded)
            #expect(Harness.berthVeths(sandbox).isEmpty)
        }
    }

    @Test("stages with nothing to do check the state and change nothing", arguments: ["createContainer", "startContainer", "poststart"])
    func quietStages(stage: String) throws {
        try withHostSandbox { sandbox in
            let container = try HookContainer(id: "quiet")
            defer { container.end() }
            #expect(Harness.hook(sandbox, stage, state: container.state(status: "created"), cwd: container.bundle).succeeded)
            #expect(Harness.hook(sandbox, stage, state: "{}", cwd: container.bundle).status == 1)
            #expect(!FileManager.default.fileExists(atPath: sandbox.stateDirectory + "/state.db"))
        }
    }
}
