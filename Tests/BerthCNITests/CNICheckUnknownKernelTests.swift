import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// CHECK of an attachment Berth does not record: code 3 tells the runtime it need not DEL
/// (the spec's "Container unknown or does not exist"), so it is kept for where nothing can
/// be held; on a network Berth runs, or with a delegated IPAM plugin that may hold a lease,
/// it is 110, whose DEL gives everything back. And a main plugin's configuration without
/// the keys that name it one (`{"type":"berth-cni"}`) on a network the state does not know
/// is told from a chained one by prevResult: Berth's own result lists its host veth.
@Suite("berth-cni: CHECK of an attachment Berth does not record (kernel)", .enabled(if: try KernelTests.enabled))
struct CNICheckUnknownKernelTests {
    @Test("no endpoint on a network Berth runs is 110, with and without a delegated IPAM plugin; the DEL it asks for gives the lease back")
    func missingOnBerthNetwork() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let plugins = try CNIIPAMForwardingKernelTests.pluginDirectory(sandbox)
            try CNIIPAMForwardingKernelTests.fakePlugin("ipam-fake", in: plugins, versions: CNIIPAMForwardingKernelTests.newVersions,
                                                        answers: ["ADD": (CNIIPAMForwardingKernelTests.lease, 0), "DEL": ("", 0), "CHECK": ("", 0)])
            let container = try sandbox.makeNamespace()
            // Berth's own IPAM.
            let own = cni.config("own", extra: #""subnet":"10.79.0.0/24""#)
            let add = cni.run("ADD", own, containerID: "pod1", netns: container.path)
            try #require(add.status == 0, "\(add)")
            let detached = sandbox.berth(["detach", "pod1-eth0"])
            try #require(detached.succeeded, "\(detached)")
            let check = cni.run("CHECK", CNIHarness.with(prevResult: add.stdout, own), containerID: "pod1", netns: container.path)
            #expect(check.status == 1 && check.code == 110, "\(check)")
            #expect(check.message.contains("berth-cni knows no attachment pod1 eth0 on network own"), "\(check)")

            // A delegated lease: Berth's record is gone, the plugin's lease is not.
            let delegated = cni.config("k8s", extra: #""ipam":{"type":"ipam-fake"}"#)
            let leased = cni.run("ADD", delegated, containerID: "pod2", netns: container.path, path: plugins)
            try #require(leased.status == 0, "\(leased)")
            try #require(sandbox.berth(["detach", "pod2-eth0"]).succeeded)
            let lost = cni.run("CHECK", CNIHarness.with(prevResult: leased.stdout, delegated), containerID: "pod2", netns: container.path, path: plugins)
            #expect(lost.status == 1 && lost.code == 110, "\(lost)")
            // The DEL that 110 calls for gives the lease back.
            #expect(cni.run("DEL", delegated, containerID: "pod2", netns: container.path, path: plugins).status == 0)
            #expect(CNIIPAMForwardingKernelTests.calls(plugins).contains("DEL pod2 eth0"), "\(CNIIPAMForwardingKernelTests.calls(plugins))")
        }
    }

    @Test("the id on another network is 3 without a delegated IPAM plugin, 110 with one (its lease on this network may be held)")
    func heldOnAnotherNetwork() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let plugins = try CNIIPAMForwardingKernelTests.pluginDirectory(sandbox)
            try CNIIPAMForwardingKernelTests.fakePlugin("ipam-fake", in: plugins, versions: CNIIPAMForwardingKernelTests.newVersions,
                                                        answers: ["ADD": (CNIIPAMForwardingKernelTests.lease, 0), "DEL": ("", 0), "CHECK": ("", 0)])
            let container = try sandbox.makeNamespace()
            let first = cni.config("first", extra: #""subnet":"10.79.0.0/24""#)
            let add = cni.run("ADD", first, containerID: "pod1", netns: container.path)
            try #require(add.status == 0, "\(add)")
            let plain = cni.run("CHECK", CNIHarness.with(prevResult: add.stdout, cni.config("second", extra: #""subnet":"10.80.0.0/24""#)),
                                containerID: "pod1", netns: container.path)
            #expect(plain.code == 3 && plain.message.contains("on network first"), "\(plain)")
            let delegated = cni.run("CHECK", CNIHarness.with(prevResult: add.stdout, cni.config("second", extra: #""ipam":{"type":"ipam-fake"}"#)),
                                    containerID: "pod1", netns: container.path, path: plugins)
            #expect(delegated.code == 110 && delegated.message.contains("on network first"), "\(delegated)")
        }
    }

    @Test("a main plugin's configuration with no ipam, subnet or bridge on a network the state does not know is not taken for a chained one: prevResult lists Berth's host veth")
    func bareMainConfiguration() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let container = try sandbox.makeNamespace()
            let add = cni.run("ADD", cni.config("known"), containerID: "pod1", netns: container.path)
            try #require(add.status == 0, "\(add)")
            // The runtime's state directory changed, or the network was removed: CHECK of a
            // configuration with only the main plugin's type.
            let unknown = CNIHarness.with(prevResult: add.stdout, cni.config("unknown"))
            let check = cni.run("CHECK", unknown, containerID: "pod9", netns: container.path)
            #expect(check.status == 1 && check.code == 3, "\(check)")
            #expect(check.message.contains("berth-cni knows no attachment pod9 eth0 on network unknown"), "\(check)")
            // A chained configuration behind another plugin (its prevResult lists no host veth
            // of Berth's) with no ports still has nothing to check.
            let chained = #"{"cniVersion":"1.0.0","interfaces":[{"name":"cni0"},{"name":"veth1234abcd"},{"name":"eth0","sandbox":"\#(container.path)"}],"ips":[{"address":"10.88.0.5/16","interface":2}]}"#
            #expect(cni.run("CHECK", CNIHarness.with(prevResult: chained, cni.config("unknown")), containerID: "pod9", netns: container.path).status == 0)
        }
    }
}
