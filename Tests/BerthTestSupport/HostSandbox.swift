import BerthNamespace
internal import CSQLite
import Foundation
import Testing

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

    /// Stops the sandbox's containers, deletes its namespaces, removes the cgroups its
    /// containers left and its state directory. A container cgroup still there after
    /// `stopContainers` is a leak of the test's and is recorded as an issue; if it cannot be
    /// removed the state directory is kept too (for `berth gc` or a person to look at).
    func tearDown() {
        stopContainers()
        let sweep = sweepCgroups()
        lock.lock(); let names = extraNamespaces; lock.unlock()
        for nsName in names.reversed() { try? NetworkNamespace.delete(named: nsName) }
        try? NetworkNamespace.delete(named: name)
        if sweep.cleared { try? FileManager.default.removeItem(atPath: stateDirectory) }
        if !sweep.found.isEmpty {
            Issue.record(Comment(rawValue: "the test left container cgroups \(sweep.found) that neither `berth rm -f` nor `berth gc` removed"
                + (sweep.cleared ? " (removed by the sandbox's teardown)" : "; some could not be removed, state \(stateDirectory) kept")))
        }
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

    /// The cgroup parent the containers of this sandbox's state go under: `berth-` and the
    /// state's instance id (as `Container.cgroupParent(instance:)`, which a test checks this
    /// against; BerthTestSupport does not depend on BerthRun), read from its database. Throws
    /// before anything made the state.
    public func cgroupParent() throws -> String {
        "berth-" + (try instanceID())
    }

    /// The `instance` table's id, read from the state database.
    private func instanceID() throws -> String {
        var db: OpaquePointer?
        defer { sqlite3_close(db) }
        guard sqlite3_open_v2(stateDirectory + "/state.db", &db, SQLITE_OPEN_READONLY, nil) == SQLITE_OK else {
            throw SandboxError("cannot open the state database in \(stateDirectory)")
        }
        sqlite3_busy_timeout(db, 5000)
        var statement: OpaquePointer?
        defer { sqlite3_finalize(statement) }
        guard sqlite3_prepare_v2(db, "SELECT id FROM instance", -1, &statement, nil) == SQLITE_OK,
              sqlite3_step(statement) == SQLITE_ROW, let text = sqlite3_column_text(statement, 0) else {
            throw SandboxError("no instance id in the state database in \(stateDirectory)")
        }
        return String(cString: text)
    }

    /// Removes the cgroups of this sandbox's containers that `stopContainers` left, then the
    /// (empty) parent, in every tree under /sys/fs/cgroup: the processes in each container's
    /// cgroup and its subdirectories SIGKILLed (they are the test's), the directories removed
    /// deepest first. One is left when the test process itself supervised a container the
    /// test did not stop: `berth rm -f` waits for a supervisor that never records the exit,
    /// and gc keeps a supervised container's cgroup. Returns the cgroups found and whether
    /// everything went.
    private func sweepCgroups() -> (found: [String], cleared: Bool) {
        // Without a state database nothing ran here that makes a cgroup.
        guard let parent = try? cgroupParent() else { return ([], true) }
        let root = "/sys/fs/cgroup"
        var trees = [root]
        if let names = try? FileManager.default.contentsOfDirectory(atPath: root) { trees += names.map { root + "/" + $0 } }
        // v1's cpu and cpuacct are links to cpu,cpuacct: each tree once.
        var seen: Set<String> = []
        trees = trees.filter { seen.insert(URL(fileURLWithPath: $0).resolvingSymlinksInPath().path).inserted }
        var found: [String] = []
        for tree in trees {
            for child in Self.subdirectories(tree + "/" + parent) { found.append(tree + "/" + parent + "/" + child) }
        }
        // Each directory, deepest first.
        let directories = found.flatMap { Self.tree(at: $0) }
        for _ in 0..<500 {
            var pids: Set<Int32> = []
            for directory in directories {
                let text = (try? String(contentsOfFile: directory + "/cgroup.procs", encoding: .utf8)) ?? ""
                pids.formUnion(text.split(separator: "\n").compactMap { Int32($0) })
            }
            if pids.isEmpty { break }
            for pid in pids { kill(pid, SIGKILL) }
            usleep(10_000)
        }
        for _ in 0..<100 {
            for directory in directories { _ = rmdir(directory) }
            if !directories.contains(where: { FileManager.default.fileExists(atPath: $0) }) { break }
            usleep(10_000)
        }
        for tree in trees { _ = rmdir(tree + "/" + parent) }
        let cleared = !trees.contains { FileManager.default.fileExists(atPath: $0 + "/" + parent) }
        return (found, cleared)
    }

    /// The names of a directory's subdirectories (none if it cannot be read).
    private static func subdirectories(_ path: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path + "/" + name, isDirectory: &isDirectory) && isDirectory.boolValue
        }.sorted()
    }

    /// `path` and every directory under it, deepest first.
    private static func tree(at path: String) -> [String] {
        subdirectories(path).flatMap { tree(at: path + "/" + $0) } + [path]
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
