public import BerthCore

/// What a published port is known by on the host: at most one endpoint owns each key.
public struct PortKey: Sendable, Hashable, CustomStringConvertible {
    /// The transport protocol (tcp, udp or sctp).
    public var proto: TransportProtocol
    /// The host address the port is published on; `0.0.0.0` (or `::`) for every address.
    public var hostAddress: IPAddress
    /// The port on the host.
    public var hostPort: UInt16

    /// The key `proto hostAddress:hostPort`.
    public init(proto: TransportProtocol, hostAddress: IPAddress, hostPort: UInt16) {
        self.proto = proto
        self.hostAddress = hostAddress
        self.hostPort = hostPort
    }

    /// Whether `self` and `other` would take the same traffic: same protocol and port, of
    /// the same family, and the same host address or a wildcard (`0.0.0.0`, `::`) on
    /// either side. `0.0.0.0:8080` and `[::]:8080` are two keys, one per table.
    public func clashes(with other: PortKey) -> Bool {
        proto == other.proto && hostPort == other.hostPort && hostAddress.family == other.hostAddress.family
            && (hostAddress == other.hostAddress || hostAddress.isUnspecified || other.hostAddress.isUnspecified)
    }

    /// Reads `description` back (`tcp 0.0.0.0:8080`, `tcp [::]:8080`), as errors name a port
    /// (`BerthError.Object.port`); nil for anything else.
    public init?(_ description: String) {
        let words = description.split(separator: " ")
        guard words.count == 2, let proto = TransportProtocol(rawValue: String(words[0])),
              let colon = words[1].lastIndex(of: ":"), let port = UInt16(words[1][words[1].index(after: colon)...]) else { return nil }
        var address = words[1][..<colon]
        if address.hasPrefix("["), address.hasSuffix("]") { address = address.dropFirst().dropLast() }
        guard let host = IPAddress(String(address)) else { return nil }
        self.init(proto: proto, hostAddress: host, hostPort: port)
        // Only the spelling `description` writes (IPv6 in brackets, one space).
        guard self.description == description else { return nil }
    }

    /// `tcp 0.0.0.0:8080`, or `tcp [::]:8080` for IPv6.
    public var description: String {
        hostAddress.family == .ipv6 ? "\(proto) [\(hostAddress)]:\(hostPort)" : "\(proto) \(hostAddress):\(hostPort)"
    }
}

/// One published port of an endpoint: traffic to `key` on the host goes to `containerPort`
/// at the endpoint's address.
public struct PortMappingRecord: Sendable, Hashable, CustomStringConvertible {
    /// The endpoint that owns the mapping.
    public var endpointID: String
    /// What the mapping is known by on the host.
    public var key: PortKey
    /// The port at the endpoint's (or publication's) address that traffic is forwarded to.
    public var containerPort: UInt16

    /// Traffic to `key` goes to `containerPort` of the endpoint or publication `endpointID`.
    public init(endpointID: String, key: PortKey, containerPort: UInt16) {
        self.endpointID = endpointID
        self.key = key
        self.containerPort = containerPort
    }

    /// The same with the key's parts given one by one.
    public init(endpointID: String, proto: TransportProtocol, hostAddress: IPAddress, hostPort: UInt16, containerPort: UInt16) {
        self.init(endpointID: endpointID, key: PortKey(proto: proto, hostAddress: hostAddress, hostPort: hostPort), containerPort: containerPort)
    }

    /// `key.proto`.
    public var proto: TransportProtocol { key.proto }
    /// `key.hostAddress`: `0.0.0.0` or `::` for every address of its family.
    public var hostAddress: IPAddress { key.hostAddress }
    /// `key.hostPort`.
    public var hostPort: UInt16 { key.hostPort }

    /// `tcp 0.0.0.0:8080->80`.
    public var description: String { "\(key)->\(containerPort)" }
}

extension PortMappingRecord {
    /// The host side as Docker prints it: `0.0.0.0:8080`, `[::]:8080`.
    public var hostEndpoint: String {
        key.hostAddress.family == .ipv6 ? "[\(key.hostAddress)]:\(key.hostPort)" : "\(key.hostAddress):\(key.hostPort)"
    }

    /// As `docker ps` prints it: `0.0.0.0:8080->80/tcp`, `[::]:8080->80/tcp`.
    public var dockerDescription: String { "\(hostEndpoint)->\(containerPort)/\(key.proto)" }
}
