import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// The attachment id is CNI_CONTAINERID and CNI_IFNAME, the same on every network: DEL and
/// CHECK with another network's configuration must not take that network's attachment for
/// theirs.
@Suite("berth-cni: DEL and CHECK act on their own network's attachment only (kernel)", .enabled(if: try KernelTests.enabled))
struct CNINetworkNameKernelTests {
    @Test("DEL with network B's configuration leaves network A's attachment whole (success, as for an unknown one); CHECK with it is code 110 naming A (B is a network Berth runs, so not 3, which would spare the runtime its DEL)")
    func otherNetwork() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let container = try sandbox.makeNamespace()
            let ports = #""runtimeConfig":{"portMappings":[{"hostPort":8085,"containerPort":80}]}"#
            let a = cni.config("neta", extra: #""subnet":"10.76.0.0/24","# + ports)
            let b = cni.config("netb", extra: #""subnet":"10.75.0.0/24""#)
            let add = cni.run("ADD", a, containerID: "c1", netns: container.path)
            try #require(add.status == 0, "\(add)")
            // netb exists, so CHECK of netb is Berth's as the main plugin.
            let other = cni.run("ADD", b, containerID: "c2", netns: try sandbox.makeNamespace().path)
            try #require(other.status == 0, "\(other)")

            let check = cni.run("CHECK", CNIHarness.with(prevResult: add.stdout, b), containerID: "c1", netns: container.path)
            #expect(check.code == 110 && check.message.contains("on network netb") && check.message.contains("on network neta"), "\(check)")

            let del = cni.run("DEL", b, containerID: "c1", netns: container.path)
            #expect(del.status == 0 && del.stdout.isEmpty, "\(del)")
            #expect(sandbox.berth(["ps"]).stdout.contains("c1-eth0"))
            #expect(cni.ruleset().contains("berth-endpoint c1-eth0"))
            #expect(cni.run("CHECK", CNIHarness.with(prevResult: add.stdout, a), containerID: "c1", netns: container.path).status == 0)

            #expect(cni.run("DEL", a, containerID: "c1", netns: container.path).status == 0)
            #expect(!sandbox.berthWitness(["ps"]).contains("c1-eth0"))
            #expect(!cni.ruleset().contains("berth-endpoint c1-eth0"))
        }
    }
}
