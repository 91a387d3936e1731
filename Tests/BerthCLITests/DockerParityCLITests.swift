import BerthTestSupport
import Foundation
import Testing

/// `berth run` and the commands around it as a docker (or podman, or iproute2) user types
/// them, refused before anything runs: nothing here touches the kernel or a state.
@Suite("berth CLI: docker's and iproute2's spellings (usage)")
struct DockerParityUsageTests {
    @Test("run -h is --hostname's short form, as docker's: -h with no value is a usage error (125), not help and 0; --help is help")
    func hostnameShortForm() {
        let alone = Command.run([Command.berthBinary, "run", "-h"])
        #expect(alone.status == 125 && alone.stdout.isEmpty && alone.stderr.hasPrefix("berth: missing value for '-h <hostname>'"), "\(alone)")
        let help = Command.run([Command.berthBinary, "run", "--help"])
        #expect(help.status == 0 && help.stdout.contains("-h, --hostname <hostname>"), "\(help)")
    }
}

/// The same spellings doing what they say, through the built binary in a host sandbox.
@Suite("berth CLI: docker's and iproute2's spellings (kernel)", .enabled(if: KernelTests.enabled))
struct DockerParityKernelTests {
    @Test("run -h NAME sets the hostname and runs the command")
    func hostname() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                let run = sandbox.berth(["run", "--rm", "--rootfs", rootfs.path, "--network", "none", "-h", "box", "--", "hostname"])
                #expect(run.status == 0 && run.stdout == "box\n", "\(run)")
            }
        }
    }
}
