import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import BerthNetlink
import Testing

/// A publish whose batch went in and whose record never committed (its answers lost, its
/// undo refused) leaves elements tagged with its id and no record: `unpublish` of that id
/// removes them, and nothing of anyone else's. `unpublish(group:)` and `detach(network:)`
/// leave another group's publication and another network's endpoint alone.
@Suite("unpublish of an unrecorded id removes a failed publish's elements; group and network are honoured (fake kernel)")
struct UnpublishLeftoverPolicyTests {
    private func wiredHost() throws -> FakeHost {
        let host = try FakeHost()
        host.kernel.addLink("extbr0", kind: "bridge", up: true)
        try host.kernel.addAddress("10.66.0.1/24", to: "extbr0")
        host.kernel.addNamespace("ext1", loopbackUp: true)
        return host
    }

    @discardableResult
    private func publish(_ host: FakeHost, _ id: String, group: String = "ext", address: String = "10.66.0.2",
                         ports: [String]) throws(BerthError) -> PublicationRecord {
        try host.manager.publish(PublicationOptions(
            id: id, group: group, address: try IPv4Address(parsing: address), namespace: .name("ext1"), hostLink: nil,
            ports: try ports.map { text throws(BerthError) in try PortSpec(parsing: text) }))
    }

    @Test("a publish batch applied with its answers lost: no record, its elements stay; unpublish of the id removes them and leaves another publication's and an endpoint's")
    func outcomeUnknown() throws {
        let host = try wiredHost()
        try host.network()
        try host.attach("ctr1", id: "e1", ports: ["9191:91"])
        try publish(host, "keep", address: "10.66.0.3", ports: ["9090:90"])
        host.nftables.nextApplyError = NetlinkError(errno: Errno(105), operation: "publish", outcomeUnknown: true).berthError
        host.nftables.nextApplyErrorAfterApplying = true
        #expect(refusal { try publish(host, "lost", ports: ["8080:80"]) }?.outcomeIsUnknown == true)
        #expect(try host.manager.publication(id: "lost") == nil)
        #expect(host.nftables.ruleset.contains("berth-endpoint lost @"))

        let removed = try host.manager.unpublish(id: "lost", group: "ext")
        // Its port's element and its address's hairpin element.
        #expect(removed.count == 2 && removed.first?.contains("tcp . 8080") == true && removed.last?.contains("10.66.0.2 . 10.66.0.2") == true, "\(removed)")
        #expect(!host.nftables.ruleset.contains("berth-endpoint lost @"))
        #expect(host.nftables.ruleset.contains("berth-endpoint keep @") && host.nftables.ruleset.contains("berth-endpoint e1 @"))
        // The key is free again; a second unpublish finds nothing.
        try publish(host, "lost", ports: ["8080:80"])
        try host.manager.unpublish(id: "lost")
        #expect(try host.manager.unpublish(id: "lost").isEmpty)
    }

    @Test("a publish whose batch made Berth's table and whose record never committed, on a host without Berth networks: gc removes its elements and the table; a table in use stays")
    func gcRemovesCrashedPublishTable() throws {
        let host = try wiredHost()
        // The elements alone are refused (no table), then the batch that makes the table goes
        // in and its answers are lost: what a publish killed before its commit leaves.
        host.nftables.nextApplyError = NetlinkError(errno: Errno(105), operation: "publish", outcomeUnknown: true).berthError
        host.nftables.nextApplyErrorAfterApplying = true
        host.nftables.applyErrorDelay = 1
        _ = refusal { try publish(host, "lost", ports: ["8080:80"]) }
        #expect(try host.manager.publication(id: "lost") == nil)
        #expect(host.nftables.ruleset.contains("table ip berth"))
        _ = try host.manager.gc()
        #expect(!host.nftables.ruleset.contains("table ip berth"), "\(host.nftables.ruleset)")
        #expect(try host.manager.gc().isEmpty)
        // A publication's table stays, and so does a network's.
        try publish(host, "live", ports: ["9090:90"])
        #expect(try host.manager.gc().isEmpty)
        #expect(host.nftables.ruleset.contains("table ip berth"))
        try host.manager.unpublish(id: "live")
        try host.network()
        #expect(try host.manager.gc().isEmpty)
        #expect(host.nftables.ruleset.contains("table ip berth"))
    }

    @Test("a publish whose undo was refused leaves its elements and no record; unpublish of the id removes them")
    func failedUndo() throws {
        let host = try wiredHost()
        try publish(host, "live", address: "10.66.0.3", ports: ["9090:90"])
        host.arm("publish.conntrack")
        // The publish's batch goes through; its undo's is refused.
        host.nftables.nextApplyError = BerthError(.kernel, "refused undo")
        host.nftables.applyErrorDelay = 1
        _ = refusal { try publish(host, "stuck", ports: ["8080:80"]) }
        host.disarm()
        #expect(try host.manager.publication(id: "stuck") == nil)
        #expect(host.nftables.ruleset.contains("berth-endpoint stuck @"))
        #expect(try host.manager.unpublish(id: "stuck").count == 2, "its port's element and its hairpin element")
        #expect(!host.nftables.ruleset.contains("berth-endpoint stuck @"))
        #expect(host.nftables.ruleset.contains("berth-endpoint live @"))
    }

    @Test("unpublish names its group: another group's publication stays whole; an endpoint's id is never taken for leftovers")
    func otherGroup() throws {
        let host = try wiredHost()
        try host.network()
        try host.attach("ctr1", id: "e1", ports: ["9191:91"])
        try publish(host, "p1", ports: ["8080:80"])
        let ruleset = host.nftables.ruleset
        #expect(try host.manager.unpublish(id: "p1", group: "other").isEmpty)
        #expect(try host.manager.unpublish(id: "e1", group: "ext").isEmpty)
        #expect(try host.manager.unpublish(id: "e1").isEmpty)
        #expect(host.nftables.ruleset == ruleset)
        #expect(try host.manager.publication(id: "p1") != nil)
        #expect(try host.recorded() == ["e1 10.88.0.2"])
        try host.manager.unpublish(id: "p1", group: "ext")
        #expect(try host.manager.publication(id: "p1") == nil)
    }

    @Test("detach names its network: another network's endpoint of the same id stays whole")
    func otherNetwork() throws {
        let host = try wiredHost()
        try host.network()
        try host.network("db", subnet: "10.89.0.0/24")
        try host.attach("ctr1", id: "c1-eth0", ports: ["9191:91"])
        let snapshot = host.kernel.snapshot(), ruleset = host.nftables.ruleset
        #expect(try host.manager.detach(id: "c1-eth0", network: "db") == false)
        #expect(host.kernel.snapshot() == snapshot && host.nftables.ruleset == ruleset)
        #expect(try host.recorded() == ["c1-eth0 10.88.0.2"])
        #expect(try host.manager.detach(id: "c1-eth0", network: "web"))
        #expect(try host.recorded().isEmpty)
    }
}
