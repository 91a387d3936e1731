import BerthCore
import BerthTestSupport
import Foundation
import Testing

/// Runs the built `berth-cni` binary the way a runtime does: `CNI_*` in its environment,
/// the configuration on stdin, inside a host sandbox (the runtime's namespace).
struct CNIHarness {
    let sandbox: HostSandbox

    /// `BERTH_CNI_BIN`, else `berth-cni` beside the `berth` binary under test.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["BERTH_CNI_BIN"] { return path }
        return URL(fileURLWithPath: Command.berthBinary).deletingLastPathComponent().appendingPathComponent("berth-cni").path
    }

    /// A configuration for network `name` keeping its state in the sandbox's state
    /// directory; `extra` is more members (`"subnet":"…"`), without braces.
    func config(_ name: String = "cninet", version: String = "1.0.0", extra: String = "") -> String {
        let tail = extra.isEmpty ? "" : "," + extra
        return #"{"cniVersion":"\#(version)","name":"\#(name)","type":"berth-cni","stateDir":"\#(sandbox.stateDirectory)"\#(tail)}"#
    }

    /// `config` with `prevResult` added.
    static func with(prevResult: String, _ config: String) -> String {
        String(config.dropLast()) + #","prevResult":"# + prevResult.trimmingCharacters(in: .whitespacesAndNewlines) + "}"
    }

    /// Runs `command` (plugin `plugin`, berth-cni by default) with `environment` added (such
    /// as `BERTH_FAILPOINT` for a debug build) and returns what it did.
    func run(_ command: String, _ config: String, containerID: String = "", netns: String = "", ifname: String = "eth0",
             args: String? = nil, plugin: String? = nil, path: String = "/usr/lib/cni", environment: [String] = []) -> CNIOutcome {
        var env = environment + ["CNI_COMMAND=\(command)", "CNI_PATH=\(path)"]
        if !containerID.isEmpty { env.append("CNI_CONTAINERID=\(containerID)") }
        env.append("CNI_NETNS=\(netns)")
        if !ifname.isEmpty { env.append("CNI_IFNAME=\(ifname)") }
        if let args { env.append("CNI_ARGS=\(args)") }
        let result = sandbox.run(["env"] + env + [plugin ?? Self.binary], input: config)
        return CNIOutcome(result: result)
    }

    /// The host sandbox's links named like Berth's host veths.
    func hostVeths(sourceLocation: SourceLocation = #_sourceLocation) -> [String] {
        sandbox.witness(["ip", "-o", "link", "show", "type", "veth"], sourceLocation: sourceLocation).split(separator: "\n").compactMap { line in
            let name = line.split(separator: ":").dropFirst().first?.trimmingCharacters(in: .whitespaces) ?? ""
            return name.hasPrefix("vb") ? String(name.split(separator: "@").first ?? "") : nil
        }
    }

    /// The tag suffix of the sandbox state's instance (` @` and 8 hex digits), read from the
    /// alias of a veth Berth made; nil while there is none.
    func instanceSuffix() -> String? {
        for line in sandbox.run(["ip", "-o", "link", "show", "type", "veth"]).stdout.split(separator: "\n") {
            guard let alias = line.range(of: "alias berth-endpoint ") else { continue }
            if let at = line[alias.upperBound...].range(of: " @") { return " @" + line[at.upperBound...].prefix(8) }
        }
        return nil
    }

    /// `nft list ruleset` of the sandbox; an issue when nft fails.
    func ruleset(sourceLocation: SourceLocation = #_sourceLocation) -> String {
        sandbox.witness(["nft", "list", "ruleset"], sourceLocation: sourceLocation)
    }
}

/// One plugin run: its exit status, stdout (parsed when it is JSON) and stderr.
struct CNIOutcome: CustomStringConvertible {
    let result: CommandResult
    var status: Int32 { result.status }
    var stdout: String { result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
    var json: JSONValue? { try? JSONValue(parsing: stdout) }
    /// The error code of a failed run.
    var code: Int64? { json?["code"]?.int64Value }
    var message: String { json?["msg"]?.stringValue ?? "" }
    var description: String { "\(result)" }

    /// The address of the result's first IP config, without its prefix.
    var address: String? {
        json?["ips"]?[0]?["address"]?.stringValue.map { String($0.split(separator: "/")[0]) }
    }
}
