#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// An ADD SIGKILLed while it made its network (the record committed marked as creating,
/// the bridge and rules half there): the next ADD finishes that create as a removal, makes
/// the network anew from its configuration and attaches; STATUS says ready meanwhile.
@Suite("berth-cni: an ADD killed while making its network (kernel)", .enabled(if: try KernelTests.enabled))
struct CNIUnfinishedNetworkKernelTests {
    @Test("an ADD killed after the network's rules, before its final commit: STATUS is ready, the next ADD makes the network anew and attaches",
          .enabled(if: CNIHarness.binary.contains("/debug/")))
    func killedWhileMakingNetwork() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let config = cni.config("web", version: "1.1.0", extra: #""subnet":"10.49.0.0/24","bridge":"brweb""#)
            let first = try sandbox.makeNamespace()
            let marker = sandbox.stateDirectory + "/reached-network.firewall"
            let process = try Command.start(["nsenter", "--net=\(sandbox.namespace.path)", "--", "env", "CNI_COMMAND=ADD", "CNI_CONTAINERID=pod1",
                                             "CNI_NETNS=\(first.path)", "CNI_IFNAME=eth0", "CNI_PATH=/usr/lib/cni",
                                             "BERTH_FAILPOINT=network.firewall:hang", "BERTH_FAILPOINT_REACHED=\(marker)", CNIHarness.binary],
                                            input: config)
            let reached = Poll.wait(seconds: 20) { FileManager.default.fileExists(atPath: marker) }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try #require(reached, "the ADD never reached network.firewall")
            #expect(process.terminationReason == .uncaughtSignal)
            let check = sandbox.berth(["check"])
            #expect(check.status == 1 && check.stderr.contains("network web: create: interrupted"), "\(check)")

            let status = cni.run("STATUS", config)
            #expect(status.status == 0, "\(status)")
            let add = cni.run("ADD", config, containerID: "pod2", netns: try sandbox.makeNamespace().path)
            #expect(add.status == 0, "\(add)")
            #expect(add.address == "10.49.0.2", "\(add)")
            #expect(sandbox.berth(["check"]).succeeded)
            #expect(cni.hostVeths().count == 1)
            #expect(cni.run("DEL", config, containerID: "pod2", netns: "").status == 0)
        }
    }
}
