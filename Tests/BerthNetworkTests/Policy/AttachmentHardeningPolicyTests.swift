import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import BerthNFTables
import Testing

/// Issue 12's guarantees on the paths the CNI plugin and the OCI hook take: publications
/// tagged with their instance and left alone by another instance's gc, check and
/// reconcile; a gc narrowed to one endpoint that finishes its interrupted detach and
/// touches nothing of another instance; a prune (CNI GC) that detaches crash-safe.
@Suite("publications, narrowed gc and prune under instances and interrupted detaches (fake kernel)")
struct AttachmentHardeningPolicyTests {
    /// Instance A (f4ce0001) publishing pubA 8085 to ext1, and instance B (0dd1ce00)
    /// publishing pubB 8086 to ext2, on one kernel.
    private func twoPublishers() throws -> (FakeHost, FakeHost) {
        let a = try FakeHost()
        let b = try FakeHost(kernel: a.kernel, instance: "0dd1ce00")
        a.kernel.addNamespace("ext1")
        a.kernel.addNamespace("ext2")
        try a.manager.publish(PublicationOptions(id: "pubA", group: "ext", address: IPv4Address(10, 66, 0, 2), namespace: .name("ext1"),
                                                 ports: [try PortSpec(parsing: "8085:80")]))
        try b.manager.publish(PublicationOptions(id: "pubB", group: "ext", address: IPv4Address(10, 66, 0, 3), namespace: .name("ext2"),
                                                 ports: [try PortSpec(parsing: "8086:80")]))
        return (a, b)
    }

    private func dropElements(_ host: FakeHost) throws {
        guard let table = try host.nftables.list(table: FirewallLayout.table) else { return }
        var drop = Transaction()
        for contents in table.sets {
            for element in contents.elements { drop.delete(.element(element, in: contents.set)) }
        }
        try host.nftables.apply(drop)
    }

    @Test("a publication's elements carry its instance; gc, check and reconcile in one instance leave the other's")
    func publicationsPerInstance() throws {
        let (a, b) = try twoPublishers()
        let ruleset = a.nftables.ruleset
        #expect(ruleset.contains("tcp . 8085 comment \"berth-endpoint pubA @f4ce0001\" : 10.66.0.2 . 80"))
        #expect(ruleset.contains("tcp . 8086 comment \"berth-endpoint pubB @0dd1ce00\" : 10.66.0.3 . 80"))
        // Neither knows the other's publication, and neither removes or reports it.
        #expect(try a.manager.gc().isEmpty && b.manager.gc().isEmpty)
        #expect(try a.manager.check().isEmpty && b.manager.check().isEmpty)
        #expect(try a.manager.reconcile().isEmpty && b.manager.reconcile().isEmpty)
        #expect(a.nftables.ruleset == ruleset)

        // Lost elements: each instance restores its own, and only its own.
        try dropElements(a)
        #expect(try a.manager.check().map(\.description)
            == ["endpoint pubA: element tcp . 8085 comment \"berth-endpoint pubA @f4ce0001\" : 10.66.0.2 . 80 of map publish_any: missing",
                "endpoint pubA: element 10.66.0.2 . 10.66.0.2 comment \"berth-endpoint pubA @f4ce0001\" of set publication_hairpin: missing"])
        #expect(try a.manager.reconcile().restored.count == 2)
        #expect(a.nftables.ruleset.contains("berth-endpoint pubA") && !a.nftables.ruleset.contains("berth-endpoint pubB"))
        #expect(try b.manager.check().count == 2)
        #expect(try b.manager.reconcile().restored.count == 2)
        #expect(a.nftables.ruleset == ruleset)
    }

    @Test("a publication whose namespace is gone: check names gc, reconcile adds no element for it, gc of its instance alone forgets it")
    func publicationNamespaceGone() throws {
        let (a, b) = try twoPublishers()
        a.kernel.destroyNamespace(try a.namespace("ext1"))
        let problems = try a.manager.check()
        #expect(problems.map(\.description) == ["endpoint pubA: network namespace /run/netns/ext1: gone"])
        #expect(problems.first?.repair == .collectGarbage)
        try dropElements(a)
        let report = try a.manager.reconcile()
        #expect(report.restored.isEmpty && report.remaining == problems)
        #expect(!a.nftables.ruleset.contains("berth-endpoint pubA"))
        #expect(try b.manager.gc().isEmpty)
        #expect(try b.manager.publications().map(\.id) == ["pubB"])
        #expect(try a.manager.gc().endpoints == ["pubA"])
        #expect(try a.manager.publications().isEmpty && a.manager.check().isEmpty)
    }

    @Test("gc narrowed to an id finishes that id's interrupted detach, and leaves another instance's endpoint of the same id",
          arguments: ["detach.mark", "detach.unpublish", "detach.unplug", "detach.delete"])
    func narrowedGCFinishesDetach(_ step: String) throws {
        let a = try FakeHost()
        let b = try FakeHost(kernel: a.kernel, instance: "0dd1ce00")
        try a.network()
        try b.network(subnet: "10.89.0.0/24", bridge: "brwebb")
        try a.attach("ctr1", id: "same", ports: ["8080:80"])
        try a.attach("ctr2", id: "other", ports: ["8081:80"])
        try b.attach("ctr3", id: "same", ports: ["9090:80"])
        a.arm("detach.mark")
        _ = refusal { try a.manager.detach(id: "other") }
        a.disarm()
        a.arm(step)
        _ = refusal { try a.manager.detach(id: "same") }
        a.disarm()
        let vethB = try b.manager.endpoint("same").hostVeth.rawValue
        let theirs = a.kernel.link(vethB)
        let report = try a.manager.gc(endpoint: "same")
        #expect(report.endpoints == ["same"])
        a.kernel.runBackgroundDeletions()
        #expect(!a.kernel.links().contains { $0.alias == "berth-endpoint same @f4ce0001" })
        #expect(!a.nftables.ruleset.contains("berth-endpoint same @f4ce0001"))
        // Another endpoint's interrupted detach waits for its own gc or detach.
        #expect(try a.manager.endpoint("other").isDetaching)
        // B's endpoint of the same id: its veth, its peer, its element.
        #expect(a.kernel.link(vethB)?.alias == "berth-endpoint same @0dd1ce00")
        #expect(a.nftables.ruleset.contains("tcp . 9090 comment \"berth-endpoint same @0dd1ce00\""))
        #expect(try b.manager.check().isEmpty)
        #expect(theirs != nil && a.kernel.link(vethB) == theirs)
        #expect(try a.manager.gc(endpoint: "same").isEmpty)
        #expect(try a.manager.gc().endpoints == ["other"])
    }

    @Test("pruneEndpoints (CNI GC) marks what it removes first: a failure at any step leaves marks that gc or the next prune finish",
          arguments: ["prune.mark", "detach.unpublish", "detach.unplug", "detach.delete", "detach.forget"], [false, true])
    func pruneCrashSafe(_ step: String, gcFinishes: Bool) throws {
        let host = try FakeHost()
        try host.network(subnet: "10.88.0.0/29")
        try host.attach("ctr1", id: "keep", ports: ["8080:80"])
        try host.attach("ctr2", id: "s1", ports: ["8081:80"])
        try host.attach("ctr3", id: "s2")
        host.arm(step)
        if step == "prune.mark" {
            expect(refusal { _ = try host.manager.pruneEndpoints(network: "web", keeping: ["keep"]) }, .internalError, ["fail point \(step) reached"])
        } else {
            // A teardown step fails for each endpoint, in its own savepoint: reported, not thrown.
            let report = try host.manager.pruneEndpoints(network: "web", keeping: ["keep"])
            #expect(report.endpoints.isEmpty && report.failed.map(\.id) == ["s1", "s2"], "\(report)")
            #expect(report.failed.allSatisfy { $0.error.message.contains("fail point \(step) reached") }, "\(report.failed)")
        }
        host.disarm()
        // Both are marked: check names the interrupted detach, with gc as its repair.
        #expect(try host.manager.endpoints().filter(\.isDetaching).map(\.id).sorted() == ["s1", "s2"])
        #expect(try host.manager.check().filter { $0.repair == .collectGarbage }.map(\.description).sorted()
            == ["endpoint s1: attach or detach: interrupted", "endpoint s2: attach or detach: interrupted"])
        if gcFinishes {
            #expect(try host.manager.gc().endpoints.sorted() == ["s1", "s2"])
        } else {
            #expect(try host.manager.pruneEndpoints(network: "web", keeping: ["keep"]).endpoints.sorted() == ["s1", "s2"])
        }
        host.kernel.runBackgroundDeletions()
        #expect(try host.recorded() == ["keep 10.88.0.2"])
        #expect(!host.kernel.links().contains { $0.alias?.hasPrefix("berth-endpoint s") == true })
        #expect(!host.nftables.ruleset.contains("berth-endpoint s1"))
        #expect(try host.manager.check().isEmpty && host.manager.gc().isEmpty)
        // Their addresses and ports are free again.
        #expect(try host.attach("ctr4", id: "s3", ports: ["8081:80"]).address?.description == "10.88.0.3")
    }

    @Test("pruneEndpoints finishes a marked endpoint even when it is kept: an interrupted attach or detach is no working attachment",
          arguments: ["attach", "detach"])
    func pruneFinishesKeptMarks(_ interrupted: String) throws {
        let host = try FakeHost()
        try host.network(subnet: "10.88.0.0/29")
        try host.attach("ctr1", id: "keep", ports: ["8080:80"])
        if interrupted == "attach" {
            // An attach whose undo failed keeps its record, marked.
            host.kernel.addNamespace("ctr2", loopbackUp: true)
            host.arm("attach.publish")
            host.kernel.refuse("delete link", errno: FakeErrno.permission)
            _ = refusal { try host.attach("ctr2", id: "half", ports: ["8081:80"]) }
        } else {
            try host.attach("ctr2", id: "half", ports: ["8081:80"])
            host.arm("detach.mark")
            _ = refusal { try host.manager.detach(id: "half") }
        }
        host.disarm()
        #expect(try host.manager.endpoint("half").isDetaching)
        let report = try host.manager.pruneEndpoints(network: "web", keeping: ["keep", "half"])
        #expect(report.endpoints == ["half"], "\(report)")
        host.kernel.runBackgroundDeletions()
        #expect(try host.recorded() == ["keep 10.88.0.2"])
        #expect(!host.nftables.ruleset.contains("berth-endpoint half"))
        #expect(try host.manager.check().isEmpty)
        #expect(try host.attach("ctr3", id: "next", ports: ["8081:80"]).address?.description == "10.88.0.3")
    }
}
