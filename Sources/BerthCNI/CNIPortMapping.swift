public import BerthCore

/// One entry of `runtimeConfig.portMappings`.
///
/// Keys match case-insensitively, as Go's JSON decoder matches struct fields: podman sends
/// `hostPort`, containerd's CRI sends `HostPort` (go-cni's struct has no JSON tags). Two
/// keys that differ only in case (`hostPort` and `HostPort`) are refused (code 7): Go's
/// decoder lets the later one win, whatever its case, so which is meant is not clear.
public struct CNIPortMapping: Sendable, Hashable {
    /// `hostPort`: the port on the host, 1–65535.
    public var hostPort: UInt16
    /// `containerPort`: the port in the container, 1–65535.
    public var containerPort: UInt16
    /// `protocol`: tcp unless given.
    public var proto: TransportProtocol
    /// Nil for every host address of the network's families (absent or empty). An
    /// unspecified address keeps its family, as the reference portmap plugin reads it and as
    /// `-p 0.0.0.0:…`/`-p [::]:…` do: `0.0.0.0` is every IPv4 address, `::` every IPv6 one.
    public var hostIP: IPAddress?

    /// A mapping from its fields; tcp on every host address unless told otherwise.
    public init(hostPort: UInt16, containerPort: UInt16, proto: TransportProtocol = .tcp, hostIP: IPAddress? = nil) {
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.proto = proto
        self.hostIP = hostIP
    }

    /// The member of `object` named `key` in any letter case; code 7 (naming `path`) when
    /// two members match.
    static func member(_ object: [(String, JSONValue)], _ key: String, path: String) throws(CNIError) -> JSONValue? {
        let lower = key.lowercased()
        let matches = object.filter { $0.0.lowercased() == lower }
        guard matches.count <= 1 else {
            throw CNIError(.invalidConfig, "\"\(path)\" has \(key) more than once: \(matches.map { "\"\($0.0)\"" }.joined(separator: ", "))",
                           details: "keys match in any letter case, as Go's JSON decoder reads them; give \(key) once")
        }
        return matches.first?.1
    }

    /// Parses one mapping; `path` names it in errors (`runtimeConfig.portMappings[0]`).
    /// A host port of 0 means "no host port" to Kubernetes: such entries give nil.
    static func parse(_ value: JSONValue, path: String) throws(CNIError) -> CNIPortMapping? {
        guard let object = value.objectValue else {
            throw CNIError(.invalidConfig, "\"\(path)\" must be an object like {\"hostPort\": 8080, \"containerPort\": 80, \"protocol\": \"tcp\"}")
        }
        func port(_ key: String, allowZero: Bool) throws(CNIError) -> UInt16 {
            guard let member = try member(object, key, path: path), !member.isNull else {
                throw CNIError(.invalidConfig, "\"\(path)\" has no \(key)", details: "give \(key) as a number from 1 to 65535")
            }
            guard let number = member.intValue, (allowZero ? 0 : 1)...65535 ~= number else {
                throw CNIError(.invalidConfig, "\"\(path).\(key)\" must be a port number from 1 to 65535")
            }
            return UInt16(number)
        }
        let hostPort = try port("hostPort", allowZero: true)
        let containerPort = try port("containerPort", allowZero: false)
        guard hostPort != 0 else { return nil }
        var proto = TransportProtocol.tcp
        if let member = try member(object, "protocol", path: path), !member.isNull {
            guard let text = member.stringValue, let parsed = TransportProtocol(rawValue: text.lowercased()) else {
                throw CNIError(.invalidConfig, "\"\(path).protocol\" must be \"tcp\", \"udp\" or \"sctp\"")
            }
            proto = parsed
        }
        var hostIP: IPAddress?
        if let member = try member(object, "hostIP", path: path), !member.isNull {
            guard let text = member.stringValue else { throw CNIError(.invalidConfig, "\"\(path).hostIP\" must be a string") }
            if !text.isEmpty {
                guard let address = IPAddress(text) else {
                    throw CNIError(.invalidConfig, "\"\(path).hostIP\" \"\(text)\" is not an IP address")
                }
                hostIP = address
            }
        }
        return CNIPortMapping(hostPort: hostPort, containerPort: containerPort, proto: proto, hostIP: hostIP)
    }

    /// The mapping as Berth's `-p` spec.
    public func portSpec() throws(BerthError) -> PortSpec {
        try PortSpec(hostAddress: hostIP, hostPorts: try PortRange(hostPort), containerPorts: try PortRange(containerPort), protocol: proto)
    }
}
