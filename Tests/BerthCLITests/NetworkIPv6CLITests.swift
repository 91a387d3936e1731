import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// `berth network create --ipv6` in the host sandbox (issue 15, phase 2): the bridge holds
/// the IPv6 gateway usable at once, IPv6 forwarding is on, the `ip6 berth` guard stops a LAN
/// peer that routes the network's /64 via the host, ls and inspect show both families, and
/// what is refused leaves nothing made.
@Suite("berth CLI: dual-stack networks (kernel)", .enabled(if: try KernelTests.enabled))
struct NetworkIPv6CLITests {
    private func inspect(_ sandbox: HostSandbox, _ name: String) throws -> [String: Any] {
        let result = sandbox.berth(["network", "inspect", name, "--json"])
        try #require(result.succeeded, "\(result)")
        return try #require((try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])?.first)
    }

    @Test("--ipv6 with both subnets: v6 gateway with nodad on the bridge, forwarding on, the guard holds, ls and inspect show both, rm takes the v6 rules")
    func dualStack() throws {
        try withHostSandbox { sandbox in
            let lan = try sandbox.makeLANNeighbor()
            let create = sandbox.berth(["network", "create", "web", "--ipv6", "--subnet", "10.9.0.0/24", "--subnet", "fd00:9::/64"])
            try #require(create.succeeded, "\(create)")
            let network = try inspect(sandbox, "web")
            #expect(network["subnet"] as? String == "10.9.0.0/24" && network["gateway"] as? String == "10.9.0.1")
            #expect(network["ipv6Subnet"] as? String == "fd00:9::/64" && network["ipv6Gateway"] as? String == "fd00:9::1")
            let bridge = try #require(network["bridge"] as? String)
            let addresses = sandbox.run(["ip", "-6", "-o", "addr", "show", "dev", bridge]).stdout
            #expect(addresses.contains("inet6 fd00:9::1/64") && addresses.contains("nodad") && !addresses.contains("tentative"), "\(addresses)")
            #expect(sandbox.run(["sysctl", "-n", "net.ipv6.conf.all.forwarding"]).stdout.hasPrefix("1"))
            #expect(sandbox.run(["sysctl", "-n", "net.ipv6.conf.\(bridge).accept_ra"]).stdout.hasPrefix("0"))
            let table = sandbox.run(["nft", "list", "table", "ip6", "berth"]).stdout
            #expect(table.contains("ip6 daddr fd00:9::/64 iifname != \"\(bridge)\" drop"), "\(table)")

            // The guard: a host service on [::]:7000 answers the LAN peer on the host's LAN
            // address (positive control), not on the network's gateway through a route (as
            // for IPv4, the guard takes anything for the subnet that did not come from the
            // bridge, the host's own loopback traffic included).
            let server = try EchoServer(in: sandbox.namespace, address: "::", port: 7000, banner: "host")
            defer { server.stop() }
            try lan.route("fd00:9::/64")
            // A first neighbour solicitation may go unanswered for a second (docs/ipv6.md).
            // The reply is the banner and the source the server saw.
            #expect((try? Probe.request(from: lan.namespace, to: LANNeighbor.hostAddress6, port: 7000, timeout: 3))?.hasPrefix("host fd00:121::2 ") == true)
            // Positive control: with the guard flushed the gateway answers over the route;
            // reconcile puts the guard back, and then it drops.
            let flushed = sandbox.run(["nft", "flush", "chain", "ip6", "berth", "guard"])
            try #require(flushed.succeeded, "\(flushed)")
            #expect((try? Probe.request(from: lan.namespace, to: "fd00:9::1", port: 7000, timeout: 3))?.hasPrefix("host fd00:121::2 ") == true)
            let reconcile = sandbox.berth(["reconcile"])
            #expect(reconcile.succeeded && reconcile.stdout.contains("ip6 daddr fd00:9::/64"), "\(reconcile)")
            Probe.expectNoReply(.dropped, from: lan.namespace, to: "fd00:9::1", port: 7000, "the guard")

            let list = sandbox.berth(["network", "ls"]).stdout
            #expect(list.contains("10.9.0.0/24,fd00:9::/64") && list.contains("10.9.0.1,fd00:9::1"), "\(list)")
            let text = sandbox.berth(["network", "inspect", "web"]).stdout
            #expect(text.contains("\nIPv6 subnet:  fd00:9::/64\n") && text.contains("\nIPv6 gateway: fd00:9::1\n") && text.hasPrefix("Name:         web\n"), "\(text)")

            #expect(sandbox.berth(["network", "rm", "web"]).succeeded)
            #expect(!sandbox.nftTable("ip6").contains("fd00:9::"))
            #expect(CLIOracle.bridgeNames(sandbox).isEmpty)
        }
    }

    @Test("--ipv6 alone picks a unique local /64, the same one for the same name again")
    func automatic() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "auto", "--ipv6"]).succeeded)
            let first = try #require(try inspect(sandbox, "auto")["ipv6Subnet"] as? String)
            let subnet = try CIDR(parsing: first)
            #expect(subnet.prefixLength == 64 && first.hasPrefix("fd"))
            #expect(try inspect(sandbox, "auto")["subnet"] as? String != nil)
            #expect(sandbox.berth(["network", "rm", "auto"]).succeeded)
            try #require(sandbox.berth(["network", "create", "auto", "--ipv6"]).succeeded)
            #expect(try inspect(sandbox, "auto")["ipv6Subnet"] as? String == first)
            // An IPv4-only network has none.
            try #require(sandbox.berth(["network", "create", "plain"]).succeeded)
            #expect(try inspect(sandbox, "plain")["ipv6Subnet"] is NSNull)
        }
    }

    @Test("turning IPv6 forwarding on while lan0 (accept_ra=1) holds an RA-learned default route: a warning on stderr naming lan0; none for the next network")
    func forwardingWarning() throws {
        try withHostSandbox { sandbox in
            // A veth pair stands for the LAN link (no dummy driver here).
            for argv in [["ip", "link", "add", "lan0", "type", "veth", "peer", "name", "lan0p"], ["sysctl", "-qw", "net.ipv6.conf.lan0.accept_ra=1"],
                         // IPv4 forwarding on already: its own warning is another test's.
                         ["sysctl", "-qw", "net.ipv4.ip_forward=1"],
                         ["ip", "link", "set", "lan0p", "up"], ["ip", "link", "set", "lan0", "up"], ["ip", "-6", "route", "add", "default", "via", "fe80::1", "dev", "lan0", "proto", "ra"]] {
                let result = sandbox.run(argv)
                try #require(result.succeeded, "\(argv): \(result)")
            }
            try #require(sandbox.run(["sysctl", "-n", "net.ipv6.conf.all.forwarding"]).stdout.hasPrefix("0"))
            let create = sandbox.berth(["network", "create", "web", "--ipv6"])
            #expect(create.succeeded && create.stdout == "web\n", "\(create)")
            #expect(create.stderr == "berth: warning: IPv6 forwarding is now on (net.ipv6.conf.all.forwarding=1, it was 0): this host now routes "
                    + "IPv6 packets between all its interfaces, not only for Berth's bridges (Berth's table filters only what enters or leaves its bridges)\n"
                    + "berth: warning: IPv6 forwarding is now on (net.ipv6.conf.all.forwarding=1), so lan0 ignores router advertisements: "
                    + "its IPv6 default route via fe80::1, learned from them, is no longer renewed and goes when its lifetime ends "
                    + "(set net.ipv6.conf.lan0.accept_ra=2 to keep taking them while forwarding)\n", "\(create)")
            let second = sandbox.berth(["network", "create", "db", "--ipv6"])
            #expect(second.succeeded && second.stderr.isEmpty, "\(second)")
        }
    }

    @Test("IPv6 disabled on the host: refused saying so, no bridge made; an IPv4 network still works")
    func disabled() throws {
        try withHostSandbox { sandbox in
            #expect(sandbox.run(["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"]).succeeded)
            let result = sandbox.berth(["network", "create", "web", "--ipv6"])
            #expect(result.status == 1 && result.stderr.contains("IPv6 is disabled on this host"), "\(result)")
            #expect(CLIOracle.bridgeNames(sandbox).isEmpty)
            #expect(sandbox.berth(["network", "create", "web"]).succeeded)
        }
    }

    @Test("bad IPv6 input is refused naming the value, nothing made", arguments: [
        (["--subnet", "fd00:9::/64", "--gateway", "fd00:a::1"], "IPv6 gateway fd00:a::1 is not inside subnet fd00:9::/64"),
        (["--ipv6", "--subnet", "fd00:9::/128"], "IPv6 subnet fd00:9::/128 is too small"),
        (["--subnet", "10.9.0.0/24", "--subnet", "10.10.0.0/24"], "--subnet is given twice for IPv4"),
        (["--ipv6", "--subnet", "fd00:121::/64"], "IPv6 subnet fd00:121::/64 overlaps fd00:121::/64"),
    ])
    func bad(_ args: [String], _ message: String) throws {
        try withHostSandbox { sandbox in
            _ = try sandbox.makeLANNeighbor()
            let result = sandbox.berth(["network", "create", "web"] + args)
            #expect(result.status == 1 && result.stderr.contains(message), "\(result)")
            #expect(CLIOracle.bridgeNames(sandbox).isEmpty)
            #expect(sandbox.run(["nft", "list", "table", "ip6", "berth"]).status != 0)
        }
    }
}

/// Endpoints of dual-stack and IPv4-only networks in the host sandbox (issue 15): the
/// container's IPv6 address usable at once and reached over IPv6, no IPv6 at all on an
/// IPv4-only network's interface, ps showing both addresses, detach releasing the lease.
@Suite("berth CLI: dual-stack endpoints (kernel)", .enabled(if: try KernelTests.enabled))
struct EndpointIPv6CLITests {
    @Test("dual stack: the container has its IPv6 address (not tentative) and route, answers over IPv6; the host veth has no IPv6 address; ps shows both; detach frees the lease")
    func dualStack() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.9.0.0/24", "--subnet", "fd00:9::/64"]).succeeded)
            let ctr = try sandbox.makeNamespace()
            let ns = try #require(ctr.name)
            let attach = sandbox.berth(["attach", "web", "--netns", ns, "--id", "e1"])
            try #require(attach.succeeded, "\(attach)")
            let inside = Command.run(["ip", "-n", ns, "-6", "-o", "addr", "show", "dev", "eth0"]).stdout
            // The global address is usable at once (its link-local one may still be tentative).
            let global = inside.split(separator: "\n").first { $0.contains("inet6 fd00:9::2/64") }.map(String.init) ?? ""
            #expect(global.contains("nodad") && !global.contains("tentative"), "\(inside)")
            let routes = Command.run(["ip", "-n", ns, "-6", "route", "show", "default"]).stdout
            #expect(routes.hasPrefix("default via fd00:9::1 dev eth0"), "\(routes)")
            #expect(Command.run(["ip", "netns", "exec", ns, "sysctl", "-n", "net.ipv6.conf.eth0.accept_ra"]).stdout.hasPrefix("0"))
            let ps = sandbox.berth(["ps", "--json"]).stdout
            let endpoints = try #require(try JSONSerialization.jsonObject(with: Data(ps.utf8)) as? [[String: Any]])
            let endpoint = try #require(endpoints.first)
            #expect(endpoint["ip"] as? String == "10.9.0.2" && endpoint["ip6"] as? String == "fd00:9::2")
            #expect(sandbox.berth(["ps"]).stdout.contains("10.9.0.2,fd00:9::2"))
            let veth = try #require(endpoint["hostVeth"] as? String)
            // addrgenmode none before the peer gave the host end carrier: no link-local address.
            #expect(sandbox.witness(["ip", "-6", "-o", "addr", "show", "dev", veth]).isEmpty)
            // The host reaches the container over IPv6 (the first neighbour solicitation may
            // wait a second: docs/ipv6.md).
            let server = try EchoServer(in: ctr, address: "::", port: 80, banner: "c1")
            defer { server.stop() }
            #expect((try? Probe.request(from: sandbox.namespace, to: "fd00:9::2", port: 80, timeout: 3))?.hasPrefix("c1 fd00:9::1 ") == true)

            #expect(sandbox.berth(["detach", "e1"]).succeeded)
            let other = try #require(try sandbox.makeNamespace().name)
            try #require(sandbox.berth(["attach", "web", "--netns", other, "--id", "e2"]).succeeded)
            let again = Command.run(["ip", "-n", other, "-6", "-o", "addr", "show", "dev", "eth0"]).stdout
            #expect(again.contains("inet6 fd00:9::2/64"), "\(again)")
        }
    }

    @Test("an IPv4-only network's container interface has no IPv6 address at all, not even link-local, and IPv6 disabled; its host end has no link-local address either")
    func ipv4OnlyHasNoIPv6() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.9.0.0/24"]).succeeded)
            let ns = try #require(try sandbox.makeNamespace().name)
            try #require(sandbox.berth(["attach", "web", "--netns", ns, "--id", "e1"]).succeeded)
            // Up with carrier (the host end is on the bridge): a link-local address would be there by now.
            let link = Command.run(["ip", "-n", ns, "link", "show", "dev", "eth0"]).stdout
            #expect(link.contains("LOWER_UP"), "\(link)")
            // The host end: addrgenmode none, set with its alias before the peer gave it
            // carrier, so no link-local address and no IPv6 routes of its own on the host.
            let ps = sandbox.berth(["ps", "--json"]).stdout
            let endpoints = try #require(try JSONSerialization.jsonObject(with: Data(ps.utf8)) as? [[String: Any]])
            let veth = try #require(endpoints.first?["hostVeth"] as? String)
            let hostEnd = sandbox.run(["ip", "-d", "link", "show", "dev", veth]).stdout
            #expect(hostEnd.contains("LOWER_UP") && hostEnd.contains("addrgenmode none") && hostEnd.contains("alias berth-endpoint e1"), "\(hostEnd)")
            #expect(sandbox.witness(["ip", "-6", "-o", "addr", "show", "dev", veth]).isEmpty)
            #expect(!sandbox.witness(["ip", "-6", "route", "show", "table", "all", "dev", veth]).contains("fe80::"))
            #expect(Command.witness(["ip", "-n", ns, "-6", "-o", "addr", "show", "dev", "eth0"]).isEmpty)
            #expect(Command.run(["ip", "netns", "exec", ns, "sysctl", "-n", "net.ipv6.conf.eth0.disable_ipv6"]).stdout.hasPrefix("1"))
            #expect(!Command.witness(["ip", "netns", "exec", ns, "cat", "/proc/net/if_inet6"]).contains("eth0"))
            // IPv4 works as before.
            #expect(Command.run(["ip", "-n", ns, "-4", "-o", "addr", "show", "dev", "eth0"]).stdout.contains("10.9.0.2/24"))
        }
    }

    @Test("--ip6 on an IPv4-only network is refused naming the network, nothing made")
    func ip6OnIPv4Only() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.9.0.0/24"]).succeeded)
            let ns = try #require(try sandbox.makeNamespace().name)
            let result = sandbox.berth(["attach", "web", "--netns", ns, "--ip6", "fd00:9::5"])
            #expect(result.status == 1 && result.stderr.contains("network \"web\" has no IPv6 subnet"), "\(result)")
            #expect(!Command.witness(["ip", "-n", ns, "link"]).contains("eth0"))
        }
    }
}
