/// One published port, resolved: traffic for `hostAddress:hostPort` goes to `containerPort`.
///
/// `description` is what `docker ps` shows in PORTS: `0.0.0.0:8080->80/tcp`,
/// `127.0.0.1:8080->80/udp`, `[::1]:8080->80/tcp`.
public struct PortMapping: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The transport protocol.
    public let `protocol`: TransportProtocol
    /// The host address to accept on; nil for every address of both families.
    /// `0.0.0.0` and `::` are kept as given: they mean every address of one family only.
    public let hostAddress: IPAddress?
    /// The port on the host, 1–65535.
    public let hostPort: UInt16
    /// The port inside the container, 1–65535.
    public let containerPort: UInt16

    /// A mapping of `hostPort` to `containerPort`; throws if either is 0.
    public init(protocol: TransportProtocol = .tcp, hostAddress: IPAddress? = nil, hostPort: UInt16, containerPort: UInt16) throws(BerthError) {
        guard hostPort != 0, containerPort != 0 else {
            throw .invalid("invalid port mapping \(hostPort)->\(containerPort): port 0 is not a port", hint: "use ports from 1 to 65535")
        }
        self.protocol = `protocol`
        self.hostAddress = hostAddress
        self.hostPort = hostPort
        self.containerPort = containerPort
    }

    /// The host side as `docker ps` prints it: `0.0.0.0:8080`, `[::1]:8080`.
    public var hostEndpoint: String {
        switch hostAddress {
        case nil: "0.0.0.0:\(hostPort)"
        case .v4(let address)?: "\(address):\(hostPort)"
        case .v6(let address)?: "[\(address)]:\(hostPort)"
        }
    }

    public var description: String { "\(hostEndpoint)->\(containerPort)/\(`protocol`)" }

    private enum CodingKeys: String, CodingKey {
        case `protocol`, hostAddress, hostPort, containerPort
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        do {
            try self.init(
                protocol: container.decode(TransportProtocol.self, forKey: .protocol),
                hostAddress: container.decodeIfPresent(IPAddress.self, forKey: .hostAddress),
                hostPort: container.decode(UInt16.self, forKey: .hostPort),
                containerPort: container.decode(UInt16.self, forKey: .containerPort)
            )
        } catch let error as BerthError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(`protocol`, forKey: .protocol)
        try container.encodeIfPresent(hostAddress, forKey: .hostAddress)
        try container.encode(hostPort, forKey: .hostPort)
        try container.encode(containerPort, forKey: .containerPort)
    }
}
