import BerthTestSupport
import Foundation
import Testing

/// `berth run` and the commands around it as a docker (or podman, or iproute2) user types
/// them, refused before anything runs: nothing here touches the kernel or a state.
@Suite("berth CLI: docker's and iproute2's spellings (usage)")
struct DockerParityUsageTests {
    private func berth(_ arguments: [String]) -> CommandResult {
        Command.run([Command.berthBinary] + arguments)
    }

    @Test("run -h is --hostname's short form, as docker's: -h with no value is a usage error (125), not help and 0; --help is help")
    func hostnameShortForm() {
        let alone = berth(["run", "-h"])
        #expect(alone.status == 125 && alone.stdout.isEmpty && alone.stderr.hasPrefix("berth: missing value for '-h <hostname>'"), "\(alone)")
        let help = berth(["run", "--help"])
        #expect(help.status == 0 && help.stdout.contains("-h, --hostname <hostname>"), "\(help)")
    }

    @Test("run --network container:NAME is refused as unsupported, saying what to use instead")
    func containerNetwork() {
        let refused = berth(["run", "--rm", "--network", "container:web", "--", "true"])
        #expect(refused.status == 125 && refused.stdout.isEmpty, "\(refused)")
        #expect(refused.stderr.hasPrefix("berth: network mode \"container:web\" is not supported") && refused.stderr.contains("'berth exec web COMMAND'"),
                "\(refused)")
    }

    @Test("-p's key=value form refuses host_ip and unknown keys rather than publish on every address")
    func publishKeyValueRefusals() {
        let hostIP = berth(["run", "-p", "published=8080,target=80,host_ip=127.0.0.1", "--", "true"])
        #expect(hostIP.status == 125 && hostIP.stderr.contains("host_ip is not supported") && hostIP.stderr.contains("127.0.0.1:8080:80"), "\(hostIP)")
        let unknown = berth(["run", "-p", "published=8080,target=80,mode=ingress", "--", "true"])
        #expect(unknown.status == 125 && unknown.stderr.contains("unknown key \"mode\""), "\(unknown)")
        let pair = berth(["run", "-p", "published=8080,80", "--", "true"])
        #expect(pair.status == 125 && pair.stderr.contains("invalid publish opts format (should be name=value but got '80')"), "\(pair)")
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

    @Test("run --network bridge and --network default join Berth's default network, berth; no network of those names is made")
    func dockerDefaultNetworkNames() throws {
        try withHostSandbox { sandbox in
            try withRunRootfs { rootfs in
                for name in ["bridge", "default"] {
                    let run = sandbox.berth(["run", "-d", "--name", name + "-net", "--rootfs", rootfs.path, "--network", name, "--", "sleep", "1000"])
                    #expect(run.status == 0, "\(run)")
                    let container = try ContainerCLI.container(sandbox, name + "-net")
                    #expect(container?["network"] as? String == "berth" && (container?["ip"] as? String)?.isEmpty == false, "\(String(describing: container))")
                    #expect(sandbox.berth(["rm", "-f", name + "-net"]).status == 0)
                }
                let networks = sandbox.berth(["network", "ls", "-q"])
                #expect(networks.stdout == "berth\n", "\(networks)")
                // attach stays strict (it names networks as 'network create' made them), and says which is the default.
                let ns = try #require(try sandbox.makeNamespace().name)
                let attach = sandbox.berth(["attach", "bridge", "--netns", ns])
                #expect(attach.status == 1 && attach.stderr == "berth: no network named \"bridge\" (Berth's default network, Docker's 'bridge', is named 'berth'; see 'berth network ls')\n",
                        "\(attach)")
            }
        }
    }
}
