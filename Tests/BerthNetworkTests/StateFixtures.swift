import BerthCore
import BerthNamespace
@testable import BerthNetwork
import Foundation
import Testing

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

    /// The index in `StateSchema.migrations` of the migration whose SQL contains `marker`
    /// (found by what it makes, so a renumbering on merge does not break a test); -1 if none.
    static func migrationIndex(containing marker: String) -> Int {
        StateSchema.migrations.firstIndex { $0.contains(marker) } ?? -1
    }

    /// A WAL database in this directory, as the Berth of schema version `version` left it:
    /// migrations 0..<version run, rows for the caller to add, `user_version` still 0 (the
    /// caller sets it after its rows).
    func databaseAtVersion(_ version: Int, foreignKeys: Bool = true) throws -> Database {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = directory + "/" + StateStore.databaseName
        let db = try Database(path: path, create: true)
        chmod(path, 0o600)
        try db.script("PRAGMA journal_mode = WAL" + (foreignKeys ? "; PRAGMA foreign_keys = ON" : ""))
        for step in 0..<version { try db.script(StateSchema.migrations[step]) }
        return db
    }
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

/// A migration that rebuilds tables (`StateSchema.rebuildsTables`) checks foreign keys
/// before it commits: `insert`, written with enforcement off as a hand edit of the file
/// would be, leaves a row of `table` pointing nowhere, and migrating `db` (at `version`, the
/// rebuild's index) stops with the worded error and leaves that version.
func expectDanglingRowStopsMigration(_ db: Database, insert: String, table: String, version: Int,
                                     sourceLocation: SourceLocation = #_sourceLocation) throws {
    try #require(StateSchema.rebuildsTables.contains(version + 1), sourceLocation: sourceLocation)
    try db.script("PRAGMA foreign_keys = OFF; \(insert); PRAGMA foreign_keys = ON;")
    let error = try #require(throws: BerthError.self, sourceLocation: sourceLocation) { try StateSchema.migrate(db) }
    #expect(error.code == .state && error.message.contains(table) && error.message.contains("pointing at rows that do not exist"),
            "\(error)", sourceLocation: sourceLocation)
    #expect(try StateSchema.version(db) == version, sourceLocation: sourceLocation)
}

/// stat(2) for assertions on modes and file types.
func fileMode(_ path: String) -> mode_t? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return info.st_mode
}
