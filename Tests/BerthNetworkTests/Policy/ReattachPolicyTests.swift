import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetlink
import BerthNetwork
import Testing

/// A re-attach of the same id into the same namespace right after detach (issue 16): the
/// container end is out of the way when detach returns, whatever the indexes of the ends.
@Suite("re-attach after detach (fake kernel)")
struct ReattachPolicyTests {
    /// Network web, namespace ctr1 with padding links so that the next veth's two ends get
    /// the same index, each in its own namespace (as fresh namespaces often do).
    private func alignedHost() throws -> (FakeHost, NetworkNamespace) {
        let host = try FakeHost()
        try host.network(subnet: "10.88.0.0/24")
        let ctr = host.kernel.addNamespace("ctr1")
        let hostNext = host.kernel.addLink("hpad", kind: "dummy") + 1
        var ctrNext = host.kernel.addLink("cpad0", kind: "dummy", in: ctr) + 1
        while ctrNext < hostNext { ctrNext = host.kernel.addLink("cpad\(ctrNext)", kind: "dummy", in: ctr) + 1 }
        try #require(ctrNext == hostNext)
        return (host, ctr)
    }

    @Test("both ends of the pair with the same index: detach renames the container end, and the same id attaches again at once")
    func sameIndexBothEnds() throws {
        let (host, ctr) = try alignedHost()
        host.kernel.holdsBackgroundDeletions = true
        let endpoint = try host.attach("ctr1", id: "e1", ports: ["8080:80"])
        let veth = try #require(host.kernel.link(endpoint.hostVeth.rawValue))
        let eth0 = try #require(host.kernel.link("eth0", in: ctr))
        try #require(veth.index == eth0.index)
        try host.manager.detach(id: "e1")
        #expect(host.kernel.link("eth0", in: ctr) == nil)
        #expect(host.kernel.link(try KernelNames.detachedVeth(index: eth0.index).rawValue, in: ctr)?.isUp == false)
        let again = try host.attach("ctr1", id: "e1", ports: ["8080:80"])
        #expect(again.address?.description == "10.88.0.2" && host.kernel.link("eth0", in: ctr) != nil)
        host.kernel.runBackgroundDeletions()
        #expect(host.kernel.links(in: ctr).map(\.name).filter { !$0.hasPrefix("cpad") } == ["lo", "eth0"])
        #expect(try host.manager.check().isEmpty)
    }

    @Test("a kernel that does not say which index the peer has: the container end is found by name and renamed")
    func peerFoundByName() throws {
        let (host, ctr) = try alignedHost()
        host.kernel.holdsBackgroundDeletions = true
        try host.attach("ctr1", id: "e1")
        let eth0 = try #require(host.kernel.link("eth0", in: ctr))
        host.kernel.reportsPeers = false
        try host.manager.detach(id: "e1")
        #expect(host.kernel.link("eth0", in: ctr) == nil)
        #expect(host.kernel.link(try KernelNames.detachedVeth(index: eth0.index).rawValue, in: ctr)?.isUp == false)
        #expect(host.kernel.backgroundDeletions.count == 1)
        try host.attach("ctr1", id: "e1")
        host.kernel.runBackgroundDeletions()
        #expect(try host.manager.check().isEmpty)
    }

    @Test("an eth0 that is not the endpoint's is never touched: the pair is deleted at once instead")
    func foreignInterfaceUntouched() throws {
        let (host, ctr) = try alignedHost()
        host.kernel.holdsBackgroundDeletions = true
        try host.attach("ctr1", id: "e1")
        // The container renamed Berth's end and made an eth0 of its own.
        let ours = try #require(host.kernel.link("eth0", in: ctr))
        try host.handle.netlink(in: ctr).apply { changes throws(BerthError) in
            try changes.rename(.index(ours.index), to: try InterfaceName("lan0"))
        }
        let foreign = host.kernel.addLink("eth0", kind: "veth", in: ctr, up: true, peerName: "other")
        host.kernel.reportsPeers = false
        try host.manager.detach(id: "e1")
        let eth0 = try #require(host.kernel.link("eth0", in: ctr))
        #expect(eth0.index == foreign && eth0.isUp)
        #expect(host.kernel.link("lan0", in: ctr) == nil)
        #expect(host.kernel.backgroundDeletions.isEmpty)
        #expect(host.kernel.links().filter { $0.kind == "veth" }.isEmpty)
        #expect(try host.recorded().isEmpty)
    }
}
