import BerthNamespace
import Foundation

/// A throwaway network namespace that plays the host for one test.
///
/// Every kernel test works inside one of these: it is named (so `ip -n`, `nsenter` and the
/// `berth` CLI can reach it), and `withHostSandbox` deletes it and every namespace the test
/// made through it, whether the test passes, fails or throws.
public final class HostSandbox: @unchecked Sendable {
    /// The sandbox's own namespace: "the host" for the code under test.
    public let namespace: NetworkNamespace
    /// Its name under /run/netns.
    public let name: String
    /// A private state directory for the `berth` CLI.
    public let stateDirectory: String

    private let lock = NSLock()
    private var extraNamespaces: [String] = []
    /// Whether a `berth` command that starts containers ran here (see `stopContainers`).
    private var startedContainers = false

    init() throws {
        // Only inside berth_fenced: the sandbox is named under /run/netns and runs `berth`,
        // which must never reach the machine's own (a kernel test not gated by KernelTests).
        if let refusal = KernelTests.refusal { throw SandboxError("no host sandbox: \(refusal)") }
        let suffix = KernelTests.uniqueSuffix()
        name = "bt-host-\(suffix)"
        namespace = try NetworkNamespace.create(named: name)
        stateDirectory = NSTemporaryDirectory() + "berth-test-\(suffix)"
        do {
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
            // Loopback is down in a new namespace; a host has it up.
            let up = Command.run(["ip", "-n", name, "link", "set", "lo", "up"])
            if !up.succeeded { throw SandboxError("cannot bring lo up in \(name): \(up.stderr)") }
        } catch {
            // No sandbox to tear down comes back: leave nothing either.
            try? NetworkNamespace.delete(named: name)
            try? FileManager.default.removeItem(atPath: stateDirectory)
            throw error
        }
    }

    /// Makes another named namespace (a "container" or a "LAN peer"), deleted with the sandbox.
    public func makeNamespace(_ role: String = "ctr") throws -> NetworkNamespace {
        let nsName = "bt-\(role)-\(KernelTests.uniqueSuffix())"
        let ns = try NetworkNamespace.create(named: nsName)
        lock.lock(); extraNamespaces.append(nsName); lock.unlock()
        return ns
    }

    /// Remembers a namespace made by someone else (the CLI, `ip netns add`) for cleanup.
    public func adopt(namespaceNamed nsName: String) {
        lock.lock(); extraNamespaces.append(nsName); lock.unlock()
    }

    /// Runs a command inside the sandbox namespace (nsenter switches only the network
    /// namespace, so the command sees the host's files).
    @discardableResult
    public func run(_ argv: [String], input: String? = nil) -> CommandResult {
        Command.run(["nsenter", "--net=\(namespace.path)", "--"] + argv, input: input)
    }

    /// Runs the `berth` CLI inside the sandbox with the sandbox's state directory, plus
    /// `environment` (such as `BERTH_FAILPOINT` for a debug build).
    @discardableResult
    public func berth(_ args: [String], environment: [String: String] = [:]) -> CommandResult {
        Command.run(berthArguments(args), environment: berthEnvironment(environment))
    }

    /// The argv that runs `berth ARGS` inside the sandbox, for tests that start it themselves
    /// (to run many at once, or to kill one mid-way).
    public func berthArguments(_ args: [String]) -> [String] {
        if let command = args.first, Self.containerStarters.contains(command) {
            lock.lock(); startedContainers = true; lock.unlock()
        }
        return ["nsenter", "--net=\(namespace.path)", "--", Command.berthBinary] + args
    }

    /// The `berth` commands that can leave a container (and its supervisor) running.
    static let containerStarters: Set<String> = ["run", "create", "start", "restart"]

    /// The environment changes `berth` runs with in the sandbox: its state directory, plus `extra`.
    public func berthEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        extra.merging(["BERTH_STATE_DIR": stateDirectory]) { _, sandbox in sandbox }
    }

    func tearDown() {
        stopContainers()
        lock.lock(); let names = extraNamespaces; lock.unlock()
        for nsName in names.reversed() { try? NetworkNamespace.delete(named: nsName) }
        try? NetworkNamespace.delete(named: name)
        try? FileManager.default.removeItem(atPath: stateDirectory)
        removeCgroupParent()
    }

    /// Stops and removes every container of the sandbox's state, then lets `berth gc` take
    /// what is left: a test that failed half-way leaves `berth run -d` supervisors and their
    /// containers (a `--restart always` one restarting) running, which deleting the namespaces
    /// does not stop. Only when a command that starts containers ran here, or the state has a
    /// container's files: most sandboxes never run one.
    private func stopContainers() {
        lock.lock(); var started = startedContainers; lock.unlock()
        if !started, let entries = try? FileManager.default.contentsOfDirectory(atPath: stateDirectory + "/containers") {
            started = !entries.isEmpty
        }
        guard started else { return }
        let ids = berth(["ps", "-a", "-q"]).stdout.split(whereSeparator: \.isNewline).map(String.init)
        if !ids.isEmpty { berth(["rm", "-f"] + ids) }
        berth(["gc"])
    }

    /// The cgroup parent `berth run` uses for this sandbox's state directory: `berth-` and the
    /// FNV-1a hash of its path (as `Container.cgroupParent(stateDirectory:)`, which a test
    /// checks this against; BerthTestSupport does not depend on BerthRun).
    public var cgroupParent: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in stateDirectory.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "berth-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Removes the (empty) cgroup parent the containers of this sandbox's state used, in
    /// every tree under /sys/fs/cgroup. One still holding a container's cgroup stays (a
    /// leak the test reports on its own).
    private func removeCgroupParent() {
        let root = "/sys/fs/cgroup"
        var trees = [root]
        if let names = try? FileManager.default.contentsOfDirectory(atPath: root) { trees += names.map { root + "/" + $0 } }
        for tree in trees { _ = rmdir(tree + "/" + cgroupParent) }
    }
}

public struct SandboxError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Runs `body` with a fresh host sandbox, torn down afterwards on every path.
public func withHostSandbox<T>(_ body: (HostSandbox) throws -> T) throws -> T {
    let sandbox = try HostSandbox()
    defer { sandbox.tearDown() }
    return try body(sandbox)
}

/// The async form, for tests that await.
public func withHostSandbox<T>(_ body: (HostSandbox) async throws -> T) async throws -> T {
    let sandbox = try HostSandbox()
    defer { sandbox.tearDown() }
    return try await body(sandbox)
}
