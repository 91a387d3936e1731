import BerthTestSupport
import Foundation
import Testing

/// A container as a runtime has it when it calls `createRuntime`: a process in a network
/// namespace of its own (held by that process alone, as a runtime's is) and a bundle
/// directory with a config.json.
final class HookContainer: @unchecked Sendable {
    /// How config.json describes the network namespace.
    enum Namespace {
        case new
        case path(String)
        case shared
    }

    let id: String
    let bundle: String
    let pid: Int32
    private let process = Process()

    var namespacePath: String { "/proc/\(pid)/ns/net" }

    init(id: String, annotations: [String: String] = [:], namespace: Namespace = .new) throws {
        self.id = id
        bundle = NSTemporaryDirectory() + "berth-hook-bundle-\(KernelTests.uniqueSuffix())"
        try FileManager.default.createDirectory(atPath: bundle, withIntermediateDirectories: true)
        var namespaces: [[String: String]] = [["type": "pid"], ["type": "mount"]]
        switch namespace {
        case .new: namespaces.append(["type": "network"])
        case .path(let path): namespaces.append(["type": "network", "path": path])
        case .shared: break
        }
        let config: [String: Any] = ["ociVersion": "1.0.2", "process": ["args": ["sleep"], "env": ["PATH=/bin"]],
                                     "linux": ["namespaces": namespaces], "annotations": annotations]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: bundle + "/config.json"))
        // The process is in the container's namespace, as a runtime's is at createRuntime: a
        // new one, or the one it joins by path.
        if case .path(let path) = namespace {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
            process.arguments = ["--net=\(path)", "--", "/bin/sleep", "1000"]
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
            process.arguments = ["--net", "--", "/bin/sleep", "1000"]
        }
        try process.run()
        pid = process.processIdentifier
        // The pid is unshare's (nsenter's) until it has entered the namespace and exec'd sleep.
        let pid = pid
        let ready = Harness.wait { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe"))?.hasSuffix("/sleep") ?? false }
        try #require(ready, "the container's process never entered its namespace")
    }

    /// The state JSON a runtime writes, runc-style (`creating`, pid, bundle, annotations).
    func state(status: String = "creating", pid: Int32? = nil, bundle: Bool = true, annotations: [String: String] = [:]) -> String {
        var state: [String: Any] = ["ociVersion": "1.0.2-dev", "id": id, "status": status]
        if status != "stopped" { state["pid"] = Int(pid ?? self.pid) } else if let pid { state["pid"] = Int(pid) }
        if bundle { state["bundle"] = self.bundle }
        if !annotations.isEmpty { state["annotations"] = annotations }
        return Harness.json(state)
    }

    /// `ip -j ARGS` inside the container's namespace.
    /// `ip -j ARGS` inside the container's namespace; empty when the device asked for does
    /// not exist, an issue when `ip` fails otherwise.
    func ip(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) -> [[String: Any]] {
        let result = Command.run(["nsenter", "--net=\(namespacePath)", "--", "ip", "-j"] + args)
        guard result.succeeded else {
            if result.stderr.hasPrefix("Device \""), result.stderr.contains("\" does not exist") { return [] }
            Issue.record("the witness failed: ip -j \(args.joined(separator: " ")) in \(namespacePath): \(result)", sourceLocation: sourceLocation)
            return []
        }
        return Harness.parse(result.stdout, sourceLocation: sourceLocation)
    }

    /// The IPv4 addresses of eth0 inside, empty when there is no eth0.
    var eth0: [String] {
        ip(["-4", "addr", "show", "dev", "eth0"]).flatMap { ($0["addr_info"] as? [[String: Any]] ?? []).compactMap { $0["local"] as? String } }
    }

    /// The global IPv6 addresses of eth0 inside (link-local ones left out).
    var eth0v6: [String] {
        ip(["-6", "addr", "show", "dev", "eth0", "scope", "global"]).flatMap {
            ($0["addr_info"] as? [[String: Any]] ?? []).compactMap { $0["local"] as? String }
        }
    }

    /// Ends the process, and with it the namespace; the bundle stays for poststop.
    func end() {
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    deinit {
        end()
        try? FileManager.default.removeItem(atPath: bundle)
    }
}

/// Runs `berth-oci-hook` as a runtime does, inside a host sandbox.
enum Harness {
    /// The hook under test: `BERTH_OCI_HOOK_BIN`, else the one built beside `berth`.
    static var hookBinary: String {
        if let path = ProcessInfo.processInfo.environment["BERTH_OCI_HOOK_BIN"] { return path }
        return URL(fileURLWithPath: Command.berthBinary).deletingLastPathComponent().appendingPathComponent("berth-oci-hook").path
    }

    /// Fail points exist only in a debug build.
    static var failPointsCompiledIn: Bool { hookBinary.contains("/debug/") }

    /// The argv of one hook call: in the sandbox's network namespace, with only the
    /// environment a hook entry lists (no PATH) and the bundle as working directory.
    static func arguments(_ sandbox: HostSandbox, _ stage: String, cwd: String, stateDirectory: String?, environment: [String],
                          options: [String] = []) -> [String] {
        ["nsenter", "--net=\(sandbox.namespace.path)", "--", "/usr/bin/env", "-i", "-C", cwd]
            + (stateDirectory.map { ["BERTH_STATE_DIR=\($0)"] } ?? []) + environment + [hookBinary, stage] + options
    }

    /// One hook call, to completion.
    @discardableResult
    static func hook(_ sandbox: HostSandbox, _ stage: String, state: String, cwd: String = "/", stateDirectory: String? = nil,
                     environment: [String] = [], options: [String] = []) -> CommandResult {
        Command.run(arguments(sandbox, stage, cwd: cwd, stateDirectory: stateDirectory ?? sandbox.stateDirectory, environment: environment,
                              options: options),
                    input: state)
    }

    /// A hook call left running (to be killed, as a runtime does at a hook's timeout).
    static func start(_ sandbox: HostSandbox, _ stage: String, state: String, cwd: String, environment: [String]) throws -> Process {
        try Command.start(arguments(sandbox, stage, cwd: cwd, stateDirectory: sandbox.stateDirectory, environment: environment), input: state)
    }

    /// Berth's endpoints in the sandbox, from `berth ps --json`.
    static func endpoints(_ sandbox: HostSandbox) -> [[String: Any]] {
        parse(sandbox.berthWitness(["ps", "--json"]))
    }

    /// Host-side veths Berth names `vb…`, in the sandbox.
    static func berthVeths(_ sandbox: HostSandbox) -> [String] {
        parse(sandbox.witness(["ip", "-j", "link", "show", "type", "veth"])).compactMap { $0["ifname"] as? String }.filter { $0.hasPrefix("vb") }
    }

    /// The sandbox's nftables ruleset.
    static func ruleset(_ sandbox: HostSandbox) -> String {
        sandbox.witness(["nft", "list", "ruleset"])
    }

    /// A witness's JSON array; anything else is an issue of the test, not "none".
    static func parse(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> [[String: Any]] {
        guard let array = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]] else {
            Issue.record("not a JSON array: \(text)", sourceLocation: sourceLocation)
            return []
        }
        return array
    }

    static func json(_ object: Any) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
    }

    /// Polls `condition` every 10 ms for at most `seconds`; true once it held.
    static func wait(seconds: Double = 10, until condition: () -> Bool) -> Bool {
        Poll.wait(seconds: seconds, until: condition)
    }
}
