import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Aliases are names on a network's resolver: on a network with DNS off (the default network
/// `berth`, `--dns=false`) they would never resolve, so `berth attach --alias` and
/// `berth run --network-alias` refuse them there, as Docker refuses network aliases on its
/// default bridge, and make nothing.
@Suite("berth CLI: aliases need a network with DNS (kernel)", .enabled(if: try KernelTests.enabled))
struct AliasCLITests {
    @Test("attach --alias and run --alias on a network with DNS off are refused naming the network and make nothing; --name alone attaches")
    func refusedWithoutResolver() throws {
        try withHostSandbox { sandbox in
            try withAccountsRootfs { rootfs in
                try #require(sandbox.berth(["network", "create", "quiet", "--subnet", "10.9.0.0/24", "--dns=false"]).succeeded)
                let ns = try #require(try sandbox.makeNamespace().name)
                let vethCount = { sandbox.run(["ip", "-o", "link", "show", "type", "veth"]).stdout.split(separator: "\n").count }

                let attach = sandbox.berth(["attach", "quiet", "--netns", ns, "--name", "web", "--alias", "www"])
                #expect(attach.status == 1, "\(attach)")
                #expect(attach.stderr.hasPrefix("berth: network quiet has DNS off, so the alias www would never resolve"), "\(attach)")
                #expect(attach.stderr.contains("give no alias"))
                #expect(vethCount() == 0)
                #expect(sandbox.berthWitness(["ps", "-q"]).isEmpty)

                let named = sandbox.berth(["attach", "quiet", "--netns", ns, "--name", "web"])
                #expect(named.succeeded, "\(named)")
                #expect(vethCount() == 1)

                // berth run on the default network (made with DNS off on first use).
                let run = sandbox.berth(["run", "--name", "r1", "--alias", "api", "--rootfs", rootfs.path, "--", "true"])
                #expect(run.status == 125, "\(run)")
                #expect(run.stderr.contains("network berth has DNS off, so the alias api would never resolve"), "\(run)")
                #expect(vethCount() == 1)
                // Refused before anything was made: not even the default network.
                #expect(sandbox.berth(["network", "ls", "-q"]).stdout == "quiet\n")
                #expect(sandbox.berthWitness(["ps", "-aq"]).isEmpty)
            }
        }
    }
}
