import BerthTestSupport
import Foundation
import Testing

/// iproute2 as an independent witness: what `ip -j` says the kernel holds.
enum IPOracle {
    /// `ip -j ARGS` inside the sandbox (or `ip -n NS -j ARGS`), parsed: empty when iproute2
    /// says the device does not exist, an issue on any other failure (`IPWitness`).
    static func json(_ sandbox: HostSandbox, _ args: [String], namespace: String? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation) -> [[String: Any]] {
        IPWitness.json(sandbox, args, namespace: namespace, sourceLocation: sourceLocation)
    }

    /// The link named `name` as `ip -d link` shows it, or nil.
    static func link(_ sandbox: HostSandbox, _ name: String, namespace: String? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation) -> [String: Any]? {
        json(sandbox, ["-d", "link", "show", "dev", name], namespace: namespace, sourceLocation: sourceLocation).first
    }

    /// Every `local/prefixlen` address on `name`.
    static func addresses(_ sandbox: HostSandbox, _ name: String, namespace: String? = nil,
                          sourceLocation: SourceLocation = #_sourceLocation) -> Set<String> {
        var out: Set<String> = []
        for link in json(sandbox, ["addr", "show", "dev", name], namespace: namespace, sourceLocation: sourceLocation) {
            for info in link["addr_info"] as? [[String: Any]] ?? [] {
                if let local = info["local"] as? String, let prefix = info["prefixlen"] as? Int { out.insert("\(local)/\(prefix)") }
            }
        }
        return out
    }

    /// Routes of a family in the main table as "DST via GW dev DEV" strings.
    static func routes(_ sandbox: HostSandbox, family: String, namespace: String? = nil,
                       sourceLocation: SourceLocation = #_sourceLocation) -> Set<String> {
        var out: Set<String> = []
        for route in json(sandbox, [family, "route", "show", "table", "main"], namespace: namespace, sourceLocation: sourceLocation) {
            var text = route["dst"] as? String ?? "?"
            if let gateway = route["gateway"] as? String { text += " via \(gateway)" }
            if let dev = route["dev"] as? String { text += " dev \(dev)" }
            out.insert(text)
        }
        return out
    }
}
