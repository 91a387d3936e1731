import BerthCore
import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

/// The built berth-cni binary driven as a runtime drives it, in a host sandbox.
@Suite("berth-cni: ADD, CHECK, DEL against the kernel", .enabled(if: try KernelTests.enabled))
struct CNIKernelTests {
    let ports = #""runtimeConfig":{"portMappings":[{"HostPort":8080,"ContainerPort":80,"Protocol":"tcp","HostIP":""}]}"#

    @Test("ADD prints the result, bytes go through the published port, CHECK passes (and tolerates an extra route), DEL leaves nothing")
    func lifecycle() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let container = try sandbox.makeNamespace()
            let server = try EchoServer(in: container, port: 80, banner: "ctr")
            defer { server.stop() }
            let config = cni.config(extra: #""subnet":"10.77.0.0/24","# + ports)
            let add = cni.run("ADD", config, containerID: "c1", netns: container.path)
            try #require(add.status == 0, "\(add)")
            let result = try #require(add.json)
            #expect(result["cniVersion"] == "1.0.0")
            #expect(result["ips"] == (try JSONValue(parsing: #"[{"interface":2,"address":"10.77.0.2/24","gateway":"10.77.0.1"}]"#)))
            #expect(result["routes"] == (try JSONValue(parsing: #"[{"dst":"0.0.0.0/0","gw":"10.77.0.1"}]"#)))
            #expect(result["interfaces"]?[2]?["name"] == "eth0")
            #expect(result["interfaces"]?[2]?["sandbox"] == .string(container.path))
            #expect(result["interfaces"]?[1]?["name"]?.stringValue?.hasPrefix("vb") == true)
            #expect(sandbox.run(["ip", "-n", try #require(container.name), "-4", "-o", "addr", "show", "eth0"]).stdout.contains("10.77.0.2/24"))
            // The MACs the result names (taken from the attach itself, not looked up again) are the kernel's.
            for (index, namespace) in [(0, nil), (1, nil), (2, container.name)] {
                let name = try #require(result["interfaces"]?[index]?["name"]?.stringValue)
                let ip = ["ip"] + (namespace.map { ["-n", $0] } ?? []) + ["-o", "link", "show", "dev", name]
                let mac = try #require(result["interfaces"]?[index]?["mac"]?.stringValue)
                #expect(sandbox.run(ip).stdout.contains("link/ether \(mac) "), "\(name): \(mac)")
            }

            #expect(try Probe.request(from: sandbox.namespace, to: "127.0.0.1", port: 8080, payload: "lo") == "ctr 10.77.0.1 lo")
            #expect(try Probe.request(from: sandbox.namespace, to: "10.77.0.1", port: 8080, payload: "gw").hasPrefix("ctr "))
            // Berth's own tools see the CNI endpoint.
            let ps = sandbox.berth(["ps"])
            #expect(ps.stdout.contains("c1-eth0"), "\(ps)")

            let withPrevious = CNIHarness.with(prevResult: add.stdout, config)
            let check = cni.run("CHECK", withPrevious, containerID: "c1", netns: container.path)
            #expect(check.status == 0 && check.stdout.isEmpty, "\(check)")
            // A later plugin's extra route is not a problem.
            #expect(sandbox.run(["ip", "-n", try #require(container.name), "route", "add", "192.0.2.0/24", "via", "10.77.0.1"]).succeeded)
            #expect(cni.run("CHECK", withPrevious, containerID: "c1", netns: container.path).status == 0)
            // A lost address is.
            #expect(sandbox.run(["ip", "-n", try #require(container.name), "addr", "del", "10.77.0.2/24", "dev", "eth0"]).succeeded)
            let broken = cni.run("CHECK", withPrevious, containerID: "c1", netns: container.path)
            #expect(broken.status == 1)
            #expect(broken.code == 110)
            #expect(broken.message.contains("address 10.77.0.2/24 on eth0: missing"), "\(broken)")

            let del = cni.run("DEL", withPrevious, containerID: "c1", netns: container.path)
            #expect(del.status == 0 && del.stdout.isEmpty, "\(del)")
            #expect(cni.hostVeths().isEmpty)
            #expect(!cni.ruleset().contains("berth-endpoint c1-eth0"))
            #expect(!sandbox.berthWitness(["ps"]).contains("c1-eth0"))
            #expect(throws: (any Error).self) { try Probe.request(from: sandbox.namespace, to: "127.0.0.1", port: 8080, timeout: 0.5) }
        }
    }

    /// CHECK "should return an error if a resource created by the plugin, and listed in
    /// prevResult, is missing": a main plugin's configuration whose network the state does
    /// not know (its stateDir changed, or the network went) is an unknown container (code 3),
    /// never a chained one with nothing to check.
    @Test("CHECK of a main plugin's attachment the state does not know is code 3, not success")
    func checkUnknownToState() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let config = cni.config(extra: #""subnet":"10.77.9.0/24""#)
            let namespace = try sandbox.makeNamespace()
            let previous = #"{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"\#(namespace.path)"}],"ips":[{"address":"10.77.9.2/24","interface":0}]}"#
            let check = cni.run("CHECK", CNIHarness.with(prevResult: previous, config), containerID: "c1", netns: namespace.path)
            #expect(check.status == 1 && check.code == 3, "\(check)")
        }
    }

    @Test("DEL is idempotent: twice, never added, without prevResult and CNI_NETNS, after the namespace is gone")
    func deleteCases() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let config = cni.config(extra: #""subnet":"10.77.0.0/24","# + ports)
            #expect(cni.run("DEL", config, containerID: "never", netns: "").status == 0)

            let first = try sandbox.makeNamespace()
            let add = cni.run("ADD", config, containerID: "c1", netns: first.path)
            try #require(add.status == 0, "\(add)")
            // containerd's second DEL at RemovePodSandbox: no prevResult, CNI_NETNS empty.
            let bare = cni.run("DEL", config, containerID: "c1", netns: "")
            #expect(bare.status == 0, "\(bare)")
            #expect(cni.hostVeths().isEmpty)
            #expect(!cni.ruleset().contains("berth-endpoint c1-eth0"))
            #expect(cni.run("DEL", CNIHarness.with(prevResult: add.stdout, config), containerID: "c1", netns: first.path).status == 0)

            let second = try sandbox.makeNamespace()
            let name = try #require(second.name)
            let again = cni.run("ADD", config, containerID: "c2", netns: second.path)
            try #require(again.status == 0, "\(again)")
            try NetworkNamespace.delete(named: name)
            let gone = cni.run("DEL", CNIHarness.with(prevResult: again.stdout, config), containerID: "c2", netns: second.path)
            #expect(gone.status == 0, "\(gone)")
            #expect(!cni.ruleset().contains("berth-endpoint c2-eth0"))
            #expect(!sandbox.berthWitness(["ps"]).contains("c2-eth0"))
            // The freed lease is handed out again.
            let third = try sandbox.makeNamespace()
            #expect(cni.run("ADD", config, containerID: "c3", netns: third.path).address == "10.77.0.2")
        }
    }

    @Test("a refused ADD (host port held by another attachment) exits 1 with code 100 naming the owner and leaves nothing")
    func portConflict() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let config = cni.config(extra: #""subnet":"10.77.0.0/24","# + ports)
            let owner = try sandbox.makeNamespace(), other = try sandbox.makeNamespace()
            #expect(cni.run("ADD", config, containerID: "owner", netns: owner.path).status == 0)
            let veths = cni.hostVeths()
            let refused = cni.run("ADD", config, containerID: "late", netns: other.path)
            #expect(refused.status == 1)
            #expect(refused.code == 100)
            #expect(refused.message.contains("owner-eth0"), "\(refused)")
            #expect(cni.hostVeths() == veths)
            #expect(!sandbox.witness(["ip", "-n", try #require(other.name), "link"]).contains("eth0"))
        }
    }

    @Test("ADD refuses the sandbox's own namespace and a regular file as CNI_NETNS with code 4; nothing is made")
    func namespaceRefusals() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let config = cni.config(extra: #""subnet":"10.77.0.0/24""#)
            for netns in [sandbox.namespace.path, "/proc/self/ns/net", "/etc/hostname", "/run/netns/bt-missing-ns"] {
                let refused = cni.run("ADD", config, containerID: "c1", netns: netns)
                #expect(refused.code == 4, "\(netns): \(refused)")
            }
            #expect(cni.hostVeths().isEmpty)
            #expect(!sandbox.berthWitness(["network", "ls"]).contains("cninet"))
        }
    }

    @Test("a relative stateDir (code 7) or BERTH_STATE_DIR (code 4) is refused, naming it, before a state is made in the working directory",
          arguments: ["ADD", "DEL", "STATUS"])
    func relativeStateDirectory(command: String) throws {
        try withHostSandbox { sandbox in
            let cwd = sandbox.stateDirectory + "/runtime-cwd"
            try FileManager.default.createDirectory(atPath: cwd, withIntermediateDirectories: true)
            let container = try sandbox.makeNamespace()
            func run(_ config: String, _ environment: [String]) -> CNIOutcome {
                let env = environment + ["CNI_COMMAND=\(command)", "CNI_PATH=/usr/lib/cni", "CNI_CONTAINERID=c1", "CNI_NETNS=\(container.path)",
                                         "CNI_IFNAME=eth0"]
                return CNIOutcome(result: sandbox.run(["env", "-C", cwd] + env + [CNIHarness.binary], input: config))
            }
            let inConfig = run(#"{"cniVersion":"1.1.0","name":"cninet","type":"berth-cni","subnet":"10.77.0.0/24","stateDir":"state"}"#, [])
            #expect(inConfig.status == 1 && inConfig.code == 7, "\(inConfig)")
            #expect(inConfig.message == #""stateDir": state is not an absolute path"#, "\(inConfig)")
            #expect(inConfig.json?["details"]?.stringValue?.contains("give \"stateDir\" an absolute path") == true, "\(inConfig)")
            let inEnvironment = run(#"{"cniVersion":"1.1.0","name":"cninet","type":"berth-cni","subnet":"10.77.0.0/24"}"#, ["BERTH_STATE_DIR=berth"])
            #expect(inEnvironment.status == 1 && inEnvironment.code == 4, "\(inEnvironment)")
            #expect(inEnvironment.message == "BERTH_STATE_DIR=berth is not an absolute path", "\(inEnvironment)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: cwd).isEmpty)
            #expect(CNIHarness(sandbox: sandbox).hostVeths().isEmpty)
        }
    }

    @Test("a DEL interrupted mid-detach is finished by the next DEL; CHECK meanwhile says it is incomplete",
          .enabled(if: CNIHarness.binary.contains("/debug/")), arguments: ["detach.mark", "detach.unplug", "detach.forget"])
    func interruptedDelete(_ step: String) throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let config = cni.config(extra: #""subnet":"10.77.0.0/24","# + ports)
            let container = try sandbox.makeNamespace()
            let add = cni.run("ADD", config, containerID: "c1", netns: container.path)
            try #require(add.status == 0, "\(add)")
            let withPrevious = CNIHarness.with(prevResult: add.stdout, config)
            let failed = cni.run("DEL", withPrevious, containerID: "c1", netns: container.path, environment: ["BERTH_FAILPOINT=\(step)"])
            #expect(failed.status != 0, "\(failed)")
            let check = cni.run("CHECK", withPrevious, containerID: "c1", netns: container.path)
            #expect(check.code == 110 && check.message.contains("attach or detach: interrupted"), "\(check)")

            let del = cni.run("DEL", withPrevious, containerID: "c1", netns: container.path)
            #expect(del.status == 0, "\(del)")
            #expect(cni.hostVeths().isEmpty)
            #expect(!cni.ruleset().contains("berth-endpoint c1-eth0"))
            #expect(!sandbox.berthWitness(["ps"]).contains("c1-eth0"))
            // The same attachment comes back with the same address and port.
            let again = cni.run("ADD", config, containerID: "c1", netns: container.path)
            #expect(again.address == "10.77.0.2", "\(again)")
            #expect(sandbox.berth(["check"]).succeeded)
        }
    }
}
