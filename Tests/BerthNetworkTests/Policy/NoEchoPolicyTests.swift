import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import Testing

/// Kernels before 6.1 (Ubuntu 22.04's 5.15, RHEL 9's 5.14) ignore NLM_F_ECHO on
/// RTM_NEWLINK: attach and bridge creation find the link they made by name instead.
@Suite("attach on a kernel that does not echo new links (fake kernel)")
struct NoEchoPolicyTests {
    @Test("attach succeeds and returns the host end the kernel made, looked up by name")
    func attachWithoutEcho() throws {
        let host = try FakeHost()
        host.kernel.echoesNewLinks = false
        try host.network()
        let ctr = host.kernel.addNamespace("ctr1")
        let mark = host.kernel.mark
        let described = try host.manager.attachDescribed(AttachOptions(network: "web", namespace: .name("ctr1"), id: "e1"))
        let veth = try #require(host.kernel.link(described.endpoint.hostVeth.rawValue))
        let bridge = try #require(host.kernel.link("brweb"))
        #expect(veth.isUp && veth.master == bridge.index && veth.hairpin)
        #expect(described.hostVethMAC != nil && described.hostVethMAC == veth.mac)
        #expect(host.kernel.operations(since: mark).contains("host: get link \(described.endpoint.hostVeth)"))
        let eth0 = try #require(host.kernel.link("eth0", in: ctr))
        #expect(eth0.isUp && host.kernel.addresses(in: ctr) == ["10.88.0.2/24 dev eth0"])
        #expect(try host.recorded() == ["e1 10.88.0.2"])
    }

    @Test("a rollback after the veth was made deletes that veth, found by name")
    func rollbackWithoutEcho() throws {
        let host = try FakeHost()
        host.kernel.echoesNewLinks = false
        try host.network()
        host.kernel.addNamespace("ctr1")
        host.arm("attach.configure")
        #expect(throws: BerthError.self) { try host.attach("ctr1", id: "e1") }
        host.disarm()
        #expect(host.kernel.links().filter { $0.kind == "veth" }.isEmpty)
        #expect(try host.recorded().isEmpty)
    }
}
