import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// What DEL does with a delegated IPAM plugin's lease, against the fake plugin of
/// CNIIPAMForwardingKernelTests that records every call: given back when Berth's part is
/// done or nothing of Berth's records the id — also for a container id too long for Berth
/// to have recorded — and kept while Berth still records the attachment after its own part
/// failed, as a failed ADD keeps it.
@Suite("berth-cni: DEL gives a delegated lease back unless Berth still records the attachment (kernel)", .enabled(if: KernelTests.enabled))
struct CNIDelLeaseKernelTests {
    private func setUp(_ sandbox: HostSandbox) throws -> (cni: CNIHarness, plugins: String, config: String) {
        let cni = CNIHarness(sandbox: sandbox)
        let plugins = sandbox.stateDirectory + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        try CNIIPAMForwardingKernelTests.fakePlugin("ipam-fake", in: plugins, versions: CNIIPAMForwardingKernelTests.newVersions,
                                                    answers: ["ADD": (CNIIPAMForwardingKernelTests.lease, 0), "DEL": ("", 0), "CHECK": ("", 0)])
        let config = cni.config("k8s", extra: #""ipam":{"type":"ipam-fake"}"#)
        return (cni, plugins, config)
    }

    @Test("DEL of a container id longer than ADD takes succeeds and still gives the IPAM lease back; one with a bad character is still code 4")
    func overlongContainerID() throws {
        try withHostSandbox { sandbox in
            let (cni, plugins, config) = try setUp(sandbox)
            let long = String(repeating: "f", count: 100)
            let refused = cni.run("ADD", config, containerID: long, netns: try sandbox.makeNamespace().path, path: plugins)
            #expect(refused.code == 4 && refused.message.contains("100 bytes long"), "\(refused)")
            let del = cni.run("DEL", config, containerID: long, netns: "", path: plugins)
            #expect(del.status == 0 && del.stdout.isEmpty, "\(del)")
            #expect(CNIIPAMForwardingKernelTests.calls(plugins).contains("DEL \(long) eth0"), "\(CNIIPAMForwardingKernelTests.calls(plugins))")
            let bad = cni.run("DEL", config, containerID: long + "/x", netns: "", path: plugins)
            #expect(bad.code == 4 && bad.message.contains("is invalid"), "\(bad)")
        }
    }
}
