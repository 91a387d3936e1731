import Foundation
import Testing

/// The independent witnesses tests read the kernel and Berth's state through (`nft`, `ip`,
/// `berth ps`). A witness that fails is an issue of the test, never "nothing there": only
/// the witness's own answer for an absent object counts as absent.
extension HostSandbox {
    /// The output of `argv` run in the sandbox; records an issue (and returns what it
    /// printed) when it fails.
    public func witness(_ argv: [String], sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let result = run(argv)
        if !result.succeeded { Issue.record("the witness failed: \(argv.joined(separator: " ")): \(result)", sourceLocation: sourceLocation) }
        return result.stdout
    }

    /// The output of `berth ARGS` in the sandbox; records an issue when it fails.
    public func berthWitness(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let result = berth(args)
        if !result.succeeded { Issue.record("the witness failed: berth \(args.joined(separator: " ")): \(result)", sourceLocation: sourceLocation) }
        return result.stdout
    }

    /// `nft list table FAMILY NAME` in the sandbox: "" when nft says the table does not
    /// exist, an issue on any other failure.
    public func nftTable(_ family: String, _ name: String = "berth", sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let result = run(["nft", "list", "table", family, name])
        if result.succeeded { return result.stdout }
        if result.stderr.hasPrefix("Error: No such file or directory") { return "" }
        Issue.record("the witness failed: nft list table \(family) \(name): \(result)", sourceLocation: sourceLocation)
        return result.stdout
    }
}

/// `ip -j` as a witness, for the oracles of each test target.
public enum IPWitness {
    /// `ip -j ARGS` run as `argv` gave `result`, parsed: [] when iproute2 says the device
    /// asked for does not exist (or prints nothing: no such route, no address); an issue on
    /// any other failure (a namespace that cannot be entered, output that is not JSON), never
    /// "nothing there".
    public static func parse(_ result: CommandResult, _ argv: [String],
                             sourceLocation: SourceLocation = #_sourceLocation) -> [[String: Any]] {
        guard result.succeeded else {
            if result.stderr.hasPrefix("Device \""), result.stderr.contains("\" does not exist") { return [] }
            Issue.record("the witness failed: \(argv.joined(separator: " ")): \(result)", sourceLocation: sourceLocation)
            return []
        }
        if result.stdout.allSatisfy(\.isWhitespace) { return [] }
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] else {
            Issue.record("the witness's output is not a JSON array: \(argv.joined(separator: " ")): \(result.stdout)", sourceLocation: sourceLocation)
            return []
        }
        return parsed
    }

    /// `ip -j ARGS` in `sandbox`, or `ip -n NS -j ARGS` when `namespace` names one.
    public static func json(_ sandbox: HostSandbox, _ args: [String], namespace: String? = nil,
                            sourceLocation: SourceLocation = #_sourceLocation) -> [[String: Any]] {
        let argv = namespace.map { ["ip", "-n", $0, "-j"] + args } ?? ["ip", "-j"] + args
        let result = namespace == nil ? sandbox.run(argv) : Command.run(argv)
        return parse(result, argv, sourceLocation: sourceLocation)
    }
}

extension IPWitness {
    /// The names `ip netns list` prints (the first word of each line, before any
    /// "(id: N)"), as a witness. Compare whole names: the namespaces of parallel tests share
    /// /run/netns, and a generated name such as bt-ctr-123x1 is a prefix of bt-ctr-123x10.
    public static func namespaceNames(sourceLocation: SourceLocation = #_sourceLocation) -> [String] {
        Command.witness(["ip", "netns", "list"], sourceLocation: sourceLocation).split(separator: "\n")
            .compactMap { $0.split(separator: " ").first.map(String.init) }
    }
}

extension Command {
    /// The output of `argv` as a witness (run where the test runs, not in a sandbox): an
    /// issue when it fails, never "nothing there".
    public static func witness(_ argv: [String], sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let result = run(argv)
        if !result.succeeded { Issue.record("the witness failed: \(argv.joined(separator: " ")): \(result)", sourceLocation: sourceLocation) }
        return result.stdout
    }
}
