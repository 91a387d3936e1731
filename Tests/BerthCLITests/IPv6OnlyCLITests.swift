import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// IPv6-only networks (`berth network create --ipv6 --ipv4=false`, issue 15) in the host
/// sandbox: the bridge holds only the IPv6 gateway, `ip berth` has no rule of the network,
/// a container has an IPv6 address and route and no IPv4 address besides lo's, reaches the
/// host and is reached by it over IPv6, `-p 8080:80` publishes `[::]:8080` alone; what
/// cannot be is refused naming the network.
@Suite("berth CLI: IPv6-only networks (kernel)", .enabled(if: try KernelTests.enabled))
struct IPv6OnlyCLITests {
    private func json(_ result: CommandResult) throws -> Any {
        try #require(result.succeeded, "\(result)")
        return try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
    }

    @Test("create, attach -p 8080:80, traffic both ways over IPv6 and from the LAN peer to [::]:8080, no IPv4 in the container, ls/inspect/ps show IPv6 alone, rm leaves nothing")
    func network() throws {
        try withHostSandbox { sandbox in
            let lan = try sandbox.makeLANNeighbor()
            let create = sandbox.berth(["network", "create", "six", "--ipv6", "--ipv4=false", "--subnet", "fd00:6::/64"])
            try #require(create.succeeded, "\(create)")
            let network = try #require((try json(sandbox.berth(["network", "inspect", "six", "--json"])) as? [[String: Any]])?.first)
            #expect(network["ipv4"] as? Bool == false && network["ipv6"] as? Bool == true)
            #expect(network["subnet"] is NSNull && network["gateway"] is NSNull)
            #expect(network["ipv6Subnet"] as? String == "fd00:6::/64" && network["ipv6Gateway"] as? String == "fd00:6::1")
            let bridge = try #require(network["bridge"] as? String)
            #expect(sandbox.witness(["ip", "-4", "-o", "addr", "show", "dev", bridge]).isEmpty)
            let gateway = sandbox.run(["ip", "-6", "-o", "addr", "show", "dev", bridge]).stdout
            #expect(gateway.contains("inet6 fd00:6::1/64") && gateway.contains("nodad"), "\(gateway)")
            // The ip table has no rule naming the bridge; the ip6 one has the network's.
            let table4 = sandbox.run(["nft", "list", "table", "ip", "berth"]).stdout
            #expect(!table4.contains(bridge), "\(table4)")
            let table6 = sandbox.run(["nft", "list", "table", "ip6", "berth"]).stdout
            #expect(table6.contains("ip6 daddr fd00:6::/64 iifname != \"\(bridge)\" drop"), "\(table6)")

            let ctr = try sandbox.makeNamespace()
            let ns = try #require(ctr.name)
            let attach = sandbox.berth(["attach", "six", "--netns", ns, "--id", "e1", "--name", "one", "-p", "8080:80"])
            try #require(attach.succeeded, "\(attach)")
            // No IPv4 address but lo's, no IPv4 route; the IPv6 address usable at once.
            let inet = Command.run(["ip", "-n", ns, "-4", "-o", "addr"]).stdout
            #expect(inet.split(separator: "\n").count == 1 && inet.contains("lo") && inet.contains("127.0.0.1/8"), "\(inet)")
            #expect(Command.witness(["ip", "-n", ns, "-4", "route"]).isEmpty)
            let inet6 = Command.run(["ip", "-n", ns, "-6", "-o", "addr", "show", "dev", "eth0"]).stdout
            let global = inet6.split(separator: "\n").first { $0.contains("inet6 fd00:6::2/64") }.map(String.init) ?? ""
            #expect(global.contains("nodad") && !global.contains("tentative"), "\(inet6)")
            #expect(Command.run(["ip", "-n", ns, "-6", "route", "show", "default"]).stdout.hasPrefix("default via fd00:6::1 dev eth0"))

            // The host reaches the container, and the container the host (a first
            // neighbour solicitation may wait a second: docs/ipv6.md).
            let server = try EchoServer(in: ctr, address: "::", port: 80, banner: "c1")
            defer { server.stop() }
            #expect((try? Probe.request(from: sandbox.namespace, to: "fd00:6::2", port: 80, timeout: 3))?.hasPrefix("c1 fd00:6::1 ") == true)
            let hostServer = try EchoServer(in: sandbox.namespace, address: "fd00:6::1", port: 7000, banner: "host")
            defer { hostServer.stop() }
            #expect((try? Probe.request(from: ctr, to: "fd00:6::1", port: 7000, timeout: 3))?.hasPrefix("host fd00:6::2 ") == true)
            // DNS (on by default): the resolver answers on the IPv6 gateway.
            let lookup = Command.run(["nsenter", "--net=\(ctr.path)", "--", "timeout", "5", "busybox", "nslookup", "-type=AAAA", "one", "fd00:6::1"])
            #expect(lookup.stdout.contains("fd00:6::2"), "\(lookup)")
            // The published port: [::] alone, answering the LAN peer with its source kept;
            // nothing of it in the ip table.
            #expect(sandbox.berth(["port", "e1"]).stdout == "80/tcp -> [::]:8080\n")
            let reply = try? Probe.request(from: lan.namespace, to: LANNeighbor.hostAddress6, port: 8080, timeout: 3)
            #expect(reply?.hasPrefix("c1 fd00:121::2 ") == true, "\(reply ?? "no answer")")
            #expect(!sandbox.nftTable("ip").contains("8080"))
            #expect(sandbox.run(["nft", "list", "table", "ip6", "berth"]).stdout.contains("tcp . 8080"))

            let endpoints = try #require(try json(sandbox.berth(["ps", "--json"])) as? [[String: Any]])
            #expect(endpoints.first?["ip"] is NSNull && endpoints.first?["ip6"] as? String == "fd00:6::2")
            let row = try #require(sandbox.berth(["ps"]).stdout.split(separator: "\n").first { $0.hasPrefix("e1 ") })
            #expect(row.hasSuffix(" fd00:6::2  [::]:8080->80/tcp"), "\(row)")
            let list = sandbox.berth(["network", "ls"]).stdout
            #expect(list.contains("fd00:6::/64") && list.contains("fd00:6::1") && !list.contains("Optional"), "\(list)")
            let text = sandbox.berth(["network", "inspect", "six"]).stdout
            #expect(!text.contains("Subnet:") && text.contains("IPv6 subnet:  fd00:6::/64"), "\(text)")

            #expect(sandbox.berth(["detach", "e1"]).succeeded)
            #expect(sandbox.berth(["network", "rm", "six"]).succeeded)
            #expect(CLIOracle.bridgeNames(sandbox).isEmpty)
            #expect(!sandbox.nftTable("ip6").contains("fd00:6::"))
        }
    }

    @Test("refused naming the problem, nothing made", arguments: [
        (["network", "create", "six", "--ipv4=false"],
         "would have neither IPv4 nor IPv6: IPv4 is off and IPv6 was not asked for (add --ipv6 for an IPv6-only network, or leave out --ipv4=false)"),
        (["network", "create", "six", "--ipv4", "false", "--ipv6", "--subnet", "10.6.0.0/24"],
         "IPv4 subnet 10.6.0.0/24 cannot be given (leave out the IPv4 --subnet, or --ipv4=false)"),
        (["network", "create", "six", "--ipv4=false", "--ipv6", "--gateway", "10.6.0.1"],
         "IPv4 gateway 10.6.0.1 cannot be given (leave out the IPv4 --gateway, or --ipv4=false)"),
        (["network", "create", "six", "--bridge-existing"], "using an existing bridge needs the bridge's name (add --bridge)"),
    ])
    func refusedCreate(_ args: [String], _ message: String) throws {
        try withHostSandbox { sandbox in
            let result = sandbox.berth(args)
            #expect(result.status == 1 && result.stderr.contains(message), "\(result)")
            #expect(CLIOracle.bridgeNames(sandbox).isEmpty)
            #expect(sandbox.berth(["network", "ls", "--json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        }
    }

    @Test("attach --ip, and -p with an IPv4 host address, are refused naming the network, nothing made")
    func refusedAttach() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "six", "--ipv6", "--ipv4=false"]).succeeded)
            let ns = try #require(try sandbox.makeNamespace().name)
            let ip = sandbox.berth(["attach", "six", "--netns", ns, "--ip", "10.6.0.5"])
            #expect(ip.status == 1 && ip.stderr.contains("network \"six\" is IPv6-only: IPv4 address 10.6.0.5 cannot be given"), "\(ip)")
            for spec in ["127.0.0.1:8080:80", "0.0.0.0:8080:80"] {
                let port = sandbox.berth(["attach", "six", "--netns", ns, "-p", spec])
                #expect(port.status == 1 && port.stderr.contains("IPv4 host address \(spec.prefix { $0 != ":" }) on network six, which is IPv6-only"), "\(port)")
            }
            #expect(!Command.witness(["ip", "-n", ns, "link"]).contains("eth0"))
            #expect(sandbox.berth(["ps", "--json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        }
    }
}
