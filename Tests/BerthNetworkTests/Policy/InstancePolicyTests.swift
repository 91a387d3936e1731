import BerthCore
import Foundation
import BerthFakes
import BerthNamespace
import BerthNetwork
import BerthNFTables
import Testing

/// Two state directories on one (fake) host: two instances, each tagging its objects with
/// its id, publishing side by side in the shared table, and leaving each other's objects
/// alone in gc, check and reconcile.
@Suite("instances (fake kernel)")
struct InstancePolicyTests {
    @Test("two instances racing to make Berth's table: the one that finds it made since its read plans anew; the static rules appear once")
    func tableRace() throws {
        let a = try FakeHost()
        let b = try FakeHost(kernel: a.kernel, instance: "0dd1ce00")
        // B makes the table between A's read of it (none) and A's batch.
        a.nftables.beforeNextApply = { _ = try? b.network(subnet: "10.89.0.0/24", bridge: "brwebb") }
        try a.network()
        #expect(try b.manager.network(named: "web").bridge.rawValue == "brwebb")
        let ruleset = a.nftables.ruleset
        #expect(ruleset.components(separatedBy: "loopback only from lo").count == 3, "\(ruleset)")
        #expect(ruleset.contains("10.88.0.0/24") && ruleset.contains("10.89.0.0/24"))
        #expect(try a.manager.check().isEmpty && b.manager.check().isEmpty)

        // The same race on a publish that makes the table: its elements go in, the
        // skeleton once.
        let c = try FakeHost()
        let d = try FakeHost(kernel: c.kernel, instance: "0dd1ce00")
        c.kernel.addLink("extbr0", kind: "bridge", up: true)
        try c.kernel.addAddress("10.66.0.1/24", to: "extbr0")
        c.kernel.addNamespace("ext1", loopbackUp: true)
        // After the elements alone were refused for want of the table, before the batch
        // that makes it.
        c.nftables.beforeApplyDelay = 1
        c.nftables.beforeNextApply = { _ = try? d.network(subnet: "10.89.0.0/24", bridge: "brwebb") }
        try c.manager.publish(PublicationOptions(id: "pub1", group: "ext", address: try IPv4Address(parsing: "10.66.0.2"), namespace: .name("ext1"),
                                                 hostLink: try InterfaceName("extbr0"), ports: [try PortSpec(parsing: "8080:80")]))
        let ruleset2 = c.nftables.ruleset
        #expect(ruleset2.components(separatedBy: "loopback only from lo").count == 3, "\(ruleset2)")
        #expect(ruleset2.contains("comment \"berth-endpoint pub1 @f4ce0001\""), "\(ruleset2)")
    }

    @Test("each instance tags its bridge, veths, rules and elements with its id; both publish side by side")
    func tags() throws {
        let (a, b) = try twoInstances(bPublishes: true)
        #expect(a.kernel.link("brweb")?.alias == "berth-network web @f4ce0001")
        #expect(a.kernel.link("brwebb")?.alias == "berth-network web @0dd1ce00")
        #expect(a.kernel.link(try a.manager.endpoint("e1").hostVeth.rawValue)?.alias == "berth-endpoint e1 @f4ce0001")
        #expect(a.kernel.link(try b.manager.endpoint("b1").hostVeth.rawValue)?.alias == "berth-endpoint b1 @0dd1ce00")
        let ruleset = a.nftables.ruleset
        #expect(ruleset.contains("tcp . 8080 comment \"berth-endpoint e1 @f4ce0001\""))
        #expect(ruleset.contains("tcp . 9090 comment \"berth-endpoint b1 @0dd1ce00\""))
        // One skeleton, shared: the static rules appear once.
        #expect(ruleset.components(separatedBy: "loopback only from lo").count == 3)
        #expect(try a.manager.check().isEmpty && b.manager.check().isEmpty)
    }

    @Test("the same endpoint id in two instances gets two veths")
    func sameIDTwice() throws {
        let (a, b) = try twoInstances(bPublishes: true)
        let mine = try a.attach("ctr3", id: "same")
        let theirs = try b.attach("ctr4", id: "same")
        #expect(mine.hostVeth != theirs.hostVeth)
    }

    @Test("a host port one instance publishes is refused to the other by the kernel's map")
    func portOwnedAcrossInstances() throws {
        let (_, b) = try twoInstances(bPublishes: true)
        let error = refusal { try b.attach("ctr3", id: "b2", ports: ["8080:80"]) }
        expect(error, .conflict, ["a published port of endpoint b2 is already in Berth's nftables maps"], parameter: "ports")
        #expect(try b.manager.endpoints().map(\.id) == ["b1"])
    }

    @Test("gc in one instance leaves the other's bridge, veths, rules and elements; its own leftovers go")
    func gcLeavesOthers() throws {
        let (a, b) = try twoInstances(bPublishes: true)
        let before = a.kernel.snapshot()
        #expect(try a.manager.gc().isEmpty)
        #expect(try b.manager.gc().isEmpty)
        #expect(a.kernel.snapshot() == before)
        // B's namespace goes: only B's gc forgets b1 and its element.
        a.kernel.destroyNamespace(try b.namespace("ctr2"))
        #expect(try a.manager.gc().isEmpty)
        #expect(a.nftables.ruleset.contains("berth-endpoint b1 @0dd1ce00"))
        #expect(try b.manager.gc().endpoints == ["b1"])
        #expect(!a.nftables.ruleset.contains("berth-endpoint b1") && a.nftables.ruleset.contains("berth-endpoint e1 @f4ce0001"))
        #expect(try a.manager.check().isEmpty)
    }

    @Test("check in one instance reports only its own objects")
    func checkOwnOnly() throws {
        let (a, b) = try twoInstances(bPublishes: true)
        let veth = try #require(a.kernel.link(try b.manager.endpoint("b1").hostVeth.rawValue))
        try a.handle.netlink.deleteLink(.index(veth.index))
        #expect(try a.manager.check().isEmpty)
        #expect(try b.manager.check().map(\.endpoint).contains("b1"))
    }

    @Test("after a flush, reconcile in one instance restores the skeleton and its own objects only; the other's reconcile adds its own")
    func reconcileOwnOnly() throws {
        let (a, b) = try twoInstances(bPublishes: true)
        let whole = a.nftables.ruleset
        var flush = Transaction()
        flush.delete(.table(FirewallLayout.table))
        try a.nftables.apply(flush)
        let report = try a.manager.reconcile()
        #expect(report.restored.map(\.description) == ["nftables table ip berth: missing"])
        #expect(a.nftables.ruleset.contains("berth-endpoint e1 @f4ce0001") && !a.nftables.ruleset.contains("@0dd1ce00"))
        let theirs = try b.manager.reconcile()
        #expect(theirs.restored.count == 4, "\(theirs.restored)")  // B's three network rules and its element
        #expect(a.nftables.ruleset.split(separator: "\n").sorted() == whole.split(separator: "\n").sorted())
        // Reconciling again in either changes nothing of the other's.
        #expect(try a.manager.reconcile().isEmpty && b.manager.reconcile().isEmpty)
    }

    @Test("reconcile of one instance puts back a static rule in its place without rebuilding the other's objects")
    func reconcileStaticRuleInPlace() throws {
        let (a, b) = try twoInstances(bPublishes: true)
        let before = a.nftables.ruleset
        let table = try #require(try a.nftables.list(table: FirewallLayout.table))
        let guardRule = try #require(table.chains.first { $0.chain.name == "guard" }?.rules.first { $0.comment == "berth: loopback only from lo" })
        let element = try #require(table.sets.first { $0.set.name == "publish_any" }?.elements.first { $0.comment?.hasSuffix("@0dd1ce00") == true })
        var cut = Transaction()
        cut.delete(.rule(guardRule))
        cut.delete(.element(element, in: FirewallLayout.publishAny))
        try a.nftables.apply(cut)
        let report = try a.manager.reconcile()
        #expect(report.restored.map(\.description) == ["rule 'iifname != \"lo\" ip daddr 127.0.0.0/8 drop comment \"berth: loopback only from lo\"' in chain guard: missing"])
        #expect(!a.nftables.ruleset.contains("9090"))
        #expect(try b.manager.reconcile().restored.map(\.endpoint) == ["b1"])
        #expect(a.nftables.ruleset == before)
    }

    @Test("a store made before instances recognises its untagged objects: check is clean, gc keeps them, reconcile tags rules and elements")
    func legacyObjects() throws {
        let host = try FakeHost(legacy: true)
        try host.network()
        let endpoint = try host.attach("ctr1", id: "e1", ports: ["8080:80"])
        // What an older Berth made: tags without the instance.
        try host.handle.netlink.setAlias(.name(InterfaceName("brweb")), to: "berth-network web")
        try host.handle.netlink.setAlias(.name(endpoint.hostVeth), to: "berth-endpoint e1")
        let table = try #require(try host.nftables.list(table: FirewallLayout.table))
        var untag = Transaction()
        for rule in table.chains.flatMap(\.rules) where rule.comment?.hasSuffix(" @f4ce0001") == true {
            untag.delete(.rule(rule))
            var old = rule
            old.handle = nil
            old.comment = "berth-network web"
            untag.add(.rule(old))
        }
        for contents in table.sets {
            for element in contents.elements {
                untag.delete(.element(element, in: contents.set))
                untag.add(.element(Element(element.key, element.value, comment: "berth-endpoint e1"), in: contents.set))
            }
        }
        try host.nftables.apply(untag)
        // Untagged objects no record names could be another older store's.
        host.kernel.addLink("vbstranger00000", kind: "veth", alias: "berth-endpoint stranger", peerName: "strangerp")
        host.kernel.addLink("brstranger", kind: "bridge", alias: "berth-network stranger")
        #expect(try host.manager.check().isEmpty)
        let before = host.kernel.snapshot()
        #expect(try host.manager.gc().isEmpty)
        #expect(host.kernel.snapshot() == before)
        let report = try host.manager.reconcile()
        #expect(report.restored.isEmpty && report.remaining.isEmpty)
        #expect(report.retagged.count == 4, "\(report.retagged)")  // three rules and the element
        #expect(!host.nftables.ruleset.contains("comment \"berth-network web\"") && !host.nftables.ruleset.contains("comment \"berth-endpoint e1\""))
        #expect(try host.manager.check().isEmpty && host.manager.reconcile().isEmpty)
        try host.manager.detach(id: "e1")
        #expect(!host.nftables.ruleset.contains("berth-endpoint"))
        #expect(host.kernel.link("vbstranger00000") != nil && host.kernel.link("brstranger") != nil)
    }

    @Test("a store made before instances: gc forgets an endpoint whose namespace is gone and removes its untagged elements, so its port can be published again")
    func legacyForgottenElements() throws {
        let host = try FakeHost(legacy: true)
        try host.network()
        try host.attach("ctr1", id: "e1", ports: ["8080:80"])
        // What an older Berth made: the element tagged without the instance.
        let table = try #require(try host.nftables.list(table: FirewallLayout.table))
        var untag = Transaction()
        for contents in table.sets {
            for element in contents.elements {
                untag.delete(.element(element, in: contents.set))
                untag.add(.element(Element(element.key, element.value, comment: "berth-endpoint e1"), in: contents.set))
            }
        }
        try host.nftables.apply(untag)
        #expect(host.nftables.ruleset.contains("comment \"berth-endpoint e1\""))
        // The container is gone without its detach.
        host.kernel.destroyNamespace(try host.namespace("ctr1"))
        let report = try host.manager.gc()
        #expect(report.endpoints == ["e1"], "\(report)")
        #expect(!host.nftables.ruleset.contains("berth-endpoint e1"), "\(host.nftables.ruleset)")
        #expect(report.firewallObjects.contains { $0.contains("8080") }, "\(report.firewallObjects)")
        // The port is free for the next attach.
        let again = try host.attach("ctr2", id: "e2", ports: ["8080:80"])
        #expect(again.ports.map(\.hostPort) == [8080])
    }
}
