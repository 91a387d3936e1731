@testable import berth
import BerthCore
import BerthNamespace
import BerthNetwork
import BerthRun
import BerthTestSupport
import Testing

/// `berth inspect` in `docker inspect`'s shape, member by member where Docker's differs from
/// a plain rendering of Berth's records.
@Suite("berth inspect: docker's shapes")
struct InspectJSONTests {
    @Test("HostConfig.PortBindings is Docker's map: PORT/PROTO keys in byte order, HostIp and HostPort strings, ranges pairwise")
    func portBindings() throws {
        let specs = try ["8080:80", "127.0.0.1:5353:53/udp", "[::1]:9000-9001:90-91", "3000", "7000-7010:70", "8081:80"].map { try PortSpec(parsing: $0) }
        func bindings(_ ports: [PortSpec]) -> String {
            ContainerInspection.hostConfig(RunOptions(process: ContainerSpec(command: ["true"]), ports: ports))["PortBindings"]?.render() ?? "none"
        }
        let rendered = bindings(specs)
        expectGolden(rendered, """
            {"3000/tcp":[{"HostIp":"","HostPort":""}],"53/udp":[{"HostIp":"127.0.0.1","HostPort":"5353"}],\
            "70/tcp":[{"HostIp":"","HostPort":"7000-7010"}],\
            "80/tcp":[{"HostIp":"","HostPort":"8080"},{"HostIp":"","HostPort":"8081"}],\
            "90/tcp":[{"HostIp":"::1","HostPort":"9000"}],"91/tcp":[{"HostIp":"::1","HostPort":"9001"}]}
            """)
        #expect(bindings([]) == "{}")
    }

    @Test("State of a restarting container: Running and Restarting both true, Pid 0, its last exit code, as Docker's")
    func restartingState() {
        var record = ContainerRecord(id: String(repeating: "c", count: 64), name: "flaky", endpointID: nil, network: "none", process: nil,
                                     supervisor: nil, command: ["false"], hostname: "flaky", rootfs: nil, status: .restarting, created: 1,
                                     started: 2, finished: 3, exitCode: 1)
        let state = ContainerInspection.json(record, endpoint: nil)["State"]
        expectGolden(state?.render() ?? "", """
            {"Status":"restarting","Running":true,"Restarting":true,"OOMKilled":false,"Orphaned":true,"Pid":0,"ExitCode":1,\
            "StartedAt":"1970-01-01T00:00:02Z","FinishedAt":"1970-01-01T00:00:03Z"}
            """)
        record.status = .exited
        let exited = ContainerInspection.json(record, endpoint: nil)["State"]
        #expect(exited?["Running"] == .bool(false) && exited?["Restarting"] == .bool(false))
    }

    @Test("a stopped container holds no endpoint: inspect's EndpointID is \"\" and ps --json's endpoint null, though its record keeps the id; null on none")
    func stoppedEndpoint() throws {
        let record = ContainerRecord(id: String(repeating: "d", count: 64), name: "sy1", endpointID: String(repeating: "d", count: 64), network: "ny",
                                     process: nil, supervisor: nil, command: ["true"], hostname: "sy1", rootfs: nil, status: .exited, created: 1)
        #expect(ContainerInspection.networkSettings(record, endpoint: nil)["EndpointID"] == .string(""))
        #expect(ContainerTable.json(record, endpoint: nil)["endpoint"] == .null)
        let live = EndpointRecord(id: record.id, network: "ny", namespacePath: "/proc/1/ns/net", namespaceIdentity: NamespaceIdentity(device: 4, inode: 1),
                                  interfaceName: try InterfaceName("eth0"), hostVeth: try InterfaceName("vb1"),
                                  address: try IPv4Address(parsing: "10.7.0.2"), mac: try MACAddress(parsing: "02:42:0a:07:00:02"), created: 1)
        #expect(ContainerInspection.networkSettings(record, endpoint: live)["EndpointID"] == .string(record.id))
        #expect(ContainerTable.json(record, endpoint: live)["endpoint"] == .string(record.id))
        var none = record
        none.endpointID = nil
        none.network = "none"
        #expect(ContainerInspection.networkSettings(none, endpoint: nil)["EndpointID"] == .null)
    }

    @Test("a name that is an endpoint (its id or a generated id's short form) is said to be one, with where to see it; a network too; else nil")
    func endpointName() throws {
        func endpoint(_ id: String) throws -> EndpointRecord {
            EndpointRecord(id: id, network: "ny", namespacePath: "/run/netns/t2", namespaceIdentity: NamespaceIdentity(device: 4, inode: 1),
                           interfaceName: try InterfaceName("eth0"), hostVeth: try InterfaceName("vb1"),
                           address: try IPv4Address(parsing: "10.7.0.2"), mac: try MACAddress(parsing: "02:42:0a:07:00:02"), created: 1)
        }
        let generated = String(repeating: "0123456789abcdef", count: 4)
        let endpoints = ["t2": try endpoint("t2"), generated: try endpoint(generated)]
        let error = try #require(InspectCommand.notAContainer("t2", endpoints: endpoints, networks: [:]))
        #expect(CLIHints.message(for: error) == "no container named \"t2\": t2 is an endpoint on network ny, not a container "
                + "(see 'berth ps --network ny' for it, or 'berth network inspect ny' for its addresses)")
        #expect(InspectCommand.notAContainer("0123456789ab", endpoints: endpoints, networks: [:])?.message.contains("is an endpoint on network ny") == true)
        #expect(InspectCommand.notAContainer("nosuch", endpoints: endpoints, networks: [:]) == nil)
    }
}
