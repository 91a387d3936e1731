import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import Testing

/// The warning Berth returns when it turns `net.ipv6.conf.all.forwarding` on while an
/// interface with `accept_ra=1` holds an IPv6 default route learned from router
/// advertisements (docs/ipv6.md, "Forwarding and routes"), against the fake kernel.
@Suite("IPv6 forwarding warning (fake kernel)")
struct ForwardingWarningPolicyTests {
    /// A host whose LAN interface learned its IPv6 default route from its router's RAs.
    private func raHost(acceptRA: String = "1") throws -> FakeHost {
        let host = try FakeHost()
        host.kernel.addLink("lan0", kind: "dummy", up: true)
        try host.kernel.addAddress("192.0.2.1/24", to: "lan0")
        try host.kernel.addAddress("2001:db8:1::10/64", to: "lan0")
        try host.kernel.addRoute("::/0", via: "fe80::1", device: "lan0", proto: 9)
        host.kernel.presetSysctl("net/ipv6/conf/lan0/accept_ra", acceptRA)
        // IPv4 forwarding on already: its own warning is HostForwardingPolicyTests'.
        host.kernel.presetSysctl("net/ipv4/ip_forward", "1")
        return host
    }

    private func createDualStack(_ host: FakeHost, _ name: String = "web") throws -> [HostWarning] {
        var warnings: [HostWarning] = []
        try host.manager.createNetwork(NetworkOptions(name: name, bridge: try InterfaceName("br\(name)"), ipv6: true), warnings: &warnings)
        return warnings
    }

    @Test("turning forwarding on with an RA-learned default route on an accept_ra=1 interface: forwarding on, and a warning naming it")
    func warns() throws {
        let host = try raHost()
        let warnings = try createDualStack(host)
        #expect(warnings == [HostWarning(.ipv6ForwardingEnabled),
                             HostWarning(.routerAdvertisementsIgnored(interface: "lan0", gateway: IPAddress("fe80::1")))])
        #expect(warnings.last?.description == "IPv6 forwarding is now on (net.ipv6.conf.all.forwarding=1), so lan0 ignores router advertisements: "
                + "its IPv6 default route via fe80::1, learned from them, is no longer renewed and goes when its lifetime ends "
                + "(set net.ipv6.conf.lan0.accept_ra=2 to keep taking them while forwarding)")
        #expect(try host.handle.sysctl("net/ipv6/conf/all/forwarding") == "1")
        // Forwarding is on now: a second network has nothing to say.
        #expect(try createDualStack(host, "db").isEmpty)
    }

    @Test("no RA warning when forwarding was on already (for all or for that interface: no warning at all then), with accept_ra=2 or 0, with a static default route, or for an IPv4-only network",
          arguments: ["forwarding", "lan0 forwarding", "accept_ra=2", "accept_ra=0", "static", "ipv4"])
    func quiet(_ setting: String) throws {
        let host = try raHost(acceptRA: setting == "accept_ra=2" ? "2" : setting == "accept_ra=0" ? "0" : "1")
        if setting == "forwarding" { host.kernel.presetSysctl("net/ipv6/conf/all/forwarding", "1") }
        if setting == "lan0 forwarding" { host.kernel.presetSysctl("net/ipv6/conf/lan0/forwarding", "1") }
        if setting == "static" {
            let plain = try FakeHost()
            plain.kernel.presetSysctl("net/ipv4/ip_forward", "1")
            plain.kernel.addLink("lan0", kind: "dummy", up: true)
            try plain.kernel.addAddress("2001:db8:1::10/64", to: "lan0")
            try plain.kernel.addRoute("::/0", via: "2001:db8:1::1")
            #expect(try createDualStack(plain) == [HostWarning(.ipv6ForwardingEnabled)])
            return
        }
        if setting == "ipv4" {
            var warnings: [HostWarning] = []
            try host.manager.createNetwork(NetworkOptions(name: "v4", bridge: try InterfaceName("brv4")), warnings: &warnings)
            #expect(warnings.isEmpty)
            #expect(try host.handle.sysctl("net/ipv6/conf/all/forwarding") == "0")
            return
        }
        let forwardingWasOn = setting == "forwarding"
        #expect(try createDualStack(host) == (forwardingWasOn ? [] : [HostWarning(.ipv6ForwardingEnabled)]))
        #expect(try host.handle.sysctl("net/ipv6/conf/all/forwarding") == "1")
    }

    @Test("reconcile that puts a dual-stack bridge back after forwarding was turned off reports the warning too")
    func reconcile() throws {
        let host = try raHost()
        _ = try createDualStack(host)
        try host.handle.setSysctl("net/ipv6/conf/all/forwarding", to: "0")
        try host.handle.netlink.deleteLink(.name(try InterfaceName("brweb")))
        let report = try host.manager.reconcile()
        #expect(report.warnings == [HostWarning(.ipv6ForwardingEnabled),
                                    HostWarning(.routerAdvertisementsIgnored(interface: "lan0", gateway: IPAddress("fe80::1")))])
        #expect(try host.handle.sysctl("net/ipv6/conf/all/forwarding") == "1")
    }
}
