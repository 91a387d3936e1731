import BerthCore
import BerthNamespace
@testable import BerthNetwork
import Foundation

/// A throwaway state directory under the system temp directory, removed by `cleanup()`.
struct TempState {
    let root: String
    var directory: String { root + "/state" }

    init() throws {
        root = FileManager.default.temporaryDirectory.path + "/berth-state-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    func open() throws -> StateStore { try StateStore(directory: directory) }

    func cleanup() { try? FileManager.default.removeItem(atPath: root) }
}

/// Runs `body` with a fresh store in a fresh temp directory.
func withStore<T>(_ body: (StateStore, TempState) throws -> T) throws -> T {
    let temp = try TempState()
    defer { temp.cleanup() }
    return try body(try temp.open(), temp)
}

enum Fixture {
    static func network(_ name: String = "web", subnet: String = "10.88.0.0/24", bridge: String? = nil) throws(BerthError) -> NetworkRecord {
        let cidr = try CIDR(parsing: subnet)
        return NetworkRecord(name: name, id: RecordID.generate(), bridge: try InterfaceName(bridge ?? "br-\(name)"),
                             subnet: cidr, gateway: try IPAM.defaultGateway(for: cidr), mtu: 1500,
                             isInternal: false, created: StateClock.now())
    }

    static func endpoint(_ id: String, network: String = "web", address: IPv4Address, ports: [PortMappingRecord] = []) throws(BerthError) -> EndpointRecord {
        EndpointRecord(id: id, network: network, namespacePath: "/run/netns/\(id)",
                       namespaceIdentity: NamespaceIdentity(device: 4, inode: UInt64(0xF000_0000) + UInt64(address.value & 0xFFFF)),
                       interfaceName: try InterfaceName("eth0"), hostVeth: try InterfaceName("veth\(address.value & 0xFFFFFF)"),
                       address: address, mac: MACAddress(derivedFrom: address), created: StateClock.now(), ports: ports)
    }

    static func tcp(_ endpoint: String, _ hostPort: UInt16, to containerPort: UInt16 = 80, on host: String = "0.0.0.0") -> PortMappingRecord {
        PortMappingRecord(endpointID: endpoint, proto: .tcp, hostAddress: IPAddress(host)!, hostPort: hostPort, containerPort: containerPort)
    }

    /// Allocates an address and inserts an endpoint with it, the way attach does.
    @discardableResult
    static func attach(_ store: StateStore, id: String, network: String = "web", requested: IPv4Address? = nil) throws(BerthError) -> IPv4Address {
        try store.write { tx throws(BerthError) in
            let net = try tx.requireNetwork(named: network)
            guard let address = try IPAM.allocate(tx, network: net, requested: requested) else {
                throw BerthError(.internalError, "network \(network) has no IPv4")
            }
            try tx.insertEndpoint(try Fixture.endpoint(id, network: network, address: address))
            return address
        }
    }
}

func ip(_ text: String) -> IPv4Address { IPv4Address(text)! }

/// stat(2) for assertions on modes and file types.
func fileMode(_ path: String) -> mode_t? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return info.st_mode
}
