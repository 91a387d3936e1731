#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import BerthNFTables
import Testing

/// `gc`, `check` and `reconcile` against the fake kernel: what each finds, removes or puts
/// back, and that each reads the kernel once.
@Suite("gc, check and reconcile policy (fake kernel)")
struct MaintenancePolicyTests {
    /// Network web with endpoints e1 (in ctr1, publishing 8080) and e2 (in ctr2).
    private func populated() throws -> FakeHost {
        let host = try FakeHost()
        try host.network()
        try host.attach("ctr1", id: "e1", ports: ["8080:80"])
        try host.attach("ctr2", id: "e2")
        return host
    }

    private func delete(_ name: String, in host: FakeHost, namespace: NetworkNamespace? = nil) throws {
        let link = try #require(host.kernel.link(name, in: namespace))
        let netlink = if let namespace { try host.handle.netlink(in: namespace) } else { host.handle.netlink }
        try netlink.deleteLink(.index(link.index))
    }

    // MARK: - gc

    @Test("gc forgets endpoints whose namespace is gone and frees their address and ports; live ones stay")
    func gcDropsDeadEndpoints() throws {
        let host = try populated()
        host.kernel.destroyNamespace(try host.namespace("ctr1"))
        let report = try host.manager.gc()
        #expect(report.endpoints == ["e1"])
        // The kernel took the veth pair with the namespace; the element is a leftover now.
        #expect(report.links.isEmpty)
        #expect(report.firewallObjects == ["element tcp . 8080 comment \"berth-endpoint e1 @f4ce0001\" : 10.88.0.2 . 80 of map publish_any"])
        #expect(try host.recorded() == ["e2 10.88.0.3"])
        #expect(!host.nftables.ruleset.contains("berth-endpoint e1"))
        #expect(try host.attach("ctr3", id: "e3", ports: ["8080:80"]).address?.description == "10.88.0.2")
    }

    @Test("an endpoint whose teardown fails is kept with its record and veth; gc still collects every other endpoint, link and element, and the next gc finishes it")
    func gcOneEndpointFails() throws {
        let host = try populated()
        try host.attach("ctr3", id: "e3", ports: ["9090:80"])
        // e1 and e3: detaches interrupted after their mark; e2: its namespace gone.
        for id in ["e1", "e3"] {
            host.arm("detach.mark")
            _ = refusal { try host.manager.detach(id: id) }
            host.disarm()
        }
        host.kernel.destroyNamespace(try host.namespace("ctr2"))
        // A leftover link of this instance (a crashed attach's) and a leftover element.
        host.kernel.addLink("vbleft", kind: "veth", alias: "berth-endpoint gone1 @f4ce0001", peerName: "vbleftp")
        // e1's host end cannot be unplugged (EPERM, once).
        let veth1 = try #require(host.kernel.link(try host.manager.endpoint("e1").hostVeth.rawValue))
        host.kernel.refuse("update link #\(veth1.index): rename", errno: FakeErrno.permission)
        let report = try host.manager.gc()
        #expect(report.endpoints.sorted() == ["e2", "e3"])
        #expect(report.links.contains("vbleft"))
        // Which failed and why, whole: the failing step's error, not only its words.
        #expect(report.failed.map(\.owner) == [.endpoint] && report.failed.map(\.id) == ["e1"], "\(report.failed)")
        #expect(report.failed.first?.error.code == .permissionDenied, "\(report.failed)")
        #expect(report.failed.first?.description.hasPrefix("endpoint e1: ") == true, "\(report.failed)")
        #expect(try host.manager.endpoints().map(\.id) == ["e1"])
        #expect(try host.manager.endpoint("e1").isDetaching)
        #expect(host.kernel.link(veth1.name) != nil)
        #expect(!host.nftables.ruleset.contains("berth-endpoint e3") && !host.nftables.ruleset.contains("berth-endpoint e2"))
        // The refusal was once: the next gc finishes e1.
        let again = try host.manager.gc()
        #expect(again.endpoints == ["e1"])
        #expect(try host.manager.endpoints().isEmpty)
        #expect(!host.kernel.links().contains { $0.alias?.hasPrefix("berth-endpoint") == true })
        #expect(try host.manager.check().isEmpty)
    }

    @Test("an endpoint whose namespace lost its name but lives on is dropped, and its veth removed as a leftover")
    func gcRemovesVethOfUnnamedNamespace() throws {
        let host = try populated()
        let ctr1 = try host.namespace("ctr1")
        let veth = try host.manager.endpoint("e1").hostVeth.rawValue
        host.kernel.unlinkNamespace(ctr1)
        let report = try host.manager.gc()
        #expect(report.endpoints == ["e1"])
        #expect(report.links == [veth])
        #expect(host.kernel.link(veth) == nil)
        #expect(host.kernel.links(in: ctr1).map(\.name) == ["lo"])
    }

    @Test("a namespace that cannot be opened (EACCES, EMFILE) is not gone: gc keeps its endpoint and says why, check says it could not be checked; gone once it opens and is")
    func gcKeepsUncheckableNamespace() throws {
        let host = try populated()
        let ruleset = host.nftables.ruleset
        let ctr1 = try host.namespace("ctr1")
        host.kernel.failOpening("/run/netns/ctr1", errno: EACCES)
        host.kernel.failOpening("/run/netns/ctr2", errno: EMFILE)
        let report = try host.manager.gc()
        #expect(report.isEmpty, "\(report)")
        #expect(report.unchecked.count == 2)
        #expect(report.unchecked.first?.description.hasPrefix("could not check namespace /run/netns/ctr1 of endpoint e1: open network namespace /run/netns/ctr1: ") == true,
                "\(report.unchecked)")
        // The cause, for the front end to advise on: refused, or a resource limit.
        #expect(report.unchecked.map(\.code) == [.permissionDenied, .system], "\(report.unchecked)")
        #expect(report.unchecked.map(\.id) == ["e1", "e2"] && report.unchecked.allSatisfy { $0.owner == .endpoint })
        #expect(try host.recorded() == ["e1 10.88.0.2", "e2 10.88.0.3"])
        #expect(host.nftables.ruleset == ruleset)
        #expect(host.kernel.link("eth0", in: ctr1) != nil)
        let problems = try host.manager.check()
        #expect(problems.map(\.repair) == [.recheckWithPrivilege, .recheck], "\(problems)")
        #expect(problems.first?.description.hasPrefix("endpoint e1: network namespace /run/netns/ctr1: could not be checked: ") == true)
        #expect(!problems.contains { $0.description.contains("gone") })

        host.kernel.failOpening("/run/netns/ctr1", errno: nil)
        host.kernel.failOpening("/run/netns/ctr2", errno: nil)
        host.kernel.destroyNamespace(ctr1)
        let after = try host.manager.gc()
        #expect(after.endpoints == ["e1"] && after.unchecked.isEmpty)
    }

    /// EMFILE says nothing of permission: neither the cause gc reports nor check's repair may
    /// send the user to root for it.
    @Test("a namespace that fails to open with EMFILE: gc's cause is not a refusal, check's repair is a plain recheck")
    func uncheckableForResourceLimit() throws {
        let host = try populated()
        host.kernel.failOpening("/run/netns/ctr2", errno: EMFILE)
        let report = try host.manager.gc()
        #expect(report.isEmpty, "\(report)")
        #expect(report.unchecked.count == 1)
        let unchecked = try #require(report.unchecked.first)
        #expect(unchecked.owner == .endpoint && unchecked.id == "e2" && unchecked.path == "/run/netns/ctr2")
        #expect(unchecked.code == .system, "\(unchecked)")
        #expect(unchecked.description.hasPrefix("could not check namespace /run/netns/ctr2 of endpoint e2: open network namespace /run/netns/ctr2: "),
                "\(unchecked)")
        #expect(unchecked.reason.contains("Too many open files"), "\(unchecked)")
        let problems = try host.manager.check()
        #expect(problems.map(\.repair) == [.recheck], "\(problems)")
        #expect(try host.recorded() == ["e1 10.88.0.2", "e2 10.88.0.3"])
    }

    @Test("gc removes links tagged with its instance that the state does not know, and nothing else")
    func gcRemovesLeftoverLinks() throws {
        let host = try populated()
        let ghost = try KernelNames.hostVeth(forEndpoint: "ghost", instance: FakeHost.instance).rawValue
        host.kernel.addLink(ghost, kind: "veth", alias: "berth-endpoint ghost @f4ce0001", peerName: "ghostp")
        host.kernel.addLink("vd0000002a", kind: "veth", alias: "berth-endpoint e1 @f4ce0001", peerName: "vd2ap")
        host.kernel.addLink("brold", kind: "bridge", alias: "berth-network old @f4ce0001")
        // Another instance's, untagged ones (anyone's: made before instances) and others'.
        host.kernel.addLink("vbothers0000000", kind: "veth", alias: "berth-endpoint ghost @0dd1ce00", peerName: "othersp")
        host.kernel.addLink("brtheirs", kind: "bridge", alias: "berth-network old @0dd1ce00")
        host.kernel.addLink("vbuntagged00000", kind: "veth", alias: "berth-endpoint ghost", peerName: "untaggedp")
        host.kernel.addLink("brlegacy", kind: "bridge", alias: "berth-network old")
        host.kernel.addLink("vbnoalias000000", kind: "veth", peerName: "noaliasp")
        host.kernel.addLink("docker0", kind: "bridge")
        host.kernel.addLink("vethabc", kind: "veth", peerName: "vethabcp")
        let report = try host.manager.gc()
        // ghostp went with ghost, its peer; the renamed pair of e1 is not e1's veth.
        #expect(report.links == [ghost, "vd0000002a", "brold"])
        for gone in [ghost, "ghostp", "vd0000002a", "brold"] { #expect(host.kernel.link(gone) == nil, "\(gone)") }
        for kept in ["vbothers0000000", "brtheirs", "vbuntagged00000", "brlegacy", "vbnoalias000000", "docker0", "vethabc", "brweb"] {
            #expect(host.kernel.link(kept) != nil, "\(kept)")
        }
        #expect(report.endpoints.isEmpty)
        #expect(try host.manager.check().isEmpty)
    }

    @Test("gc removes its instance's rules of unknown networks and elements of unknown endpoints, naming each; others' stay")
    func gcRemovesFirewallLeftovers() throws {
        let host = try populated()
        var stray = Transaction()
        for instance in [FakeHost.instance, "0dd1ce00"] {
            for rule in FirewallLayout.networkRules(name: "old", instance: instance, subnet: try CIDR(parsing: "10.77.0.0/24"),
                                                    bridge: try InterfaceName("brold"), isInternal: false) {
                stray.add(.rule(rule))
            }
        }
        let mapping = PortMappingRecord(endpointID: "ghost", proto: .udp, hostAddress: .v4(.any), hostPort: 5353, containerPort: 53)
        let (element, map) = FirewallLayout.element(for: mapping, container: IPv4Address(10, 88, 0, 99), instance: FakeHost.instance)
        stray.add(.element(element, in: map))
        let theirs = PortMappingRecord(endpointID: "ghost", proto: .udp, hostAddress: .v4(.any), hostPort: 5354, containerPort: 53)
        let (other, otherMap) = FirewallLayout.element(for: theirs, container: IPv4Address(10, 88, 0, 98), instance: "0dd1ce00")
        stray.add(.element(other, in: otherMap))
        try host.nftables.apply(stray)
        let report = try host.manager.gc()
        #expect(report.firewallObjects == [
            "rule in chain guard of network old", "rule in chain postrouting of network old", "rule in chain postrouting of network old",
            "element udp . 5353 comment \"berth-endpoint ghost @f4ce0001\" : 10.88.0.99 . 53 of map publish_any",
        ])
        #expect(!host.nftables.ruleset.contains("old @f4ce0001") && !host.nftables.ruleset.contains("ghost @f4ce0001"))
        #expect(host.nftables.ruleset.contains("berth-network old @0dd1ce00") && host.nftables.ruleset.contains("berth-endpoint ghost @0dd1ce00"))
        #expect(host.nftables.ruleset.contains("berth-endpoint e1 @f4ce0001") && host.nftables.ruleset.contains("berth-network web @f4ce0001"))
    }

    @Test("gc on a clean host removes nothing, twice; it lists links once and reads each of Berth's two tables once")
    func gcOnCleanHost() throws {
        let host = try populated()
        let before = host.kernel.snapshot()
        host.nftables.resetCounts()
        let mark = host.kernel.mark
        #expect(try host.manager.gc().isEmpty)
        #expect(host.kernel.operations(since: mark) == ["host: list links"])
        // ip6 berth too, though no network has IPv6: a crashed IPv6 publication leaves its elements only there.
        #expect(host.nftables.tableReads == 2 && host.nftables.rulesetReads == 0)
        #expect(try host.manager.gc().isEmpty)
        #expect(host.kernel.snapshot() == before)
    }

    // MARK: - check

    @Test("check finds nothing wrong on a healthy host, reading Berth's table once")
    func checkHealthy() throws {
        let host = try populated()
        host.nftables.resetCounts()
        #expect(try host.manager.check().isEmpty)
        #expect(try host.manager.check(id: "e1").isEmpty)
        #expect(host.nftables.tableReads == 2 && host.nftables.rulesetReads == 0)
    }

    @Test("check names a deleted veth and the interface that went with it")
    func checkMissingVeth() throws {
        let host = try populated()
        let veth = try host.manager.endpoint("e1").hostVeth.rawValue
        try delete(veth, in: host)
        #expect(try host.manager.check().map(\.description) == [
            "endpoint e1: veth \(veth): missing", "endpoint e1: interface eth0 in /run/netns/ctr1: missing",
        ])
    }

    @Test("check names a deleted bridge; a veth on another bridge is named too")
    func checkMissingBridge() throws {
        let host = try populated()
        try delete("brweb", in: host)
        let e1 = try host.manager.endpoint("e1").hostVeth, e2 = try host.manager.endpoint("e2").hostVeth
        let found = try host.manager.check()
        #expect(found.map(\.description) == [
            "network web: bridge brweb: missing", "endpoint e1: veth \(e1): not on bridge brweb", "endpoint e2: veth \(e2): not on bridge brweb",
        ])
        #expect(found.allSatisfy { $0.repair == .reconcile })
        // Put back, and one veth moved to a foreign bridge.
        try host.manager.reconcile()
        let veth = try host.manager.endpoint("e2").hostVeth
        host.kernel.addLink("brother", kind: "bridge", up: true)
        let other = try #require(host.kernel.link("brother")).index
        try host.handle.netlink.setMaster(.name(veth), to: .index(other))
        let problems = try host.manager.check().map(\.description)
        #expect(problems.contains("endpoint e2: veth \(veth): not on bridge brweb"))
    }

    @Test("check names a bridge that is down and a gateway address that is gone")
    func checkBridgeDownAndAddress() throws {
        let host = try populated()
        let bridge = try #require(host.kernel.link("brweb"))
        try host.handle.netlink.apply { changes throws(BerthError) in
            try changes.deleteAddress(try CIDR(parsing: "10.88.0.1/24"), from: .index(bridge.index))
            try changes.setDown(.index(bridge.index))
        }
        #expect(try host.manager.check().map(\.description) == [
            "network web: address 10.88.0.1/24 on brweb: missing", "network web: bridge brweb: down",
        ])
    }

    @Test("check names a namespace that is gone, and the address and route missing inside a live one")
    func checkInsideNamespaces() throws {
        let host = try populated()
        host.kernel.destroyNamespace(try host.namespace("ctr1"))
        let ctr2 = try host.namespace("ctr2")
        let eth0 = try #require(host.kernel.link("eth0", in: ctr2))
        try host.handle.netlink(in: ctr2).deleteAddress(try CIDR(parsing: "10.88.0.3/24"), from: .index(eth0.index))
        let problems = try host.manager.check().map(\.description)
        #expect(problems.contains("endpoint e1: network namespace /run/netns/ctr1: gone"))
        #expect(problems.contains("endpoint e2: address 10.88.0.3/24 on eth0: missing"))
        // The default route stays in the table: only the address is missing.
        #expect(!problems.contains("endpoint e2: default route via 10.88.0.1: missing"))
    }

    @Test("check names missing firewall rules and elements with their owners; check ID looks at one endpoint only")
    func checkFirewall() throws {
        let host = try populated()
        try host.network("db", subnet: "10.89.0.0/24")
        var cut = Transaction()
        let table = try #require(try host.nftables.list(table: FirewallLayout.table))
        let guardRule = try #require(table.chains.first { $0.chain.name == "guard" }?.rules.first { $0.comment == "berth-network db @f4ce0001" })
        cut.delete(.rule(guardRule))
        let element = try #require(table.sets.first { $0.set.name == "publish_any" }?.elements.first)
        cut.delete(.element(element, in: FirewallLayout.publishAny))
        try host.nftables.apply(cut)
        #expect(try host.manager.check().map(\.description) == [
            "network db: rule 'iifname != \"lo\" ip daddr 10.89.0.0/24 iifname != \"brdb\" drop comment \"berth-network db @f4ce0001\"' in chain guard: missing",
            "endpoint e1: element tcp . 8080 comment \"berth-endpoint e1 @f4ce0001\" : 10.88.0.2 . 80 of map publish_any: missing",
        ])
        #expect(try host.manager.check(id: "e2").isEmpty)
        #expect(try host.manager.check(id: "e1").count == 1)
    }

    // MARK: - reconcile

    @Test("after a flush of the ruleset, reconcile rebuilds Berth's table exactly, in one batch")
    func reconcileAfterFlush() throws {
        let host = try populated()
        let before = host.nftables.ruleset
        var flush = Transaction()
        flush.delete(.table(FirewallLayout.table))
        try host.nftables.apply(flush)
        host.nftables.resetCounts()
        let applied = host.nftables.applied.count
        let report = try host.manager.reconcile()
        #expect(report.restored.map(\.description) == ["nftables table ip berth: missing"])
        #expect(report.retagged.isEmpty && report.remaining.isEmpty)
        #expect(host.nftables.ruleset == before)
        #expect(host.nftables.applied.count == applied + 1)
        #expect(host.nftables.tableReads == 1 && host.nftables.rulesetReads == 0)
        #expect(try host.manager.check().isEmpty)
    }

    @Test("reconcile reports the rules and elements it restores")
    func reconcileReportsWhatItRestores() throws {
        let host = try populated()
        let before = host.nftables.ruleset
        let table = try #require(try host.nftables.list(table: FirewallLayout.table))
        var cut = Transaction()
        for rule in table.chains.flatMap(\.rules) where rule.comment == "berth-network web @f4ce0001" && rule.chain == "postrouting" { cut.delete(.rule(rule)) }
        try host.nftables.apply(cut)
        let missing = try host.manager.reconcile().restored.map(\.description)
        #expect(missing.count == 2 && missing.allSatisfy { $0.hasPrefix("network web: rule '") && $0.hasSuffix("in chain postrouting: missing") })
        #expect(host.nftables.ruleset == before)
    }

    @Test("reconcile makes a deleted bridge again — same MAC, tagged, up, gateway — puts every veth back on it with hairpin, and says so")
    func reconcileRecreatesBridge() throws {
        let host = try populated()
        let mac = try #require(host.kernel.link("brweb")?.mac)
        let e1 = try host.manager.endpoint("e1").hostVeth, e2 = try host.manager.endpoint("e2").hostVeth
        try delete("brweb", in: host)
        let report = try host.manager.reconcile()
        #expect(report.restored.map(\.description) == [
            "network web: bridge brweb: missing", "endpoint e1: veth \(e1): not on bridge brweb", "endpoint e2: veth \(e2): not on bridge brweb",
        ])
        #expect(report.remaining.isEmpty)
        let bridge = try #require(host.kernel.link("brweb"))
        #expect(bridge.isUp && bridge.alias == "berth-network web @f4ce0001" && bridge.mac == mac)
        #expect(host.kernel.addresses().contains("10.88.0.1/24 dev brweb"))
        for veth in [e1, e2] {
            let link = try #require(host.kernel.link(veth.rawValue))
            #expect(link.master == bridge.index && link.hairpin && link.isUp)
        }
        #expect(try host.manager.check().isEmpty)
        #expect(try host.manager.reconcile().isEmpty)
    }

    @Test("reconcile on a healthy host reports nothing, lists links once and reads the table once")
    func reconcileHealthy() throws {
        let host = try populated()
        try host.network("db", subnet: "10.89.0.0/24")
        let before = host.kernel.snapshot()
        host.nftables.resetCounts()
        let mark = host.kernel.mark
        #expect(try host.manager.reconcile().isEmpty)
        #expect(host.kernel.operations(since: mark) == ["host: list links", "host: list addresses"])
        #expect(host.nftables.tableReads == 1 && host.nftables.rulesetReads == 0)
        // The same objects; the rebuilt chains list the networks' rules by name.
        #expect(host.kernel.snapshot().split(separator: "\n").sorted() == before.split(separator: "\n").sorted())
    }

    @Test("a link of another kind holding the bridge's name is what reconcile cannot fix: it says so, names the repair, restores the rest")
    func reconcileRefusesForeignLink() throws {
        let host = try FakeHost()
        try host.network()
        try host.network("db", subnet: "10.89.0.0/24")
        try delete("brweb", in: host)
        host.kernel.addLink("brweb", kind: "dummy")
        try delete("brdb", in: host)
        let report = try host.manager.reconcile()
        #expect(report.remaining.map(\.description) == ["network web: bridge brweb: held by a link of another kind (dummy)"])
        #expect(report.remaining.first?.repair == .removeLink)
        #expect(report.restored.map(\.description) == ["network db: bridge brdb: missing"])
        #expect(host.kernel.link("brweb")?.kind == "dummy" && host.kernel.link("brdb")?.kind == "bridge")
        #expect(try host.manager.check().map(\.repair) == [.removeLink])
    }
}

/// A bridge holding a network's bridge name that is not the one Berth made for it — another
/// state directory's network on the same name after a reboot took this one's, or a bridge a
/// program made since — is never taken over: no new MAC, no tag, no address, and no
/// deletion by `network rm`.
@Suite("a bridge of the network's name that is not its own (fake kernel)")
struct ForeignBridgePolicyTests {
    /// A's network web on brweb, whose bridge is then gone (a reboot) and made again by
    /// `takeOver` (B's network on the same name, or a hand-made one).
    private func reclaimed(by takeOver: (FakeHost, FakeHost) throws -> Void) throws -> (FakeHost, FakeHost) {
        let a = try FakeHost()
        let b = try FakeHost(kernel: a.kernel, instance: "0dd1ce00")
        try a.network()
        let bridge = try #require(a.kernel.link("brweb"))
        try a.handle.netlink.deleteLink(.index(bridge.index))
        try takeOver(a, b)
        return (a, b)
    }

    private func expectUntouched(_ host: FakeHost, alias: String?, mac: String?, addresses: [String],
                                 sourceLocation: SourceLocation = #_sourceLocation) throws {
        let bridge = try #require(host.kernel.link("brweb"), sourceLocation: sourceLocation)
        #expect(bridge.alias == alias && bridge.mac?.description == mac, sourceLocation: sourceLocation)
        #expect(host.kernel.addresses().filter { $0.hasSuffix(" dev brweb") } == addresses, sourceLocation: sourceLocation)
    }

    @Test("another state directory's network on the bridge name: A's attach, reconcile and rm leave B's bridge as it is")
    func anotherInstancesBridge() throws {
        let (a, b) = try reclaimed { _, b in try b.network("lan", subnet: "10.89.0.0/24", bridge: "brweb") }
        let before = try #require(a.kernel.link("brweb"))
        let alias = before.alias, mac = before.mac?.description
        let addresses = a.kernel.addresses().filter { $0.hasSuffix(" dev brweb") }
        #expect(alias == "berth-network lan @0dd1ce00")

        expect(refusal { try a.attach("ctr2", id: "e2") }, .conflict,
               ["bridge brweb of network web is held by a bridge Berth did not make for it", "tagged \"berth-network lan @0dd1ce00\""])
        try expectUntouched(a, alias: alias, mac: mac, addresses: addresses)

        let problems = try a.manager.check()
        #expect(problems.map(\.description) == ["network web: bridge brweb: held by a bridge Berth did not make for this network (tagged \"berth-network lan @0dd1ce00\")"])
        #expect(problems.map(\.repair) == [.bridgeNameTaken])
        let report = try a.manager.reconcile()
        #expect(report.remaining.map(\.repair) == [.bridgeNameTaken] && report.restored.isEmpty)
        try expectUntouched(a, alias: alias, mac: mac, addresses: addresses)

        try a.manager.removeNetwork(named: "web")
        try expectUntouched(a, alias: alias, mac: mac, addresses: addresses)
        #expect(try b.manager.check().isEmpty)
    }

    @Test("a bridge a program made on the name (untagged): refused, never re-tagged or deleted")
    func handMadeBridge() throws {
        let (a, _) = try reclaimed { a, _ in a.kernel.addLink("brweb", kind: "bridge", up: true) }
        let mac = a.kernel.link("brweb")?.mac?.description
        expect(refusal { try a.attach("ctr2", id: "e2") }, .conflict, ["held by a bridge Berth did not make for it (no Berth tag)"])
        try expectUntouched(a, alias: nil, mac: mac, addresses: [])
        #expect(try a.manager.check().map(\.repair) == [.bridgeNameTaken])
        try a.manager.removeNetwork(named: "web")
        try expectUntouched(a, alias: nil, mac: mac, addresses: [])
    }

    @Test("the network's own bridge with its tag cleared by hand is still its own (its fixed MAC): attach re-tags it")
    func ownBridgeUntagged() throws {
        let host = try FakeHost()
        try host.network()
        let bridge = try #require(host.kernel.link("brweb"))
        try host.handle.netlink.setAlias(.index(bridge.index), to: nil)
        try host.attach("ctr1", id: "e1")
        #expect(host.kernel.link("brweb")?.alias == "berth-network web @f4ce0001")
    }
}
