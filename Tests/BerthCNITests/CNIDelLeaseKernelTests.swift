#if canImport(Glibc)
import Glibc
#endif
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// What DEL does with a delegated IPAM plugin's lease, against the fake plugin of
/// CNIIPAMForwardingKernelTests that records every call: given back when Berth's part is
/// done or nothing of Berth's records the id — also for a container id too long for Berth
/// to have recorded — and kept while Berth still records the attachment after its own part
/// failed, as a failed ADD keeps it.
@Suite("berth-cni: DEL gives a delegated lease back unless Berth still records the attachment (kernel)", .enabled(if: try KernelTests.enabled))
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
            #expect(refused.code == 4 && refused.message.contains("(100 bytes) and CNI_IFNAME make an attachment id of 105 bytes"), "\(refused)")
            let del = cni.run("DEL", config, containerID: long, netns: "", path: plugins)
            #expect(del.status == 0 && del.stdout.isEmpty, "\(del)")
            #expect(CNIIPAMForwardingKernelTests.calls(plugins).contains("DEL \(long) eth0"), "\(CNIIPAMForwardingKernelTests.calls(plugins))")
            let bad = cni.run("DEL", config, containerID: long + "/x", netns: "", path: plugins)
            #expect(bad.code == 4 && bad.message.contains("is invalid"), "\(bad)")
        }
    }

    @Test("a DEL whose detach fails after marking the endpoint keeps the lease; the next DEL finishes it and gives the lease back",
          .enabled(if: CNIHarness.binary.contains("/debug/")))
    func failedDetachKeepsLease() throws {
        try withHostSandbox { sandbox in
            let (cni, plugins, config) = try setUp(sandbox)
            let container = try sandbox.makeNamespace()
            try #require(cni.run("ADD", config, containerID: "pod5", netns: container.path, path: plugins).status == 0)
            let failed = cni.run("DEL", config, containerID: "pod5", netns: container.path, path: plugins, environment: ["BERTH_FAILPOINT=detach.mark"])
            #expect(failed.status == 1 && failed.message.contains("fail point detach.mark"), "\(failed)")
            #expect(!CNIIPAMForwardingKernelTests.calls(plugins).contains("DEL pod5 eth0"), "\(CNIIPAMForwardingKernelTests.calls(plugins))")
            #expect(sandbox.berth(["ps"]).stdout.contains("pod5-eth0"), "the marked record holds the address")

            let del = cni.run("DEL", config, containerID: "pod5", netns: container.path, path: plugins)
            #expect(del.status == 0, "\(del)")
            #expect(CNIIPAMForwardingKernelTests.calls(plugins).contains("DEL pod5 eth0"), "\(CNIIPAMForwardingKernelTests.calls(plugins))")
            #expect(!sandbox.berthWitness(["ps"]).contains("pod5-eth0"))
        }
    }

    @Test("a DEL whose detach fails when the container's namespace is gone gives the lease back: its address is in use nowhere, and a runtime that never retries DEL would leak it",
          .enabled(if: CNIHarness.binary.contains("/debug/")))
    func goneNamespaceReleasesLease() throws {
        try withHostSandbox { sandbox in
            let (cni, plugins, config) = try setUp(sandbox)
            let container = try sandbox.makeNamespace()
            try #require(cni.run("ADD", config, containerID: "pod7", netns: container.path, path: plugins).status == 0)
            try #require(sandbox.run(["ip", "netns", "delete", try #require(container.name)]).succeeded)
            let failed = cni.run("DEL", config, containerID: "pod7", netns: "", path: plugins, environment: ["BERTH_FAILPOINT=detach.mark"])
            #expect(failed.status == 1 && failed.message.contains("fail point detach.mark"), "\(failed)")
            #expect(CNIIPAMForwardingKernelTests.calls(plugins).contains("DEL pod7 eth0"), "\(CNIIPAMForwardingKernelTests.calls(plugins))")
        }
    }

    @Test("a DEL that cannot take the state lock (held past its 30 s timeout) is code 11 and keeps the lease; the retry gives it back",
          .timeLimit(.minutes(2)))
    func lockedStateKeepsLease() throws {
        try withHostSandbox { sandbox in
            let (cni, plugins, config) = try setUp(sandbox)
            let container = try sandbox.makeNamespace()
            try #require(cni.run("ADD", config, containerID: "pod6", netns: container.path, path: plugins).status == 0)
            // flock locks belong to the open file description: this one blocks the plugin's.
            let fd = open(sandbox.stateDirectory + "/lock", O_RDWR | O_CLOEXEC)
            try #require(fd >= 0)
            try #require(flock(fd, LOCK_EX) == 0)
            let locked = cni.run("DEL", config, containerID: "pod6", netns: container.path, path: plugins)
            close(fd)
            #expect(locked.status == 1 && locked.code == 11, "\(locked)")
            #expect(!CNIIPAMForwardingKernelTests.calls(plugins).contains("DEL pod6 eth0"), "\(CNIIPAMForwardingKernelTests.calls(plugins))")

            let del = cni.run("DEL", config, containerID: "pod6", netns: container.path, path: plugins)
            #expect(del.status == 0, "\(del)")
            #expect(CNIIPAMForwardingKernelTests.calls(plugins).contains("DEL pod6 eth0"), "\(CNIIPAMForwardingKernelTests.calls(plugins))")
            #expect(cni.hostVeths().isEmpty)
        }
    }
}
