import BerthCore
import BerthNamespace
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// Another firewall's forward chain with policy drop, made as Docker makes it (iptables-nft:
/// `table ip filter`, FORWARD policy drop, jumping to DOCKER-USER): it drops what Berth
/// forwards whatever Berth's table accepts; `check` names it with Docker's repair, and once
/// DOCKER-USER accepts the bridge (the repair's rules), traffic flows and `check` is clean.
@Suite("Foreign forward drop (kernel)", .enabled(if: try KernelTests.enabled))
struct ForeignForwardDropKernelTests {
    typealias Host = PublishHost

    @Test("Docker's FORWARD policy drop stops a published port; check names chain and bridge; DOCKER-USER accepting the bridge restores it")
    func dockerPolicyDrop() throws {
        try withHostSandbox { sandbox in
            let host = try Host(sandbox)
            let bridge = try host.manager.network(named: "web").bridge.rawValue
            let c1 = try host.container("c1", ports: ["8080:80"])
            #expect(exchange(from: host.lan.namespace, Host.hostLAN, 8080) == echo("c1", .tcp, peer: Host.peerLAN))
            try #require(try host.manager.check().isEmpty)

            for argv in [["iptables-nft", "-N", "DOCKER-USER"], ["iptables-nft", "-I", "FORWARD", "-j", "DOCKER-USER"],
                         ["iptables-nft", "-P", "FORWARD", "DROP"]] {
                let result = sandbox.run(argv)
                try #require(result.succeeded, "\(argv): \(result)")
            }
            #expect(exchange(from: host.lan.namespace, Host.hostLAN, 8080, timeout: 1) == nil)
            let drop = ForwardDrop(family: "ip", table: "filter", chain: "FORWARD", owner: .docker, bridges: [bridge])
            #expect(try host.manager.check().map(\.repair) == [.allowInForeignFirewall(drop)])
            #expect(try host.manager.reconcile().warnings == [HostWarning(.forwardDropped(drop))])

            // What the CLI's hint says for Docker, with iptables-nft's own encoding of -i/-o.
            for argv in [["iptables-nft", "-I", "DOCKER-USER", "-i", bridge, "-j", "ACCEPT"],
                         ["iptables-nft", "-I", "DOCKER-USER", "-o", bridge, "-j", "ACCEPT"]] {
                let result = sandbox.run(argv)
                try #require(result.succeeded, "\(argv): \(result)")
            }
            #expect(exchange(from: host.lan.namespace, Host.hostLAN, 8080) == echo("c1", .tcp, peer: Host.peerLAN))
            #expect(try host.manager.check().isEmpty)
            #expect(c1.endpoint.ports.count == 1)
        }
    }
}
