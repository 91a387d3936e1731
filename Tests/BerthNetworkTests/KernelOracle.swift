import BerthTestSupport
import Foundation
import Testing

/// iproute2 and nft as independent witnesses of what `berth` did to a sandbox, plus ways to
/// run the CLI many times at once or to kill it mid-way.
enum Oracle {
    /// `ip -j ARGS` in the sandbox (or in the named namespace `ns`), parsed; empty when the
    /// device asked for does not exist. Any other failure of the witness (a namespace that
    /// cannot be entered, output that is not JSON) is an issue of the test, never "nothing
    /// there".
    static func ip(_ sandbox: HostSandbox, _ args: [String], ns: String? = nil,
                   sourceLocation: SourceLocation = #_sourceLocation) -> [[String: Any]] {
        let argv = ns.map { ["ip", "-n", $0, "-j"] + args } ?? ["ip", "-j"] + args
        let result = ns == nil ? sandbox.run(argv) : Command.run(argv)
        guard result.succeeded else {
            if result.stderr.hasPrefix("Device \""), result.stderr.contains("\" does not exist") { return [] }
            Issue.record("the oracle failed: \(argv.joined(separator: " ")): \(result)", sourceLocation: sourceLocation)
            return []
        }
        if result.stdout.allSatisfy(\.isWhitespace) { return [] }
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] else {
            Issue.record("the oracle's output is not a JSON array: \(argv.joined(separator: " ")): \(result.stdout)", sourceLocation: sourceLocation)
            return []
        }
        return parsed
    }

    /// A new container namespace with lo up, as a runtime makes it, by name. Attach brings
    /// lo up and neither a failed attach nor a detach takes it down again (harmless, and
    /// cheaper than reading it first); starting with lo up keeps snapshots of the
    /// container comparable.
    static func container(in sandbox: HostSandbox) throws -> String {
        let name = try #require(try sandbox.makeNamespace().name)
        let up = Command.run(["ip", "-n", name, "link", "set", "lo", "up"])
        try #require(up.succeeded, "\(up)")
        return name
    }

    /// Host-side veths Berth names `vb…`, in the sandbox.
    static func berthVeths(_ sandbox: HostSandbox) -> [[String: Any]] {
        ip(sandbox, ["link", "show", "type", "veth"]).filter { ($0["ifname"] as? String)?.hasPrefix("vb") == true }
    }

    /// Bridges in the sandbox.
    static func bridges(_ sandbox: HostSandbox) -> [[String: Any]] {
        ip(sandbox, ["link", "show", "type", "bridge"])
    }

    /// The IPv4 addresses (`a.b.c.d/len`) of a link.
    static func ipv4(_ sandbox: HostSandbox, dev: String, ns: String? = nil) -> [String] {
        ip(sandbox, ["-4", "addr", "show", "dev", dev], ns: ns).flatMap { link in
            (link["addr_info"] as? [[String: Any]] ?? []).compactMap { info -> String? in
                guard let local = info["local"] as? String, let length = info["prefixlen"] as? Int else { return nil }
                return "\(local)/\(length)"
            }
        }
    }

    /// Parses a JSON array of objects, as `berth … --json` prints.
    static func objects(_ text: String) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]], "not a JSON array: \(text)")
    }

    /// The one network of `berth network inspect NAME --json`, a JSON array.
    static func network(_ text: String) throws -> [String: Any] {
        let networks = try objects(text)
        try #require(networks.count == 1, "not one network: \(text)")
        return networks[0]
    }

    /// `berth ps --json` in the sandbox.
    static func endpoints(_ sandbox: HostSandbox) throws -> [[String: Any]] {
        let ps = sandbox.berth(["ps", "--json"])
        try #require(ps.succeeded, "\(ps)")
        return try objects(ps.stdout)
    }

    /// Polls `condition` every 10 ms for at most `seconds`; true once it held.
    static func wait(seconds: Double = 10, until condition: () -> Bool) -> Bool {
        Poll.wait(seconds: seconds, until: condition)
    }

    /// Whether no endpoint's host end is left: none tagged `berth-endpoint` and none renamed
    /// `vd…` by a detach, whose deletion a detached process does after the command exits
    /// (berth_delete_link_detached), so a snapshot right after a detach may still see it.
    static func detachedLinksGone(_ sandbox: HostSandbox, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        !ip(sandbox, ["link", "show"], sourceLocation: sourceLocation).contains { link in
            (link["ifname"] as? String)?.hasPrefix("vd") == true || (link["ifalias"] as? String)?.hasPrefix("berth-endpoint") == true
        }
    }
}

/// What a failed command must not change: the sandbox's links, addresses, routes and
/// nftables ruleset, the same in the given container namespaces, and Berth's own view
/// (`network ls --json`, `ps --json`).
///
/// Links are reduced to what a command could have changed on purpose — name, kind, master,
/// MTU, alias, administrative state — leaving out counters, carrier and operstate, and
/// IPv6 link-local addresses and routes, which the kernel updates on its own schedule.
struct KernelSnapshot: Equatable, CustomStringConvertible {
    var links: [String] = []
    var addresses: [String] = []
    var routes: [String] = []
    var ruleset = ""
    var networks = ""
    var endpoints = ""

    init(_ sandbox: HostSandbox, namespaces: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) {
        for ns in [String?.none] + namespaces.map(Optional.some) {
            let prefix = ns.map { "[\($0)] " } ?? ""
            for link in Oracle.ip(sandbox, ["-d", "link", "show"], ns: ns, sourceLocation: sourceLocation) {
                let name = link["ifname"] as? String ?? "?"
                let kind = (link["linkinfo"] as? [String: Any])?["info_kind"] as? String ?? "-"
                let up = (link["flags"] as? [String])?.contains("UP") == true ? "up" : "down"
                links.append("\(prefix)\(name) kind=\(kind) master=\(link["master"] as? String ?? "-") mtu=\(link["mtu"] as? Int ?? 0) \(up) alias=\(link["ifalias"] as? String ?? "-")")
            }
            for link in Oracle.ip(sandbox, ["addr", "show"], ns: ns, sourceLocation: sourceLocation) {
                for info in link["addr_info"] as? [[String: Any]] ?? [] {
                    // IPv6 link-local addresses appear by themselves, after DAD, whenever a
                    // link comes up; no command of Berth's adds them.
                    if (info["local"] as? String)?.hasPrefix("fe80:") == true { continue }
                    addresses.append("\(prefix)\(link["ifname"] as? String ?? "?") \(info["local"] as? String ?? "?")/\(info["prefixlen"] as? Int ?? -1)")
                }
            }
            for route in Oracle.ip(sandbox, ["route", "show", "table", "all"], ns: ns, sourceLocation: sourceLocation) {
                // Likewise the kernel's own IPv6 link-local and multicast routes.
                if let dst = route["dst"] as? String, dst == "fe80::/64" || dst == "ff00::/8" || dst.hasPrefix("fe80:") { continue }
                let fields = ["type", "dst", "gateway", "dev", "table", "prefsrc", "scope", "protocol"].map { "\($0)=\(route[$0] ?? "-")" }
                routes.append(prefix + fields.joined(separator: " "))
            }
        }
        links.sort()
        addresses.sort()
        routes.sort()
        ruleset = Self.output(of: sandbox.run(["nft", "list", "ruleset"]), "nft list ruleset", sourceLocation)
        networks = Self.output(of: sandbox.berth(["network", "ls", "--json"]), "berth network ls --json", sourceLocation)
        endpoints = Self.output(of: sandbox.berth(["ps", "--json"]), "berth ps --json", sourceLocation)
    }

    /// A witness's output; its failure is an issue of the test (two snapshots of failed
    /// witnesses would otherwise compare equal, both empty).
    private static func output(of result: CommandResult, _ command: String, _ sourceLocation: SourceLocation) -> String {
        if !result.succeeded { Issue.record("the snapshot's \(command) failed: \(result)", sourceLocation: sourceLocation) }
        return result.stdout
    }

    var description: String {
        (["links:"] + links + ["addresses:"] + addresses + ["routes:"] + routes + ["nft:", ruleset, "networks: " + networks, "endpoints: " + endpoints])
            .joined(separator: "\n")
    }

    /// The lines of one snapshot missing from the other, for a readable failure.
    func difference(from other: KernelSnapshot) -> String {
        let mine = Set(description.split(separator: "\n")), theirs = Set(other.description.split(separator: "\n"))
        return "gone: \(theirs.subtracting(mine).sorted())\nnew: \(mine.subtracting(theirs).sorted())"
    }
}

/// `berth` processes started without waiting: many at once, or one to kill mid-way.
final class BerthProcess: @unchecked Sendable {
    let process = Process()
    private let out = Pipe(), err = Pipe()

    /// Starts `berth ARGS` inside the sandbox. nsenter only enters the network namespace and
    /// then execs, so the process id is berth's own.
    init(_ sandbox: HostSandbox, _ args: [String], environment: [String: String] = [:]) throws {
        let argv = sandbox.berthArguments(args)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        process.arguments = Array(argv.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(sandbox.berthEnvironment(environment)) { _, new in new }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    /// Waits for the exit; the output of berth's commands is far below a pipe's capacity, so
    /// reading after the exit cannot deadlock.
    func wait() -> Finished {
        process.waitUntilExit()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return Finished(status: process.terminationStatus, killed: process.terminationReason == .uncaughtSignal, stdout: stdout, stderr: stderr)
    }

    /// How a started process ended.
    struct Finished: CustomStringConvertible {
        let status: Int32
        /// Ended by a signal; `status` is then the signal number.
        let killed: Bool
        let stdout: String
        let stderr: String
        var succeeded: Bool { status == 0 && !killed }
        var description: String { "\(killed ? "signal" : "exit") \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
    }

    /// Runs every command at once and returns their results in order.
    static func all(_ sandbox: HostSandbox, _ commands: [[String]]) throws -> [Finished] {
        let processes = try commands.map { try BerthProcess(sandbox, $0) }
        return processes.map { $0.wait() }
    }
}
