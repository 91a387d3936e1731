import BerthTestSupport
import Foundation
import Testing

/// `rm -f` and `network rm -f` of what does not exist succeed, as Docker's do (docker rm -f
/// since 20.10, docker/cli#2678; docker network rm -f since 23): the state asked for holds.
@Suite("berth CLI: rm -f and network rm -f of what does not exist (kernel)", .enabled(if: try KernelTests.enabled))
struct ForceRemoveCLITests {
    @Test("rm -f of a missing container exits 0 with a note on stderr and nothing on stdout; without -f it is still an error; the others are removed")
    func container() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                let gone = sandbox.berth(["rm", "-f", "gone"])
                #expect(gone.status == 0 && gone.stdout.isEmpty && gone.stderr == "berth: no container named \"gone\": nothing to remove\n", "\(gone)")
                let plain = sandbox.berth(["rm", "gone"])
                #expect(plain.status == 1 && plain.stderr.contains("no container named \"gone\""), "\(plain)")
                try #require(sandbox.berth(["run", "--name", "done", "--network", "none", "--rootfs", rootfs.path, "--", "true"]).succeeded)
                let mixed = sandbox.berth(["rm", "--force", "gone", "done"])
                #expect(mixed.status == 0 && mixed.stdout == "done\n", "\(mixed)")
                #expect(ContainerCLI.nothingRecorded(sandbox))
            }
        }
    }

    @Test("network rm -f of a missing network exits 0, nothing on stdout; -f is no dashed name; a network with endpoints is still refused")
    func network() throws {
        try withHostSandbox { sandbox in
            try #require(sandbox.berth(["network", "create", "web", "--subnet", "10.9.0.0/24"]).succeeded)
            try #require(sandbox.berth(["network", "create", "busy", "--subnet", "10.9.1.0/24"]).succeeded)
            let ns = try #require(try sandbox.makeNamespace().name)
            try #require(sandbox.berth(["attach", "busy", "--netns", ns, "--id", "e1"]).succeeded)
            let forced = sandbox.berth(["network", "rm", "-f", "gone", "web"])
            #expect(forced.status == 0 && forced.stdout == "web\n" && forced.stderr == "berth: no network named \"gone\": nothing to remove\n", "\(forced)")
            let long = sandbox.berth(["network", "rm", "gone", "--force"])
            #expect(long.status == 0 && long.stdout.isEmpty, "\(long)")
            let plain = sandbox.berth(["network", "rm", "gone"])
            #expect(plain.status == 1 && plain.stderr.contains("no network named \"gone\""), "\(plain)")
            let used = sandbox.berth(["network", "rm", "-f", "busy"])
            #expect(used.status == 1 && used.stderr.contains("endpoint"), "\(used)")
            #expect(sandbox.berth(["detach", "e1"]).succeeded)
        }
    }
}
