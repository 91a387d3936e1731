public import BerthCore

/// Which conntrack entries a cleanup removes: the stale flows of a published port, or every
/// flow of a container address.
///
/// Why cleanup is needed at all: once a nat chain exists, a flow that started before its DNAT
/// rule keeps the un-NATed entry it was given, so its packets are never forwarded until the
/// entry goes; the same holds when a host port moves to another container.
public struct ConntrackFilter: Sendable, Hashable, CustomStringConvertible {
    enum Criterion: Sendable, Hashable {
        case destinationPort(protocolNumber: UInt8, ports: ClosedRange<UInt16>, address: IPAddress?)
        case address(IPAddress)
    }

    let criterion: Criterion

    /// Entries whose original direction goes to `ports` over `protocol`, and to `address` if
    /// given (a publish bound to one host address).
    ///
    /// Without an address this also matches the host's own outgoing flows to a remote server
    /// on such a port; deleting one costs that flow its entry (and its masquerade mapping),
    /// so prefer the narrowest filter the publish allows.
    public static func destinationPort(_ ports: PortRange, protocol transport: TransportProtocol, address: IPAddress? = nil) -> ConntrackFilter {
        make(ports.start...ports.end, transport, address)
    }

    /// Entries whose original direction goes to `port` over `protocol` (and `address`).
    public static func destinationPort(_ port: UInt16, protocol transport: TransportProtocol, address: IPAddress? = nil) -> ConntrackFilter {
        make(port...port, transport, address)
    }

    private static func make(_ ports: ClosedRange<UInt16>, _ transport: TransportProtocol, _ address: IPAddress?) -> ConntrackFilter {
        // A wildcard host address (0.0.0.0, ::) means any destination.
        ConntrackFilter(criterion: .destinationPort(protocolNumber: transport.ipProtocolNumber, ports: ports,
                                                    address: address.flatMap { $0.isUnspecified ? nil : $0 }))
    }

    /// The flows a published port's DNAT rule should own: its protocol, host port, and host
    /// address if the publish names one.
    public static func published(_ mapping: PortMapping) -> ConntrackFilter {
        destinationPort(mapping.hostPort, protocol: mapping.protocol, address: mapping.hostAddress)
    }

    /// Entries in which `address` appears in either direction: flows from and to a
    /// container, including DNATed ones (the container is the reply's source).
    public static func address(_ address: IPAddress) -> ConntrackFilter {
        ConntrackFilter(criterion: .address(address))
    }

    /// Whether `entry` is one to remove.
    public func matches(_ entry: ConntrackEntry) -> Bool {
        switch criterion {
        case .destinationPort(let number, let ports, let address):
            guard entry.original.protocolNumber == number, let port = entry.original.destinationPort,
                  ports.contains(port) else { return false }
            return address.map { entry.original.destination == $0 } ?? true
        case .address(let address):
            return entry.original.involves(address) || entry.reply.involves(address)
        }
    }

    /// The only family the filter can match, so a dump can ask for that family alone.
    var family: IPFamily? {
        switch criterion {
        case .destinationPort(_, _, let address): address?.family
        case .address(let address): address.family
        }
    }

    /// `udp dport 8080 to 127.0.0.1`, `address 10.88.0.2`.
    public var description: String {
        switch criterion {
        case .destinationPort(let number, let ports, let address):
            let name = TransportProtocol.allCases.first { $0.ipProtocolNumber == number }?.description ?? "proto \(number)"
            let range = ports.count == 1 ? "\(ports.lowerBound)" : "\(ports.lowerBound)-\(ports.upperBound)"
            return "\(name) dport \(range)" + (address.map { " to \($0)" } ?? "")
        case .address(let address):
            return "address \(address)"
        }
    }
}
