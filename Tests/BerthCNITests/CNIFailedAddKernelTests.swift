import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// What a failed main-plugin ADD does with a delegated IPAM plugin's lease, against a fake
/// plugin (CNIIPAMForwardingKernelTests.fakePlugin) that records every call and leases
/// 10.78.0.50 to whoever asks: given back (IPAM DEL) when Berth keeps nothing of the
/// attachment, kept while Berth records the id on this network — an attachment that
/// existed before, or the ADD's own record, kept marked when a step's outcome is unknown.
@Suite("berth-cni: a failed ADD gives a delegated lease back only when Berth keeps nothing of it (kernel)", .enabled(if: try KernelTests.enabled))
struct CNIFailedAddKernelTests {
    private func setUp(_ sandbox: HostSandbox) throws -> (cni: CNIHarness, plugins: String, config: String) {
        let cni = CNIHarness(sandbox: sandbox)
        let plugins = sandbox.stateDirectory + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        try CNIIPAMForwardingKernelTests.fakePlugin("ipam-fake", in: plugins, versions: CNIIPAMForwardingKernelTests.newVersions,
                                                    answers: ["ADD": (CNIIPAMForwardingKernelTests.lease, 0), "DEL": ("", 0), "CHECK": ("", 0), "GC": ("", 0)])
        let config = cni.config("k8s", extra: #""ipam":{"type":"ipam-fake"},"runtimeConfig":{"portMappings":[{"hostPort":8084,"containerPort":80}]}"#)
        return (cni, plugins, config)
    }

    @Test("an ADD of an attachment that exists keeps the live one's lease and says the runtime must DEL it first; a refused attach that keeps nothing gives its lease back")
    func existingAttachment() throws {
        try withHostSandbox { sandbox in
            let (cni, plugins, config) = try setUp(sandbox)
            let container = try sandbox.makeNamespace()
            let add = cni.run("ADD", config, containerID: "pod1", netns: container.path, path: plugins)
            try #require(add.status == 0, "\(add)")
            #expect(add.address == "10.78.0.50")

            let again = cni.run("ADD", config, containerID: "pod1", netns: container.path, path: plugins)
            #expect(again.code == 102, "\(again)")
            #expect(again.message == "container pod1 interface eth0 is already attached to network k8s", "\(again)")
            let details = again.json?["details"]?.stringValue ?? ""
            #expect(details.contains("the runtime must DEL that attachment") && !details.contains("CNI_CONTAINERID"), "\(again)")
            #expect(!CNIIPAMForwardingKernelTests.calls(plugins).contains("DEL pod1 eth0"), "\(CNIIPAMForwardingKernelTests.calls(plugins))")
            #expect(sandbox.berth(["ps"]).stdout.contains("pod1-eth0"))
            #expect(cni.hostVeths().count == 1)

            // The plugin hands the same address to pod2: the attach refuses it (held by
            // pod1), keeps nothing, and the lease goes back.
            let taken = cni.run("ADD", config, containerID: "pod2", netns: try sandbox.makeNamespace().path, path: plugins)
            #expect(taken.code == 100, "\(taken)")
            #expect(CNIIPAMForwardingKernelTests.calls(plugins).contains("DEL pod2 eth0"), "\(CNIIPAMForwardingKernelTests.calls(plugins))")
            #expect(cni.hostVeths().count == 1)
        }
    }

    @Test("an ADD whose publish step's outcome is unknown keeps its marked record and the lease; CHECK calls it interrupted; DEL finishes it and gives the lease back",
          .enabled(if: CNIHarness.binary.contains("/debug/")))
    func outcomeUnknown() throws {
        try withHostSandbox { sandbox in
            let (cni, plugins, config) = try setUp(sandbox)
            let container = try sandbox.makeNamespace()
            let failed = cni.run("ADD", config, containerID: "pod3", netns: container.path, path: plugins,
                                 environment: ["BERTH_FAILPOINT=attach.publish:lost"])
            #expect(failed.status == 1 && failed.message.contains("outcome unknown"), "\(failed)")
            #expect(CNIIPAMForwardingKernelTests.calls(plugins).contains("ADD pod3 eth0"))
            #expect(!CNIIPAMForwardingKernelTests.calls(plugins).contains("DEL pod3 eth0"), "\(CNIIPAMForwardingKernelTests.calls(plugins))")
            #expect(sandbox.berth(["ps"]).stdout.contains("pod3-eth0"), "the marked record holds the address")

            let previous = #"{"cniVersion":"1.0.0","ips":[{"address":"10.78.0.50/24","gateway":"10.78.0.1"}]}"#
            let check = cni.run("CHECK", CNIHarness.with(prevResult: previous, config), containerID: "pod3", netns: container.path, path: plugins)
            #expect(check.code == 110 && check.message.contains("attach or detach: interrupted"), "\(check)")

            let del = cni.run("DEL", config, containerID: "pod3", netns: container.path, path: plugins)
            #expect(del.status == 0, "\(del)")
            #expect(CNIIPAMForwardingKernelTests.calls(plugins).contains("DEL pod3 eth0"))
            #expect(!sandbox.berthWitness(["ps"]).contains("pod3-eth0"))
            #expect(cni.hostVeths().isEmpty)
            #expect(!cni.ruleset().contains("pod3-eth0"))
        }
    }

    @Test("a CNI GC finishes such a marked record and gives its lease back even when the runtime lists it valid: it is no working attachment",
          .enabled(if: CNIHarness.binary.contains("/debug/")))
    func gcFinishesListedMark() throws {
        try withHostSandbox { sandbox in
            let (cni, plugins, _) = try setUp(sandbox)
            let config = cni.config("k8s", version: "1.1.0", extra: #""ipam":{"type":"ipam-fake"},"runtimeConfig":{"portMappings":[{"hostPort":8084,"containerPort":80}]}"#)
            let failed = cni.run("ADD", config, containerID: "pod4", netns: try sandbox.makeNamespace().path, path: plugins,
                                 environment: ["BERTH_FAILPOINT=attach.publish:lost"])
            #expect(failed.status == 1, "\(failed)")
            #expect(sandbox.berth(["ps"]).stdout.contains("pod4-eth0"))
            let gc = cni.run("GC", String(config.dropLast()) + #","cni.dev/valid-attachments":[{"containerID":"pod4","ifname":"eth0"}]}"#,
                             ifname: "", path: plugins)
            #expect(gc.status == 0, "\(gc)")
            #expect(CNIIPAMForwardingKernelTests.calls(plugins).contains("DEL pod4 eth0"), "\(CNIIPAMForwardingKernelTests.calls(plugins))")
            #expect(!sandbox.berthWitness(["ps"]).contains("pod4-eth0"))
            #expect(cni.hostVeths().isEmpty)
        }
    }
}
