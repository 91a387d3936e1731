import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// berth-cni on a dual-stack network, the built binary driven as a runtime drives it, in a
/// host sandbox: both addresses and default routes in the container, IPv6 traffic to it,
/// CHECK of both families, DEL leaving nothing; and host-local handing out both families.
@Suite("berth-cni dual stack: ADD, CHECK, DEL against the kernel", .enabled(if: try KernelTests.enabled))
struct CNIDualStackKernelTests {
    @Test("ADD on a dual-stack network: both addresses and default routes inside, the host reaches the container over IPv6, CHECK sees a lost IPv6 address and route, DEL leaves nothing",
          arguments: ["0.4.0", "1.1.0"])
    func lifecycle(version: String) throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let container = try sandbox.makeNamespace()
            let ns = try #require(container.name)
            let config = cni.config(version: version, extra: #""subnet":"10.77.0.0/24","ipv6Subnet":"fd00:77::/64""#)
            let add = cni.run("ADD", config, containerID: "c1", netns: container.path)
            try #require(add.status == 0, "\(add)")
            let result = try #require(add.json)
            let tag = version == "0.4.0" ? (#""version":"4","#, #""version":"6","#) : ("", "")
            #expect(result["ips"] == (try JSONValue(parsing: """
                [{\(tag.0)"interface":2,"address":"10.77.0.2/24","gateway":"10.77.0.1"},\
                {\(tag.1)"interface":2,"address":"fd00:77::2/64","gateway":"fd00:77::1"}]
                """)), "\(add)")
            #expect(result["routes"] == (try JSONValue(parsing: #"[{"dst":"0.0.0.0/0","gw":"10.77.0.1"},{"dst":"::/0","gw":"fd00:77::1"}]"#)))
            let inside6 = sandbox.run(["ip", "-n", ns, "-6", "-o", "addr", "show", "dev", "eth0"]).stdout
            #expect(inside6.contains("inet6 fd00:77::2/64"), "\(inside6)")
            #expect(sandbox.run(["ip", "-n", ns, "-4", "-o", "addr", "show", "dev", "eth0"]).stdout.contains("10.77.0.2/24"))
            #expect(sandbox.run(["ip", "-n", ns, "-6", "route", "show", "default"]).stdout.hasPrefix("default via fd00:77::1 dev eth0"))
            #expect(sandbox.run(["ip", "-n", ns, "-4", "route", "show", "default"]).stdout.hasPrefix("default via 10.77.0.1 dev eth0"))
            // Berth's own view: the network is dual-stack, the endpoint has both addresses.
            #expect(sandbox.berth(["ps"]).stdout.contains("10.77.0.2,fd00:77::2"))

            // IPv6 from the host sandbox to the container (the first neighbour solicitation
            // may wait a second: docs/ipv6.md).
            let server = try EchoServer(in: container, address: "::", port: 80, banner: "ctr")
            defer { server.stop() }
            #expect((try? Probe.request(from: sandbox.namespace, to: "fd00:77::2", port: 80, payload: "six", timeout: 3)) == "ctr fd00:77::1 six")

            let withPrevious = CNIHarness.with(prevResult: add.stdout, config)
            let check = cni.run("CHECK", withPrevious, containerID: "c1", netns: container.path)
            #expect(check.status == 0 && check.stdout.isEmpty, "\(check)")
            // A prevResult that lacks the IPv6 address is a problem CHECK names.
            let v4Only = CNIHarness.with(prevResult: #"{"cniVersion":"\#(version)","ips":[{"address":"10.77.0.2/24"}]}"#, config)
            let partial = cni.run("CHECK", v4Only, containerID: "c1", netns: container.path)
            #expect(partial.code == 110 && partial.message.contains("prevResult does not list the attached address fd00:77::2"), "\(partial)")
            // A lost IPv6 default route, then a lost IPv6 address (which takes its routes).
            #expect(sandbox.run(["ip", "-n", ns, "-6", "route", "del", "default"]).succeeded)
            let noRoute = cni.run("CHECK", withPrevious, containerID: "c1", netns: container.path)
            #expect(noRoute.code == 110 && noRoute.message.contains("IPv6 default route via fd00:77::1: missing"), "\(noRoute)")
            #expect(!noRoute.message.contains("address"), "\(noRoute)")
            #expect(sandbox.run(["ip", "-n", ns, "addr", "del", "fd00:77::2/64", "dev", "eth0"]).succeeded)
            let noAddress = cni.run("CHECK", withPrevious, containerID: "c1", netns: container.path)
            #expect(noAddress.code == 110 && noAddress.message.contains("address fd00:77::2/64 on eth0: missing"), "\(noAddress)")
            // berth check sees the same, and says a re-attach repairs it.
            let berthCheck = sandbox.berth(["check"])
            #expect(!berthCheck.succeeded && (berthCheck.stdout + berthCheck.stderr).contains("address fd00:77::2/64 on eth0"), "\(berthCheck)")

            let del = cni.run("DEL", withPrevious, containerID: "c1", netns: container.path)
            #expect(del.status == 0 && del.stdout.isEmpty, "\(del)")
            #expect(cni.hostVeths().isEmpty)
            #expect(!sandbox.berthWitness(["ps"]).contains("c1-eth0"))
            // Both leases are free: the next ADD gets the same addresses.
            let again = cni.run("ADD", config, containerID: "c2", netns: try sandbox.makeNamespace().path)
            #expect(again.json?["ips"]?[1]?["address"] == "fd00:77::2/64", "\(again)")
        }
    }

    @Test("the ips capability with an IPv6 address; a dual-stack configuration for an IPv4-only network is refused with code 7, nothing made")
    func requestedAndMismatch() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let config = cni.config(extra: #""ipv6":true,"runtimeConfig":{"ips":["fd00:77::77"]}"#)
            let first = cni.run("ADD", cni.config(extra: #""subnet":"10.77.0.0/24","ipv6Subnet":"fd00:77::/64""#), containerID: "c0",
                                netns: try sandbox.makeNamespace().path)
            try #require(first.status == 0, "\(first)")
            let container = try sandbox.makeNamespace()
            let add = cni.run("ADD", config, containerID: "c1", netns: container.path)
            try #require(add.status == 0, "\(add)")
            #expect(add.json?["ips"]?[1]?["address"] == "fd00:77::77/64", "\(add)")
            #expect(add.json?["ips"]?[0]?["address"] == "10.77.0.3/24", "\(add)")

            let v4net = cni.config("v4net", extra: #""subnet":"10.78.0.0/24""#)
            #expect(cni.run("ADD", v4net, containerID: "c2", netns: try sandbox.makeNamespace().path).status == 0)
            let veths = cni.hostVeths()
            let other = try sandbox.makeNamespace()
            let refused = cni.run("ADD", cni.config("v4net", extra: #""ipv6":true"#), containerID: "c3", netns: other.path)
            #expect(refused.code == 7 && refused.message == "network v4net exists with IPv4 only, but the configuration asks for IPv6", "\(refused)")
            #expect(cni.hostVeths() == veths)
            #expect(!sandbox.witness(["ip", "-n", try #require(other.name), "link"]).contains("eth0"))
        }
    }

    @Test("ipam host-local with an IPv4 and an IPv6 range: the container gets both addresses from it, DEL gives both back",
          .enabled(if: try Prerequisite.installed(FileManager.default.isExecutableFile(atPath: "/usr/lib/cni/host-local"), "/usr/lib/cni/host-local (containernetworking-plugins)")))
    func hostLocalDualStack() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let dataDir = sandbox.stateDirectory + "/host-local"
            let ipam = #""ipam":{"type":"host-local","dataDir":"\#(dataDir)","ranges":[[{"subnet":"10.78.0.0/24","rangeStart":"10.78.0.50"}],[{"subnet":"fd00:78::/64","rangeStart":"fd00:78::50"}]]}"#
            let config = cni.config("k8s", extra: ipam)
            let container = try sandbox.makeNamespace()
            let ns = try #require(container.name)
            let add = cni.run("ADD", config, containerID: "pod1", netns: container.path)
            try #require(add.status == 0, "\(add)")
            #expect(add.json?["ips"]?[0]?["address"] == "10.78.0.50/24", "\(add)")
            #expect(add.json?["ips"]?[1]?["address"] == "fd00:78::50/64", "\(add)")
            #expect(add.json?["ips"]?[1]?["gateway"] == "fd00:78::1", "\(add)")
            #expect(FileManager.default.fileExists(atPath: dataDir + "/k8s/fd00:78::50"))
            #expect(sandbox.run(["ip", "-n", ns, "-6", "-o", "addr", "show", "dev", "eth0"]).stdout.contains("inet6 fd00:78::50/64"))
            let bridge = try #require(add.json?["interfaces"]?[0]?["name"]?.stringValue)
            #expect(sandbox.run(["ip", "-6", "-o", "addr", "show", "dev", bridge]).stdout.contains("inet6 fd00:78::1/64"))
            let check = cni.run("CHECK", CNIHarness.with(prevResult: add.stdout, config), containerID: "pod1", netns: container.path)
            #expect(check.status == 0, "\(check)")

            let del = cni.run("DEL", CNIHarness.with(prevResult: add.stdout, config), containerID: "pod1", netns: container.path)
            #expect(del.status == 0, "\(del)")
            #expect(!FileManager.default.fileExists(atPath: dataDir + "/k8s/fd00:78::50"))
            #expect(!FileManager.default.fileExists(atPath: dataDir + "/k8s/10.78.0.50"))
            #expect(cni.hostVeths().isEmpty)
        }
    }

    @Test("portMappings on a dual-stack network: an empty hostIP answers the LAN peer on the host's IPv4 and IPv6 addresses, 0.0.0.0 on IPv4 only; DEL removes both tables' elements")
    func publishing() throws {
        try withHostSandbox { sandbox in
            let lan = try sandbox.makeLANNeighbor()
            let cni = CNIHarness(sandbox: sandbox)
            let container = try sandbox.makeNamespace()
            let ports = #""runtimeConfig":{"portMappings":[{"hostPort":8080,"containerPort":80,"hostIP":""},"# +
                #"{"hostPort":8081,"containerPort":80,"hostIP":"0.0.0.0"}]}"#
            let config = cni.config(extra: #""subnet":"10.77.0.0/24","ipv6Subnet":"fd00:77::/64","# + ports)
            let add = cni.run("ADD", config, containerID: "c1", netns: container.path)
            try #require(add.status == 0, "\(add)")
            // The echo servers' IPv6 socket is IPv6-only, so each family has its own.
            let server = try EchoServer(in: container, address: "::", port: 80, banner: "ctr")
            defer { server.stop() }
            let server4 = try EchoServer(in: container, address: "0.0.0.0", port: 80, banner: "ctr")
            defer { server4.stop() }
            // One attempt: the bridge (made by this ADD) never has a tentative link-local
            // (accept_dad=0), so the host solicits the container's address for the first SYN
            // it forwards. With DAD the SYN went nowhere for 1-2 s, and a connection failed
            // with EHOSTUNREACH at 3 s when DAD ran longer (docs/ipv6.md).
            let six: String
            do {
                six = try Probe.request(from: lan.namespace, to: LANNeighbor.hostAddress6, port: 8080, timeout: 3)
            } catch {
                six = "no answer: \(error)"
            }
            #expect(six.hasPrefix("ctr \(LANNeighbor.address6) "), "\(six)")
            let four = try? Probe.request(from: lan.namespace, to: LANNeighbor.hostAddress, port: 8080, timeout: 3)
            #expect(four?.hasPrefix("ctr ") == true, "\(four ?? "no answer")")
            #expect((try? Probe.request(from: lan.namespace, to: LANNeighbor.hostAddress, port: 8081, timeout: 3))?.hasPrefix("ctr ") == true)
            Probe.expectNoReply(.refused, from: lan.namespace, to: LANNeighbor.hostAddress6, port: 8081, "0.0.0.0 publishes on IPv4 only")
            let ruleset = sandbox.run(["nft", "list", "ruleset"]).stdout
            #expect(ruleset.contains("fd00:77::2 . 80"), "\(ruleset)")

            let del = cni.run("DEL", CNIHarness.with(prevResult: add.stdout, config), containerID: "c1", netns: container.path)
            #expect(del.status == 0, "\(del)")
            let after = sandbox.run(["nft", "list", "ruleset"]).stdout
            #expect(!after.contains("fd00:77::2 . 80") && !after.contains("10.77.0.2 . 80"), "\(after)")
        }
    }
}
