import BerthCore
import BerthLab
import BerthNetwork
import BerthTestSupport
import Foundation
import Testing

/// Fail points (debug builds) work only in the binary built beside the tests.
let labFailPointsCompiledIn = Command.berthBinary.contains("/debug/")

/// A lab file written for one test, with a unique lab name, inside a host sandbox: runs
/// `berth lab …`, reads nodes with iproute2, and takes the lab down at the end.
final class LabFixture: @unchecked Sendable {
    let sandbox: HostSandbox
    let name: String
    let directory: String
    private(set) var file: String

    init(_ sandbox: HostSandbox, _ yaml: String, prefix: String = "t") throws {
        self.sandbox = sandbox
        name = prefix + KernelTests.uniqueSuffix()
        directory = sandbox.stateDirectory + "/files"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        file = directory + "/\(name).yaml"
        try write(yaml)
    }

    /// Rewrites the file; `LAB` in the text becomes the lab's name.
    func write(_ yaml: String) throws {
        try yaml.replacingOccurrences(of: "LAB", with: name).write(toFile: file, atomically: true, encoding: .utf8)
    }

    @discardableResult
    func lab(_ args: [String], environment: [String: String] = [:]) -> CommandResult {
        let result = sandbox.berth(["lab"] + args, environment: environment)
        for namespace in namespaces() { sandbox.adopt(namespaceNamed: namespace) }
        return result
    }

    func namespace(_ node: String) -> String { "\(name)-\(node)" }

    /// The lab's namespaces as `ip netns` lists them.
    func namespaces() -> [String] {
        Command.run(["ip", "netns", "list"]).stdout.split(separator: "\n")
            .map { String($0.split(separator: " ").first ?? "") }.filter { $0.hasPrefix(name + "-") }.sorted()
    }

    /// `ip -n NS -j ARGS`, parsed: empty when iproute2 says the device does not exist, an
    /// issue on any other failure (`IPWitness`).
    func ip(_ node: String, _ args: [String], sourceLocation: Testing.SourceLocation = #_sourceLocation) -> [[String: Any]] {
        let argv = ["ip", "-n", namespace(node), "-j"] + args
        return IPWitness.parse(Command.run(argv), argv, sourceLocation: sourceLocation)
    }

    /// Runs a command in a node with iproute2 (an oracle independent of `berth lab exec`).
    func run(_ node: String, _ argv: [String]) -> CommandResult {
        Command.run(["ip", "netns", "exec", namespace(node)] + argv)
    }

    /// `busybox ping` (ping6 for an IPv6 address) from `node` to `address`, one echo at a
    /// time until one is answered, for up to `seconds` (a bound against hanging): busybox's
    /// `ping -c 1` sends a single echo and never resends it, and one can be lost while a
    /// fresh path settles (neighbour resolution, a queue full) on a loaded machine. The last
    /// attempt's result. For reachability only: a test that expects no reply pings once.
    func ping(_ node: String, _ address: String, seconds: Double = 20) -> CommandResult {
        let argv = ["busybox", address.contains(":") ? "ping6" : "ping", "-c", "1", "-W", "2", "-w", "2", address]
        let deadline = Date().addingTimeInterval(seconds)
        var result = run(node, argv)
        while !result.succeeded, Date() < deadline { result = run(node, argv) }
        return result
    }

    /// Everything iproute2 sees in the lab's nodes: links (with index, mtu, mac, alias,
    /// state), addresses, routes, qdiscs — to compare before and after.
    func snapshot() -> [String] {
        var lines: [String] = []
        for namespace in namespaces() {
            for args in [["-d", "-o", "link"], ["-o", "addr"], ["route", "show", "table", "all"], ["-6", "route", "show", "table", "all"]] {
                lines += Command.run(["ip", "-n", namespace] + args).stdout.split(separator: "\n").map { "\(namespace) \($0)" }
            }
            lines += Command.run(["tc", "-n", namespace, "qdisc", "show"]).stdout.split(separator: "\n").map { "\(namespace) \($0)" }
        }
        // Link-local addresses come and go with DAD, and the kernel settles a new veth's
        // operstate (UNKNOWN, then UP) on its own time: neither is Berth's change.
        return lines.filter { !$0.contains("fe80::") }
            .map { $0.replacingOccurrences(of: #" state [A-Z]+ "#, with: " ", options: .regularExpression) }
    }

    /// The lab's state, in the sandbox's state store.
    func state() throws -> LabState { try LabState(store: StateStore(directory: sandbox.stateDirectory)) }

    /// Whether the state store still records the lab.
    var recorded: Bool { ((try? state().record(named: name)) ?? nil) != nil }

    /// The tag of the sandbox's state store, as node tags carry it.
    var stateTag: String { LabNames.stateTag(directory: URL(fileURLWithPath: sandbox.stateDirectory).resolvingSymlinksInPath().path) }

    func down() { lab(["down", name]) }

    /// Makes the namespace of `node` with iproute2 and tags its `lo` for the node: what a
    /// killed `up` leaves once it made the namespace (the lab tags it before naming it).
    func makeTaggedNamespace(_ node: String) throws {
        try #require(Command.run(["ip", "netns", "add", namespace(node)]).succeeded)
        sandbox.adopt(namespaceNamed: namespace(node))
        try #require(Command.run(["ip", "-n", namespace(node), "link", "set", "lo", "alias", LabNames.nodeAlias(lab: name, node: node, state: stateTag)]).succeeded)
    }

    /// That the lab is what its file says: `up --dry-run` succeeds and plans nothing.
    func expectNothingPlanned(_ comment: String = "", sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let plan = lab(["up", "--dry-run", file])
        #expect(plan.succeeded && plan.stdout.isEmpty, "\(comment)\(plan)", sourceLocation: sourceLocation)
    }
}

/// `berth lab …` started without waiting, to kill mid-way.
final class LabProcess: @unchecked Sendable {
    let process = Process()
    private let err = Pipe()

    init(_ sandbox: HostSandbox, _ args: [String], environment: [String: String]) throws {
        let argv = sandbox.berthArguments(["lab"] + args)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/nsenter")
        process.arguments = Array(argv.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(sandbox.berthEnvironment(environment)) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Reads stderr until `marker` shows (the fail point says it is hanging) or it closes.
    func waitFor(_ marker: String) -> Bool {
        var seen = ""
        while !seen.contains(marker) {
            let data = err.fileHandleForReading.availableData
            if data.isEmpty { return false }
            seen += String(decoding: data, as: UTF8.self)
        }
        return true
    }

    func kill() -> (killed: Bool, status: Int32) {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        return (process.terminationReason == .uncaughtSignal, process.terminationStatus)
    }
}
