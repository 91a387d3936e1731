public import BerthCore

/// One direction of a tracked connection: addresses and the layer-4 key the kernel hashes.
public struct ConntrackTuple: Sendable, Hashable, CustomStringConvertible {
    /// The source address.
    public let source: IPAddress
    /// The destination address.
    public let destination: IPAddress
    /// The IP protocol number (6 tcp, 17 udp, 132 sctp, 1 icmp, 58 icmpv6, …).
    public let protocolNumber: UInt8
    /// The source port, for protocols with ports (tcp, udp, udplite, sctp, dccp).
    public let sourcePort: UInt16?
    /// The destination port, for protocols with ports.
    public let destinationPort: UInt16?
    /// The ICMP or ICMPv6 identifier, type and code, which the kernel keys echo flows on.
    public let icmp: ICMPKey?

    /// The layer-4 key of an ICMP or ICMPv6 flow.
    public struct ICMPKey: Sendable, Hashable {
        /// The ICMP echo identifier.
        public let id: UInt16
        /// The ICMP type.
        public let type: UInt8
        /// The ICMP code.
        public let code: UInt8

        /// The key of an ICMP flow with identifier `id`, `type` and `code`.
        public init(id: UInt16, type: UInt8, code: UInt8) {
            self.id = id
            self.type = type
            self.code = code
        }
    }

    /// A tuple of any protocol; give ports or an ICMP key as the protocol has them.
    public init(source: IPAddress, destination: IPAddress, protocolNumber: UInt8,
                sourcePort: UInt16? = nil, destinationPort: UInt16? = nil, icmp: ICMPKey? = nil) {
        self.source = source
        self.destination = destination
        self.protocolNumber = protocolNumber
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.icmp = icmp
    }

    /// A tcp, udp or sctp tuple.
    public init(_ transport: TransportProtocol, source: IPAddress, sourcePort: UInt16, destination: IPAddress, destinationPort: UInt16) {
        self.init(source: source, destination: destination, protocolNumber: transport.ipProtocolNumber,
                  sourcePort: sourcePort, destinationPort: destinationPort)
    }

    /// tcp, udp or sctp; nil for other protocols.
    public var transportProtocol: TransportProtocol? {
        TransportProtocol.allCases.first { $0.ipProtocolNumber == protocolNumber }
    }

    /// Whether `address` is this tuple's source or destination.
    public func involves(_ address: IPAddress) -> Bool {
        source == address || destination == address
    }

    /// `udp 10.0.0.1:5000 -> 10.0.0.2:53`, like `conntrack -L` without the key names.
    public var description: String {
        let name = transportProtocol?.description ?? (protocolNumber == 1 ? "icmp" : protocolNumber == 58 ? "icmpv6" : "proto \(protocolNumber)")
        func endpoint(_ address: IPAddress, _ port: UInt16?) -> String {
            guard let port else { return address.description }
            return address.family == .ipv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
        }
        return "\(name) \(endpoint(source, sourcePort)) -> \(endpoint(destination, destinationPort))"
    }
}

/// Status bits of a tracked connection (`enum ip_conntrack_status`).
public struct ConntrackStatus: OptionSet, Sendable, Hashable {
    /// The IPS_* bits.
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// IPS_EXPECTED: the connection was expected by a helper (an FTP data connection).
    public static let expected = ConntrackStatus(rawValue: 1 << 0)
    /// Packets went both ways.
    public static let seenReply = ConntrackStatus(rawValue: 1 << 1)
    /// IPS_ASSURED: the entry is kept under table pressure, not evicted early.
    public static let assured = ConntrackStatus(rawValue: 1 << 2)
    /// The entry is in the table (not a packet's unconfirmed candidate).
    public static let confirmed = ConntrackStatus(rawValue: 1 << 3)
    /// The connection's source is rewritten (masquerade, snat).
    public static let sourceNAT = ConntrackStatus(rawValue: 1 << 4)
    /// The connection's destination is rewritten (dnat: a published port).
    public static let destinationNAT = ConntrackStatus(rawValue: 1 << 5)
    /// IPS_DYING: the entry is being removed.
    public static let dying = ConntrackStatus(rawValue: 1 << 9)
    /// IPS_UNTRACKED: a packet exempt from tracking.
    public static let untracked = ConntrackStatus(rawValue: 1 << 12)
    /// IPS_OFFLOAD: the flow is handled by a flowtable.
    public static let offload = ConntrackStatus(rawValue: 1 << 14)
}

/// A connection the kernel tracks, as ctnetlink reports it.
///
/// The original tuple is the first packet's view; the reply tuple is what answers look like,
/// so NAT shows as a reply tuple that is not the original mirrored: a DNATed flow to a
/// published port has the container's address as the reply's source.
public struct ConntrackEntry: Sendable, Hashable, CustomStringConvertible {
    /// IPv4 or IPv6.
    public let family: IPFamily
    /// The direction of the first packet.
    public let original: ConntrackTuple
    /// The direction of answers.
    public let reply: ConntrackTuple
    /// The IPS_* status bits.
    public let status: ConntrackStatus
    /// Seconds left before the entry expires, as the kernel reported it.
    public let timeout: UInt32?
    /// The connection mark (`ct mark`), when the kernel reported one.
    public let mark: UInt32?
    /// The conntrack zone; nil or 0 is the default zone.
    public let zone: UInt16?
    /// The kernel's id for the entry, a hash of the entry's memory address and tuples. A
    /// delete carries it and the kernel refuses (ENOENT) when it does not match; a newer
    /// entry of the same tuple that reuses the old one's memory gets the same id, though.
    public let id: UInt32?

    /// An entry with both directions; the optional fields are nil when not reported.
    public init(family: IPFamily, original: ConntrackTuple, reply: ConntrackTuple, status: ConntrackStatus = [],
                timeout: UInt32? = nil, mark: UInt32? = nil, zone: UInt16? = nil, id: UInt32? = nil) {
        self.family = family
        self.original = original
        self.reply = reply
        self.status = status
        self.timeout = timeout
        self.mark = mark
        self.zone = zone
        self.id = id
    }

    /// The flow's destination was rewritten by a DNAT rule.
    public var isDestinationNAT: Bool { status.contains(.destinationNAT) }
    /// The flow's source was rewritten (masquerade or SNAT).
    public var isSourceNAT: Bool { status.contains(.sourceNAT) }

    public var description: String {
        var text = "\(original) reply \(reply)"
        if isDestinationNAT { text += " dnat" }
        if isSourceNAT { text += " snat" }
        if !status.contains(.seenReply) { text += " unreplied" }
        if let timeout { text += " timeout \(timeout)s" }
        if let zone, zone != 0 { text += " zone \(zone)" }
        return text
    }
}
