import BerthCore
import BerthNamespace
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// A namespace on two dual-stack networks in the host sandbox: the second network's IPv6
/// default route waits behind the first's at the next metric (two routes, not one multipath
/// route), and carries the namespace's IPv6 traffic once the first network is detached.
@Suite("Dual-stack default routes (kernel)", .enabled(if: try KernelTests.enabled))
struct DualStackRoutesKernelTests {
    @Test("attach to dual-stack A, then B, detach A: B's IPv6 default route is left and works; check is clean throughout")
    func secondNetworkTakesOver() throws {
        try withHostSandbox { sandbox in
            let lan = try sandbox.makeLANNeighbor()
            let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
            try manager.createNetwork(NetworkOptions(name: "web", subnet: try CIDR(parsing: "10.88.0.0/24"), ipv6Subnet: try CIDR(parsing: "fd00:beef::/64")))
            try manager.createNetwork(NetworkOptions(name: "db", subnet: try CIDR(parsing: "10.89.0.0/24"), ipv6Subnet: try CIDR(parsing: "fd00:cafe::/64")))
            let server = try EchoServer(in: lan.namespace, address: "::", port: 80, banner: "lan")
            defer { server.stop() }
            let ns = try sandbox.makeNamespace()
            let name = try #require(ns.name)
            _ = try manager.attach(AttachOptions(network: "web", namespace: .open(ns), id: "a"))
            _ = try manager.attach(AttachOptions(network: "db", namespace: .open(ns), id: "b", interfaceName: try InterfaceName("eth1")))
            func defaults() -> [String] {
                sandbox.run(["ip", "-n", name, "-6", "route", "show", "default"]).stdout.split(separator: "\n").map(String.init)
            }
            let both = defaults()
            #expect(both.count == 2 && !both.joined().contains("nexthop"), "two routes, no multipath: \(both)")
            #expect(both.contains { $0.hasPrefix("default via fd00:beef::1 dev eth0 ") && $0.contains("metric 1024") }, "\(both)")
            #expect(both.contains { $0.hasPrefix("default via fd00:cafe::1 dev eth1 ") && $0.contains("metric 1025") }, "\(both)")
            #expect(try manager.check().isEmpty)
            let viaWeb = (try? Probe.request(from: ns, to: LANNeighbor.address6, port: 80, timeout: 3)) ?? "no answer"
            #expect(viaWeb.hasPrefix("lan fd00:121::1 "), "IPv6 egress through web: \(viaWeb)")

            try manager.detach(id: "a")
            let left = defaults()
            #expect(left.count == 1 && left.first?.hasPrefix("default via fd00:cafe::1 dev eth1 ") == true, "\(left)")
            #expect(try manager.check().isEmpty)
            let viaDB = (try? Probe.request(from: ns, to: LANNeighbor.address6, port: 80, timeout: 3)) ?? "no answer"
            #expect(viaDB.hasPrefix("lan fd00:121::1 "), "IPv6 egress through db once web is detached: \(viaDB)")
        }
    }

    @Test("default routes someone made multipath over both networks (ip route … nexthop … nexthop): check is clean, and names a network whose gateway is left out")
    func multipathDefaults() throws {
        try withHostSandbox { sandbox in
            let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
            try manager.createNetwork(NetworkOptions(name: "web", subnet: try CIDR(parsing: "10.88.0.0/24"), ipv6Subnet: try CIDR(parsing: "fd00:beef::/64")))
            try manager.createNetwork(NetworkOptions(name: "db", subnet: try CIDR(parsing: "10.89.0.0/24"), ipv6Subnet: try CIDR(parsing: "fd00:cafe::/64")))
            let ns = try sandbox.makeNamespace()
            let name = try #require(ns.name)
            _ = try manager.attach(AttachOptions(network: "web", namespace: .open(ns), id: "a"))
            _ = try manager.attach(AttachOptions(network: "db", namespace: .open(ns), id: "b", interfaceName: try InterfaceName("eth1")))
            func ip(_ args: [String]) throws {
                let result = sandbox.run(["ip", "-n", name] + args)
                try #require(result.succeeded, "ip \(args.joined(separator: " ")): \(result.stderr)")
            }
            for family in ["-4", "-6"] {
                for _ in 0..<4 where sandbox.run(["ip", "-n", name, family, "route", "del", "default"]).succeeded {}
            }
            try ip(["-4", "route", "add", "default", "nexthop", "via", "10.88.0.1", "dev", "eth0", "nexthop", "via", "10.89.0.1", "dev", "eth1"])
            try ip(["-6", "route", "add", "default", "nexthop", "via", "fd00:beef::1", "dev", "eth0", "nexthop", "via", "fd00:cafe::1", "dev", "eth1"])
            #expect(try manager.check().isEmpty)
            // Without web's gateway among the next hops, web's IPv4 default route is missing;
            // IPv6 is satisfied by any default route via a gateway (db's stands in).
            try ip(["-4", "route", "replace", "default", "nexthop", "via", "10.89.0.1", "dev", "eth1", "weight", "2"])
            #expect(try manager.check().map(\.description) == ["endpoint a: default route via 10.88.0.1: missing"])
        }
    }
}
