import BerthCore
import BerthNamespace
import BerthNetlink
import BerthTestSupport
import Foundation
import Testing

@Suite("RouteNetlink (kernel)", .enabled(if: try KernelTests.enabled))
struct RouteNetlinkKernelTests {
    private func name(_ text: String) throws -> InterfaceName { try InterfaceName(text) }

    @Test("a bridge is created with its mtu, mac and state, as iproute2 sees it")
    func bridge() throws {
        try withHostSandbox { sandbox in
            let netlink = try RouteNetlink(namespace: sandbox.namespace)
            let mac = try MACAddress(parsing: "02:42:0a:58:00:01")
            let created = try netlink.createBridge(named: name("br0"), mtu: 1400, mac: mac, up: true)
            #expect(created.kind == .bridge && created.mtu == 1400 && created.isUp && created.mac == mac)
            let read = try netlink.link(named: "br0")
            #expect(read.index == created.index && read.kind == .bridge && read.mtu == 1400 && read.isUp)
            #expect(try netlink.link(index: read.index).name == "br0")
            #expect(try netlink.links().contains { $0.name == "br0" && $0.kind == .bridge })
            #expect(try netlink.links().first { $0.name == "lo" }?.kind == .loopback)

            let oracle = try #require(IPOracle.link(sandbox, "br0"))
            #expect(oracle["mtu"] as? Int == 1400)
            #expect(oracle["address"] as? String == "02:42:0a:58:00:01")
            #expect((oracle["flags"] as? [String])?.contains("UP") == true)
            #expect((oracle["linkinfo"] as? [String: Any])?["info_kind"] as? String == "bridge")
        }
    }

    @Test("a link shows IPv6 state (hasIPv6) when the kernel keeps it, which it does not for an MTU below 1,280")
    func ipv6State() throws {
        try withHostSandbox { sandbox in
            let netlink = try RouteNetlink(namespace: sandbox.namespace)
            let big = try netlink.createBridge(named: name("br0"), mtu: 1500, mac: nil, up: false)
            let small = try netlink.createBridge(named: name("br1"), mtu: 1200, mac: nil, up: false)
            // The created links are echoed; the lookups ask again.
            #expect(big.hasIPv6 && !small.hasIPv6)
            #expect(try netlink.link(named: "br0").hasIPv6)
            #expect(try !netlink.link(named: "br1").hasIPv6)
            // The same as the kernel's own account: br1 has no IPv6 sysctls.
            #expect(sandbox.run(["sysctl", "-n", "net.ipv6.conf.br0.disable_ipv6"]).succeeded)
            #expect(!sandbox.run(["sysctl", "-n", "net.ipv6.conf.br1.disable_ipv6"]).succeeded)
        }
    }

    @Test("a veth peer is born in the target namespace, the host end enslaved and up, in one message")
    func vethIntoNamespace() throws {
        try withHostSandbox { sandbox in
            let container = try sandbox.makeNamespace()
            let containerName = try #require(container.name)
            let host = try RouteNetlink(namespace: sandbox.namespace)
            let bridge = try host.createBridge(named: name("br0"), up: true)
            let local = try host.createVeth(named: name("vb1"), peer: name("eth0"), peerNamespace: container,
                                            master: .name(name("br0")), up: true)
            #expect(local.kind == .veth && local.isUp && local.masterIndex == bridge.index)

            let inside = try RouteNetlink(namespace: container)
            let peer = try inside.link(named: "eth0")
            #expect(peer.kind == .veth && !peer.isUp)
            // The echo's IFLA_LINK saves a lookup: it is the peer's index over there.
            #expect(local.peerIndex == peer.index)
            #expect(local.linkNetNSID != nil)
            #expect(try host.link(named: "vb1").peerIndex == peer.index)

            #expect(IPOracle.link(sandbox, "eth0", namespace: containerName) != nil)
            #expect(IPOracle.link(sandbox, "eth0") == nil)
            #expect(IPOracle.link(sandbox, "vb1")?["master"] as? String == "br0")
            #expect(#expect(throws: BerthError.self) { try host.link(named: "eth0") }?.code == .notFound)
        }
    }

    @Test("master is set and unset")
    func masterSetAndUnset() throws {
        try withHostSandbox { sandbox in
            let netlink = try RouteNetlink(namespace: sandbox.namespace)
            let bridge = try netlink.createBridge(named: name("br0"))
            try netlink.createVeth(named: name("va"), peer: name("vb"))
            try netlink.setMaster(.named("va"), to: .index(bridge.index))
            #expect(try netlink.link(named: "va").masterIndex == bridge.index)
            #expect(IPOracle.link(sandbox, "va")?["master"] as? String == "br0")
            try netlink.setMaster(.named("va"), to: nil)
            #expect(try netlink.link(named: "va").masterIndex == nil)
            #expect(IPOracle.link(sandbox, "va")?["master"] == nil)
        }
    }

    @Test("mtu, mac and alias changes read back")
    func attributesReadBack() throws {
        try withHostSandbox { sandbox in
            let netlink = try RouteNetlink(namespace: sandbox.namespace)
            let link = try netlink.createVeth(named: name("va"), peer: name("vb"))
            let mac = try MACAddress(parsing: "02:42:0a:01:02:03")
            try netlink.setMTU(.index(link.index), to: 1280)
            try netlink.setMAC(.named("va"), to: mac)
            try netlink.setAlias(.named("va"), to: "berth test link")
            try netlink.setUp(.named("va"))
            let read = try netlink.link(index: link.index)
            #expect(read.mtu == 1280 && read.mac == mac && read.alias == "berth test link" && read.isUp)
            let oracle = try #require(IPOracle.link(sandbox, "va"))
            #expect(oracle["mtu"] as? Int == 1280)
            #expect(oracle["address"] as? String == "02:42:0a:01:02:03")
            #expect(oracle["ifalias"] as? String == "berth test link")
            try netlink.setAlias(.named("va"), to: nil)
            try netlink.setDown(.named("va"))
            let cleared = try netlink.link(index: link.index)
            #expect(cleared.alias == nil && !cleared.isUp)
            #expect(IPOracle.link(sandbox, "va")?["ifalias"] == nil)
        }
    }

    @Test("a link moves to another namespace")
    func moveToNamespace() throws {
        try withHostSandbox { sandbox in
            let target = try sandbox.makeNamespace()
            let netlink = try RouteNetlink(namespace: sandbox.namespace)
            try netlink.createVeth(named: name("va"), peer: name("vb"))
            try netlink.move(.named("vb"), to: target)
            #expect(#expect(throws: BerthError.self) { try netlink.link(named: "vb") }?.code == .notFound)
            #expect(try RouteNetlink(namespace: target).link(named: "vb").kind == .veth)
            #expect(IPOracle.link(sandbox, "vb", namespace: target.name) != nil)
        }
    }

    @Test("IPv4 and IPv6 addresses and routes are added, listed and deleted")
    func addressesAndRoutes() throws {
        try withHostSandbox { sandbox in
            let netlink = try RouteNetlink(namespace: sandbox.namespace)
            let va = try netlink.createVeth(named: name("va"), peer: name("vb"), up: true)
            try netlink.setUp(.named("vb"))
            let v4 = try CIDR(parsing: "10.77.0.2/24")
            let v6 = try CIDR(parsing: "fd00:77::2/64")
            try netlink.addAddress(v4, to: .named("va"))
            try netlink.addAddress(v6, to: .index(va.index), flags: .noDAD)

            let addresses = try netlink.addresses(of: .named("va"))
            #expect(addresses.contains { $0.cidr == v4 && $0.broadcast == IPAddress("10.77.0.255") && $0.label == "va" })
            #expect(addresses.contains { $0.cidr == v6 && $0.scope == .universe })
            #expect(try netlink.addresses(family: .ipv6).allSatisfy { $0.family == .ipv6 })
            #expect(IPOracle.addresses(sandbox, "va").isSuperset(of: ["10.77.0.2/24", "fd00:77::2/64"]))

            try netlink.addRoute(to: nil, via: IPAddress(parsing: "10.77.0.1"))
            try netlink.addRoute(to: CIDR(parsing: "10.78.0.0/16"), device: .named("va"))
            try netlink.addRoute(to: nil, via: IPAddress(parsing: "fd00:77::1"), device: .named("va"), metric: 100)
            try netlink.addRoute(to: CIDR(parsing: "fd00:78::/48"), via: IPAddress(parsing: "fd00:77::1"))

            let routes = try netlink.routes()
            #expect(routes.contains { $0.isDefault && $0.family == .ipv4 && $0.gateway == IPAddress("10.77.0.1") && $0.linkIndex == va.index })
            #expect(routes.contains { $0.destination == CIDR("10.78.0.0/16") && $0.scope == .link && $0.routeProtocol == .static })
            #expect(routes.contains { $0.isDefault && $0.family == .ipv6 && $0.gateway == IPAddress("fd00:77::1") && $0.metric == 100 })
            #expect(routes.contains { $0.destination == CIDR("fd00:78::/48") })
            #expect(try netlink.routes(family: .ipv4).allSatisfy { $0.family == .ipv4 && $0.table == RouteTable.main })
            #expect(IPOracle.routes(sandbox, family: "-4").isSuperset(of: ["default via 10.77.0.1 dev va", "10.78.0.0/16 dev va"]))
            #expect(IPOracle.routes(sandbox, family: "-6").isSuperset(of: ["default via fd00:77::1 dev va", "fd00:78::/48 via fd00:77::1 dev va"]))

            try netlink.deleteRoute(to: nil, family: .ipv4)
            try netlink.deleteRoute(to: CIDR(parsing: "fd00:78::/48"))
            try netlink.deleteAddress(v4, from: .named("va"))
            #expect(!IPOracle.routes(sandbox, family: "-4").contains("default via 10.77.0.1 dev va"))
            #expect(!IPOracle.routes(sandbox, family: "-6").contains("fd00:78::/48 via fd00:77::1 dev va"))
            #expect(!IPOracle.addresses(sandbox, "va").contains("10.77.0.2/24"))

            let missingRoute = #expect(throws: BerthError.self) { try netlink.deleteRoute(to: CIDR(parsing: "10.99.0.0/16"), device: .named("va")) }
            #expect(missingRoute?.code == .notFound)
            let missingAddress = #expect(throws: BerthError.self) { try netlink.deleteAddress(v4, from: .named("va")) }
            #expect(missingAddress?.code == .notFound)
            #expect(missingAddress?.message.contains("10.77.0.2/24 is not on va") == true)
            let duplicate = #expect(throws: BerthError.self) { try netlink.addAddress(v6, to: .named("va")) }
            #expect(duplicate?.code == .alreadyExists)
        }
    }

    @Test("multipath routes iproute2 made read back with each next hop's gateway, link and weight, in both families")
    func multipathRoutes() throws {
        try withHostSandbox { sandbox in
            let netlink = try RouteNetlink(namespace: sandbox.namespace)
            let va = try netlink.createVeth(named: name("va"), peer: name("vb"), up: true)
            let vc = try netlink.createVeth(named: name("vc"), peer: name("vd"), up: true)
            try netlink.addAddress(CIDR(parsing: "10.77.0.2/24"), to: .named("va"))
            try netlink.addAddress(CIDR(parsing: "10.79.0.2/24"), to: .named("vc"))
            try netlink.addAddress(CIDR(parsing: "fd00:77::2/64"), to: .named("va"), flags: .noDAD)
            try netlink.addAddress(CIDR(parsing: "fd00:79::2/64"), to: .named("vc"), flags: .noDAD)
            for family in ["-4", "-6"] {
                let (first, second) = family == "-4" ? ("10.77.0.1", "10.79.0.1") : ("fd00:77::1", "fd00:79::1")
                let made = sandbox.run(["ip", family, "route", "add", "default", "nexthop", "via", first, "dev", "va", "weight", "3",
                                        "nexthop", "via", second, "dev", "vc"])
                try #require(made.succeeded, "\(made.stderr)")
            }
            for family in [IPFamily.ipv4, .ipv6] {
                let (first, second) = family == .ipv4 ? ("10.77.0.1", "10.79.0.1") : ("fd00:77::1", "fd00:79::1")
                let route = try #require(try netlink.routes(family: family).first { $0.isDefault }, "\(family)")
                #expect(route.gateway == nil)
                #expect(route.nextHops == [Route.NextHop(gateway: IPAddress(first), linkIndex: va.index, weight: 3),
                                           Route.NextHop(gateway: IPAddress(second), linkIndex: vc.index, weight: 1)], "\(route)")
                #expect(route.gateways == [IPAddress(first), IPAddress(second)])
            }
        }
    }

    @Test("the attach batch runs in one request inside the container, and TCP crosses the bridge Berth built")
    func tcpAcrossBridge() throws {
        try withHostSandbox { sandbox in
            let host = try RouteNetlink(namespace: sandbox.namespace)
            try host.createBridge(named: name("br0"), up: true)
            try host.addAddress(CIDR(parsing: "10.66.0.1/24"), to: .named("br0"))
            var peers: [NetworkNamespace] = []
            for (i, address) in ["10.66.0.2/24", "10.66.0.3/24"].enumerated() {
                let container = try sandbox.makeNamespace()
                let local = try host.createVeth(named: name("vb\(i)"), peer: name("eth0"), peerNamespace: container,
                                                master: .named("br0"), up: true)
                let peerIndex = try #require(local.peerIndex)
                let inside = try RouteNetlink(namespace: container)
                try inside.apply { changes throws(BerthError) in
                    try changes.setUp(.index(1))
                    try changes.setUp(.index(peerIndex))
                    try changes.addAddress(CIDR(parsing: address), to: .index(peerIndex))
                    try changes.addRoute(to: nil, via: IPAddress(parsing: "10.66.0.1"))
                }
                #expect(try inside.routes().contains { $0.isDefault && $0.gateway == IPAddress("10.66.0.1") })
                peers.append(container)
            }
            let server = try EchoServer(in: peers[1], port: 7070, banner: "b")
            defer { server.stop() }
            let reply = try Probe.request(from: peers[0], to: "10.66.0.3", port: 7070, payload: "hello")
            #expect(reply == "b 10.66.0.2 hello")
        }
    }

    @Test("errors name the object and the fix")
    func errors() throws {
        try withHostSandbox { sandbox in
            let netlink = try RouteNetlink(namespace: sandbox.namespace)
            // Each object names the handle's namespace: the front end's advice looks there.
            let here = sandbox.namespace.description
            let missing = #expect(throws: BerthError.self) { try netlink.deleteLink(.named("nosuch0")) }
            #expect(missing?.code == .notFound)
            #expect(missing?.message.hasPrefix("link nosuch0 does not exist") == true)
            // What the error is about and the fix, as fields a front end words; no CLI text.
            #expect(missing?.object == BerthError.Object(.link, "nosuch0", namespace: here))
            #expect(missing?.remedy == .listExisting(.link))
            #expect(missing?.hint == nil)
            #expect(missing.map { !String(describing: $0).contains("berth ") } == true)
            #expect((missing?.cause as? NetlinkError)?.isNotFound == true)

            try netlink.createBridge(named: name("br0"))
            let duplicate = #expect(throws: BerthError.self) { try netlink.createBridge(named: name("br0")) }
            #expect(duplicate?.code == .alreadyExists)
            #expect(duplicate?.object == BerthError.Object(.link, "br0", namespace: here))
            #expect(duplicate?.parameter == "name")
            #expect(duplicate?.remedy == .remove(BerthError.Object(.link, "br0", namespace: here)))

            let address = try CIDR(parsing: "10.77.0.1/24")
            try netlink.addAddress(address, to: .named("br0"))
            let taken = #expect(throws: BerthError.self) { try netlink.addAddress(address, to: .named("br0")) }
            #expect(taken?.code == .alreadyExists)
            #expect(taken?.object == BerthError.Object(.address, "10.77.0.1/24", namespace: here))
            #expect(taken?.remedy == .listExisting(.address))
            let noRoute = #expect(throws: BerthError.self) { try netlink.deleteRoute(to: CIDR(parsing: "10.99.0.0/16"), device: .named("br0")) }
            #expect(noRoute?.code == .notFound)
            #expect(noRoute?.object?.kind == .route)
            #expect(noRoute?.remedy == .listExisting(.route))
            #expect(duplicate?.message.contains("br0 already exists") == true)

            let unknown = #expect(throws: BerthError.self) { try netlink.createLink(named: name("x0"), kind: .other("nosuchkind")) }
            #expect(unknown?.code == .unsupported)
            #expect((unknown?.cause as? NetlinkError)?.kernelMessage?.isEmpty == false)

            #expect(#expect(throws: BerthError.self) { try netlink.link(named: "abcdefghijklmnop") }?.code == .invalidArgument, "16 bytes: longer than IFNAMSIZ allows")

            // In a batch, the error names the operation the kernel refused.
            let batch = #expect(throws: BerthError.self) {
                try netlink.apply { changes throws(BerthError) in
                    try changes.setUp(.named("br0"))
                    try changes.addAddress(CIDR(parsing: "10.1.0.1/24"), to: .index(9999))
                }
            }
            #expect(batch?.message.contains("#9999") == true)
            #expect(try netlink.link(named: "br0").isUp)
        }
    }
}
