import BerthCore
import BerthNamespace
import BerthNetwork
import Foundation

/// A `NetworkManager` on a fake kernel, with its own state directory: what a policy test
/// starts from. The host namespace plays the caller's own, as for the CLI.
///
/// ```swift
/// let host = try FakeHost()
/// let ctr = host.kernel.addNamespace("ctr1")
/// try host.manager.createNetwork(NetworkOptions(name: "web", subnet: CIDR(parsing: "10.88.0.0/24")))
/// let endpoint = try host.manager.attach(AttachOptions(network: "web", namespace: .name("ctr1")))
/// #expect(host.kernel.routes(in: ctr) == ["10.88.0.0/24 dev eth0 proto kernel scope link src 10.88.0.2",
///                                         "default via 10.88.0.1 dev eth0"])
/// ```
public final class FakeHost: @unchecked Sendable {
    public let kernel: FakeKernel
    public let handle: HostHandle
    public let manager: NetworkManager
    public let stateDirectory: String

    /// The instance id a `FakeHost` gives its state, so goldens hold exact tags.
    public static let instance = "f4ce0001"
    /// The unique local prefix a `FakeHost` gives its state, so goldens hold exact IPv6 subnets.
    public static let uniqueLocalPrefix = UniqueLocalPrefix(globalID: 0x12_3456_789A)!

    /// A fresh fake kernel, or `kernel` shared with another host (another state directory
    /// on the same machine: another instance, `instance`).
    public init(kernel: FakeKernel = FakeKernel(), instance: String = FakeHost.instance, legacy: Bool = false) throws {
        self.kernel = kernel
        handle = try HostHandle(kernel: kernel, namespace: kernel.host, isCurrent: true)
        stateDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("berth-fake-\(UUID().uuidString)").path
        let store = try StateStore(directory: stateDirectory)
        try store.write { tx throws(BerthError) in
            try tx.setInstance(StateInstance(id: instance, legacy: legacy))
            try tx.setUniqueLocalPrefix(FakeHost.uniqueLocalPrefix)
        }
        manager = NetworkManager(store: store, host: handle)
    }

    deinit { try? FileManager.default.removeItem(atPath: stateDirectory) }

    /// Makes the named step of the next operations fail (see `FailPoint`).
    public func arm(_ failPoint: String) { handle.failPoints.insert(failPoint) }

    /// Disarms every fail point.
    public func disarm() { handle.failPoints.removeAll() }

    /// The host's nftables.
    public var nftables: FakeNFTables { kernel.nftables() }

    /// Another manager on the same kernel and state, as a second process would have.
    public func secondManager() throws -> NetworkManager {
        NetworkManager(store: try StateStore(directory: stateDirectory), host: try HostHandle(kernel: kernel, namespace: kernel.host, isCurrent: true))
    }
}
