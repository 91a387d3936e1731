import ArgumentParser
@testable import berth
import BerthCore
import BerthNetwork
import BerthNamespace
import BerthRun
import Testing

/// `berth ps` words things as `docker ps` does: durations, statuses, the PORTS column with
/// its ranges; and `berth run`'s flags build the options Docker's would.
@Suite("berth ps columns and run flags")
struct ContainerTableTests {
    private func port(_ host: UInt16, _ container: UInt16, _ proto: TransportProtocol = .tcp, _ address: String = "0.0.0.0") throws -> PortMappingRecord {
        PortMappingRecord(endpointID: "e", proto: proto, hostAddress: try IPAddress(parsing: address), hostPort: host, containerPort: container)
    }

    @Test("PORTS: identical host and container runs collapse per address and protocol; other mappings are listed alone, after")
    func portsColumn() throws {
        let range = try (8000...8009).map { try port($0, $0) }
        #expect(PortsColumn.text(range.reversed()) == "0.0.0.0:8000-8009->8000-8009/tcp")
        #expect(PortsColumn.text([try port(8080, 80)]) == "0.0.0.0:8080->80/tcp")
        let mixed = [try port(53, 53, .udp, "127.0.0.1"), try port(54, 54, .udp, "127.0.0.1"), try port(9000, 90), try port(80, 80),
                     try port(81, 81), try port(83, 83), try port(443, 443, .tcp, "::")]
        // As docker/cli orders them: the run cut short (80-81) first, the others in the order
        // they began, then mappings to other host ports.
        #expect(PortsColumn.text(mixed) == "0.0.0.0:80-81->80-81/tcp, 127.0.0.1:53-54->53-54/udp, 0.0.0.0:83->83/tcp, :::443->443/tcp, 0.0.0.0:9000->90/tcp")
        #expect(PortsColumn.text([try port(8443, 443, .tcp, "::")]) == "[::]:8443->443/tcp")
        #expect(PortsColumn.text([]) == "")
    }

    @Test("durations as go-units words them; STATUS as Docker's")
    func statusWords() {
        let expected: [(Int64, String)] = [
            (0, "Less than a second"), (1, "1 second"), (59, "59 seconds"), (60, "About a minute"), (119, "About a minute"),
            (120, "2 minutes"), (3599, "59 minutes"), (3600, "About an hour"), (5400, "2 hours"), (47 * 3600, "47 hours"),
            (3 * 86400, "3 days"), (15 * 86400, "2 weeks"), (90 * 86400, "3 months"), (800 * 86400, "2 years"),
        ]
        for (seconds, words) in expected { #expect(HumanDuration.text(seconds) == words, "\(seconds)") }

        let me = try? ProcessIdentity.current()
        var record = ContainerRecord(id: String(repeating: "a", count: 64), name: "x", endpointID: nil, network: "none", process: nil,
                                     supervisor: me, command: ["sh", "-c", "echo a long command line here"], hostname: "h", rootfs: nil,
                                     status: .running, created: 100, started: 100)
        #expect(ContainerTable.status(record, now: 105) == "Up 5 seconds")
        #expect(ContainerTable.command(record) == "\"sh -c echo a long c…\"")
        #expect(record.image == "host")
        record.status = .restarting
        record.exitCode = 1
        record.finished = 104
        #expect(ContainerTable.status(record, now: 105) == "Restarting (1) 1 second ago")
        record.status = .exited
        record.supervisor = nil
        record.exitCode = 137
        record.finished = 45
        #expect(ContainerTable.status(record, now: 105) == "Exited (137) About a minute ago")
        record.status = .running
        #expect(ContainerTable.status(record, now: 105).hasPrefix("Orphaned"))
    }

    @Test("ps --json: a dual-stack container's row has its IPv6 address as ip6 (its endpoint's own row is left out), null without one")
    func containerJSONAddresses() throws {
        let record = ContainerRecord(id: String(repeating: "b", count: 64), name: "web", endpointID: "e1", network: "dual", process: nil,
                                     supervisor: nil, command: ["true"], hostname: "web", rootfs: nil, status: .exited, created: 1)
        var endpoint = EndpointRecord(id: "e1", network: "dual", namespacePath: "/proc/1/ns/net", namespaceIdentity: NamespaceIdentity(device: 4, inode: 1),
                                      interfaceName: try InterfaceName("eth0"), hostVeth: try InterfaceName("vb1"),
                                      address: try IPv4Address(parsing: "10.7.0.2"), mac: try MACAddress(parsing: "02:42:0a:07:00:02"), created: 1,
                                      ipv6Address: try IPv6Address(parsing: "fd00:7::2"))
        let dual = ContainerTable.json(record, endpoint: endpoint)
        #expect(dual["ip"] == .string("10.7.0.2") && dual["ip6"] == .string("fd00:7::2"), "\(dual)")
        endpoint.ipv6Address = nil
        #expect(ContainerTable.json(record, endpoint: endpoint)["ip6"] == .null)
    }

    @Test("a lab node's container (network host) shows its node's endpoint, named after the node's namespace; nothing else borrows one")
    func labContainerEndpoint() throws {
        func endpoint(_ id: String, namespace: String) throws -> EndpointRecord {
            EndpointRecord(id: id, network: "lan", namespacePath: namespace, namespaceIdentity: NamespaceIdentity(device: 4, inode: 1),
                           interfaceName: try InterfaceName("eth0"), hostVeth: try InterfaceName("vb1"),
                           address: try IPv4Address(parsing: "10.7.0.2"), mac: try MACAddress(parsing: "02:42:0a:07:00:02"), created: 1)
        }
        let node = try endpoint("lab1-web", namespace: "/run/netns/lab1-web")
        let elsewhere = try endpoint("other", namespace: "/proc/9/ns/net")
        let endpoints = [node.id: node, elsewhere.id: elsewhere]
        var record = ContainerRecord(id: String(repeating: "c", count: 64), name: "lab1-web", endpointID: nil, network: "host", process: nil,
                                     supervisor: nil, command: ["httpd"], hostname: "web", rootfs: nil, status: .running, created: 1)
        #expect(ContainerTable.endpoint(of: record, in: endpoints)?.id == "lab1-web")
        #expect(ContainerTable.json(record, endpoint: node)["endpoint"] == .string("lab1-web"))
        record.name = "other"
        #expect(ContainerTable.endpoint(of: record, in: endpoints) == nil)
        record.name = "lab1-web"
        record.network = "none"
        #expect(ContainerTable.endpoint(of: record, in: endpoints) == nil)
    }

    @Test("ids in lists: a generated id by its first 12 digits, any other in full; a prefix only of a generated id, 12 or more hex digits")
    func shortIDs() {
        let generated = String(repeating: "0123456789abcdef", count: 4)
        #expect(EndpointShortID.display(generated) == "0123456789ab")
        #expect(EndpointShortID.display("my-long-endpoint-name") == "my-long-endpoint-name")
        #expect(EndpointShortID.display(String(generated.dropLast())) == String(generated.dropLast()))
        #expect(EndpointShortID.display(generated.uppercased()) == generated.uppercased())
        #expect(EndpointShortID.isPrefix("0123456789ab") && EndpointShortID.isPrefix(String(generated.dropLast())))
        #expect(!EndpointShortID.isPrefix("0123456789a") && !EndpointShortID.isPrefix(generated) && !EndpointShortID.isPrefix("my-long-endp"))
        #expect(!EndpointShortID.isPrefix("0123456789AB"))
    }

    @Test("check's problems name an endpoint by the same rule: a custom id in full, so 'berth check ID' and 'detach' take it back")
    func checkProblemIDs() {
        let generated = String(repeating: "0123456789abcdef", count: 4)
        let custom = "\(generated)-eth0"
        #expect(CheckProblem(endpoint: custom, network: "web", object: "veth", problem: "missing", repair: .collectGarbage).description
            == "endpoint \(custom): veth: missing")
        #expect(CheckProblem(endpoint: generated, network: "web", object: "veth", problem: "missing", repair: .collectGarbage).description
            == "endpoint 0123456789ab: veth: missing")
    }

    @Test("usage errors: berth's one-line form, with the command's help; an unknown subcommand lists the choices")
    func usageLines() {
        #expect(UsageErrors.line("Unknown option '-q'", arguments: ["ps", "-q"]) == "unknown option '-q' (see 'berth ps --help')")
        #expect(UsageErrors.line("Unknown option '--x'", arguments: ["network", "del", "--x"]) == "unknown option '--x' (see 'berth network rm --help')")
        #expect(UsageErrors.line("unknown option '-x' (a command goes after '--')", arguments: ["run", "-x"])
                == "unknown option '-x' (a command goes after '--'; see 'berth run --help')")
        #expect(UsageErrors.unknownSubcommand(in: ["network", "creat", "x"])
                == "unknown subcommand 'creat' (choose one of: create, rm, prune, ls, inspect; see 'berth network --help')")
        #expect(UsageErrors.unknownSubcommand(in: ["netns", "delete", "x"]) == nil)
        #expect(UsageErrors.unknownSubcommand(in: ["network"]) == nil)
        #expect(UsageErrors.unknownSubcommand(in: ["network", "--help"]) == nil)
        #expect(UsageErrors.unknownSubcommand(in: ["ps", "extra"]) == nil)
        #expect(UsageErrors.unknownSubcommand(in: ["help", "network"]) == nil)
    }

    @Test("run flags: -it, -e, -u, -v, --read-only, --restart, --rm build the options; a relative ./ volume becomes absolute")
    func runFlags() throws {
        let command = try RunCommand.parse(["-dit", "--rm", "-e", "A=1", "-u", "bob:staff", "-v", "/srv:/data:ro", "-v", "./here:/here",
                                            "--read-only", "--init", "--rootfs", "/srv/rootfs", "-w", "/tmp", "--", "sh", "-c", "x"])
        #expect(command.detach)
        let options = try command.arguments.options()
        #expect(options.interactive && options.process.terminal && options.autoRemove && options.restart == .no && options.process.initProcess)
        #expect(options.process.user == "bob:staff" && options.process.readOnlyRootfs && options.process.workingDirectory == "/tmp")
        #expect(options.process.environment == ["A=1"] && options.process.command == ["sh", "-c", "x"])
        #expect(options.process.mounts.first == BindMount(source: "/srv", target: "/data", readOnly: true))
        let relative = try #require(options.process.mounts.last)
        #expect(relative.source.hasPrefix("/") && relative.source.hasSuffix("/./here") && relative.target == "/here")
        let restart = try RunCommand.parse(["--restart", "on-failure:2", "--", "true"]).arguments.options()
        #expect(restart.restart == .onFailure(maximumRetries: 2) && !restart.interactive && !restart.process.terminal && !restart.process.initProcess)
    }
}
