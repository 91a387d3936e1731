#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthNamespace
import BerthNetwork
import BerthTestSupport
import Foundation
import Synchronization
import Testing

/// The subnet-choice lock on the kernel: `flock` on the host namespace's own file, which
/// every process reaches through its own open of the namespace (another Berth instance,
/// another state directory).
@Suite("subnet choice lock (kernel)", .enabled(if: try KernelTests.enabled))
struct SubnetChoiceKernelTests {
    @Test("while another open file of the host namespace holds the lock, a create times out and makes nothing; once it is let go the create succeeds")
    func heldByAnotherOpen() throws {
        try withHostSandbox { sandbox in
            let store = try StateStore(directory: sandbox.stateDirectory, lockTimeout: .milliseconds(300))
            let manager = NetworkManager(store: store, host: try HostHandle(namespace: sandbox.namespace))
            // As another process takes it: its own open of the namespace, by its path.
            let other = open(sandbox.namespace.path, O_RDONLY | O_CLOEXEC)
            try #require(other >= 0)
            defer { close(other) }
            try #require(flock(other, LOCK_EX | LOCK_NB) == 0)
            let bridges = { Oracle.ip(sandbox, ["link", "show", "type", "bridge"]).compactMap { $0["ifname"] as? String } }
            let error = #expect(throws: BerthError.self) { try manager.createNetwork(NetworkOptions(name: "web")) }
            #expect(error?.code == .conflict && error?.message.contains("waiting for the subnet choice of host namespace") == true,
                    "\(String(describing: error))")
            #expect(try manager.networks().isEmpty)
            #expect(bridges().isEmpty)
            flock(other, LOCK_UN)
            let network = try manager.createNetwork(NetworkOptions(name: "web"))
            #expect(bridges() == [network.bridge.rawValue])
            // Let go again at the end of the create: the other open takes it at once.
            #expect(flock(other, LOCK_EX | LOCK_NB) == 0)
        }
    }

    @Test("a hook-like store whose lock budget is spent takes a free subnet-choice lock, and refuses a held one at once, saying its budget ran out")
    func budgetSpent() throws {
        try withHostSandbox { sandbox in
            let store = try StateStore(directory: sandbox.stateDirectory, lockTimeout: .seconds(30), totalLockWait: .zero)
            let manager = NetworkManager(store: store, host: try HostHandle(namespace: sandbox.namespace))
            let other = open(sandbox.namespace.path, O_RDONLY | O_CLOEXEC)
            try #require(other >= 0)
            defer { close(other) }
            try #require(flock(other, LOCK_EX | LOCK_NB) == 0)
            let error = #expect(throws: BerthError.self) { try manager.createNetwork(NetworkOptions(name: "web")) }
            #expect(error?.code == .conflict && error?.message.hasPrefix("timed out after 0.0 seconds waiting for the subnet choice of host namespace ") == true
                    && error?.message.contains(": this call's lock budget ran out (0.0 seconds from the moment it opened Berth's state); another process") == true,
                    "\(String(describing: error))")
            flock(other, LOCK_UN)
            #expect(try manager.createNetwork(NetworkOptions(name: "web")).subnet != nil)
        }
    }

    @Test("two state directories creating networks without a subnet at the same time get subnets that never overlap")
    func concurrentInstances() throws {
        try withHostSandbox { sandbox in
            let second = NSTemporaryDirectory() + "berth-test-second-\(KernelTests.uniqueSuffix())"
            defer { try? FileManager.default.removeItem(atPath: second) }
            let managers = [try NetworkManager(stateDirectory: sandbox.stateDirectory, hostNamespace: sandbox.namespace),
                            try NetworkManager(stateDirectory: second, hostNamespace: sandbox.namespace)]
            let results = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 2) { instance in
                for index in 0..<4 {
                    let outcome: String
                    do {
                        outcome = try managers[instance].createNetwork(NetworkOptions(name: "n\(index)")).subnet?.description ?? "no subnet"
                    } catch {
                        outcome = "error: \(error)"
                    }
                    results.withLock { $0.append(outcome) }
                }
            }
            let subnets = results.withLock { $0 }
            #expect(subnets.count == 8 && !subnets.contains { !$0.contains("/") }, "\(subnets)")
            let cidrs = subnets.compactMap { CIDR($0) }
            for (i, a) in cidrs.enumerated() {
                for b in cidrs[(i + 1)...] { #expect(!a.overlaps(b), "\(a) and \(b): \(subnets)") }
            }
        }
    }
}
