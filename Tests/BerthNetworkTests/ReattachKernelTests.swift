import BerthCore
import BerthNamespace
import BerthNetlink
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// A detach followed at once by an attach of the same id into the same namespace (issue
/// 16), with the veth's two ends given the same index, each in its own namespace — what
/// two fresh namespaces often do, and what made `berth lab up` fail now and then with
/// "eth0 already exists".
@Suite("re-attach after detach (kernel)", .enabled(if: try KernelTests.enabled))
struct ReattachKernelTests {
    @Test("ends with the same index: when detach returns eth0 is gone from the container, and the same id attaches again at once")
    func sameIndexBothEnds() throws {
        try withHostSandbox { sandbox in
            let manager = try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace)
            try manager.createNetwork(NetworkOptions(name: "web", subnet: try CIDR(parsing: "10.47.0.0/24")))
            let ctr = try sandbox.makeNamespace()
            let name = try #require(ctr.name)
            let aligner = try IndexAligner(sandbox, ctr)
            let inside = try HostHandle(namespace: ctr).netlink
            let attach = try AttachOptions(network: "web", namespace: .name(name), id: "c1")
            for round in 0..<6 {
                try aligner.align()
                let endpoint = try manager.attach(attach)
                let veth = try sandbox.handle().netlink.link(named: endpoint.hostVeth.rawValue)
                let eth0 = try inside.link(named: "eth0")
                try #require(veth.index == eth0.index, "round \(round): the ends were not aligned")
                #expect(veth.peerIndex == eth0.index)
                try manager.detach(id: "c1")
                // Before detach returns, not when the handed-off deletion gets to it.
                #expect(throws: BerthError.self, "round \(round): eth0 is still in the container") { try inside.link(named: "eth0") }
                let again = try manager.attach(attach)
                #expect(again.interfaceName.rawValue == "eth0")
                try manager.detach(id: "c1")
            }

            // A user's `berth detach c2; berth attach c2 --netns same`, ends aligned.
            let args = ["attach", "web", "--netns", name, "--id", "c2"]
            try aligner.align()
            try #require(sandbox.berth(args).succeeded)
            #expect(sandbox.berth(["detach", "c2"]).succeeded)
            let again = sandbox.berth(args)
            #expect(again.succeeded, "\(again)")
            #expect(Oracle.wait { Command.run(["ip", "-n", name, "-o", "link", "show"]).stdout.split(separator: "\n").count == 2 })
            #expect(sandbox.berth(["check"]).succeeded)
        }
    }
}

/// Makes the next link of the sandbox and the next link of a container get the same index:
/// a probe veth in each (its peer in a scratch namespace) shows the index just given out,
/// and indexes are handed out in turn, so the one behind gets probes until they agree.
private struct IndexAligner {
    let sandbox: HostSandbox
    let container: String
    let scratch: String

    init(_ sandbox: HostSandbox, _ container: NetworkNamespace) throws {
        self.sandbox = sandbox
        self.container = try #require(container.name)
        scratch = try #require(try sandbox.makeNamespace("scratch").name)
    }

    func align() throws {
        var host = try probe(sandbox.name), inside = try probe(container)
        while host != inside {
            if host < inside { host = try probe(sandbox.name) } else { inside = try probe(container) }
        }
    }

    /// Makes and deletes a veth end in `namespace`; returns the index it had.
    private func probe(_ namespace: String) throws -> Int {
        let add = Command.run(["ip", "-n", namespace, "link", "add", "btprobe", "type", "veth", "peer", "name", "btprobe", "netns", scratch])
        try #require(add.succeeded, "\(add)")
        let shown = Command.run(["ip", "-n", namespace, "-j", "link", "show", "btprobe"])
        let links = try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [[String: Any]]
        let index = try #require(links?.first?["ifindex"] as? Int, "\(shown)")
        try #require(Command.run(["ip", "-n", namespace, "link", "del", "btprobe"]).succeeded)
        return index
    }
}

private extension HostSandbox {
    func handle() throws -> HostHandle { try HostHandle(namespace: namespace) }
}
