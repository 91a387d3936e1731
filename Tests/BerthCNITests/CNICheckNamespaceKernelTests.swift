import BerthCore
import BerthNamespace
import BerthTestSupport
import Foundation
import Testing

/// CHECK consults `CNI_NETNS` and prevResult's container interface, as the reference
/// bridge plugin does: the namespace must be the attachment's, prevResult's sandbox must be
/// `CNI_NETNS`, and a MAC prevResult gives (a chained `tuning` may have set it) is the one
/// the interface must have.
@Suite("berth-cni: CHECK against CNI_NETNS and prevResult's interface (kernel)", .enabled(if: try KernelTests.enabled))
struct CNICheckNamespaceKernelTests {
    @Test("CHECK with another namespace's path is code 110 naming CNI_NETNS; a relative or missing one is code 4; a sandbox in prevResult other than CNI_NETNS is code 110")
    func otherNamespace() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let config = cni.config(extra: #""subnet":"10.77.3.0/24""#)
            let container = try sandbox.makeNamespace()
            let other = try sandbox.makeNamespace("other")
            let add = cni.run("ADD", config, containerID: "c1", netns: container.path)
            try #require(add.status == 0, "\(add)")
            let withPrevious = CNIHarness.with(prevResult: add.stdout, config)
            #expect(cni.run("CHECK", withPrevious, containerID: "c1", netns: container.path).status == 0)

            let wrong = cni.run("CHECK", withPrevious, containerID: "c1", netns: other.path)
            #expect(wrong.status == 1 && wrong.code == 110, "\(wrong)")
            #expect(wrong.message.contains("CNI_NETNS \(other.path)") && wrong.message.contains("is not the namespace the attachment was made in"), "\(wrong)")
            #expect(wrong.message.contains("sandbox \(container.path), not in CNI_NETNS \(other.path)"), "\(wrong)")

            let relative = cni.run("CHECK", withPrevious, containerID: "c1", netns: "run/netns/x")
            #expect(relative.status == 1 && relative.code == 4, "\(relative)")
            let missing = cni.run("CHECK", withPrevious, containerID: "c1", netns: "/run/netns/berth-no-such-namespace")
            #expect(missing.status == 1 && missing.code == 4, "\(missing)")
            let file = sandbox.stateDirectory + "/not-a-namespace"
            try #require(FileManager.default.createFile(atPath: file, contents: Data()))
            let regular = cni.run("CHECK", withPrevious, containerID: "c1", netns: file)
            #expect(regular.status == 1 && regular.code == 4, "\(regular)")
        }
    }

    @Test("a MAC changed in the container and named in prevResult passes CHECK; one prevResult does not name is code 110")
    func changedMAC() throws {
        try withHostSandbox { sandbox in
            let cni = CNIHarness(sandbox: sandbox)
            let config = cni.config(extra: #""subnet":"10.77.4.0/24""#)
            let container = try sandbox.makeNamespace()
            let add = cni.run("ADD", config, containerID: "c1", netns: container.path)
            try #require(add.status == 0, "\(add)")
            let recorded = try #require(add.json?["interfaces"]?[2]?["mac"]?.stringValue)
            let tuned = "02:42:0a:4d:04:99"
            try #require(recorded != tuned)
            let set = sandbox.run(["ip", "-n", try #require(container.name), "link", "set", "dev", "eth0", "address", tuned])
            try #require(set.succeeded, "\(set)")

            let stale = cni.run("CHECK", CNIHarness.with(prevResult: add.stdout, config), containerID: "c1", netns: container.path)
            #expect(stale.status == 1 && stale.code == 110 && stale.message.contains("has MAC \(tuned), not \(recorded)"), "\(stale)")

            let tunedResult = add.stdout.replacingOccurrences(of: #""mac":"\#(recorded)""#, with: #""mac":"\#(tuned)""#)
            try #require(tunedResult != add.stdout)
            let check = cni.run("CHECK", CNIHarness.with(prevResult: tunedResult, config), containerID: "c1", netns: container.path)
            #expect(check.status == 0 && check.stdout.isEmpty, "\(check)")
        }
    }
}
