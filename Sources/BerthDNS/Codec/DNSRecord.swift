public import BerthCore

/// One entry of the question section.
public struct DNSQuestion: Sendable, Hashable, CustomStringConvertible {
    public var name: DNSName
    public var type: DNSRecordType
    public var recordClass: DNSClass

    public init(name: DNSName, type: DNSRecordType, recordClass: DNSClass = .internet) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
    }

    public var description: String { "\(name) \(recordClass) \(type)" }
}

/// A resource record of the answer, authority or additional section (never OPT, which
/// `DNSMessage.edns` holds).
public struct DNSRecord: Sendable, Hashable, CustomStringConvertible {
    public var name: DNSName
    public var recordClass: DNSClass
    public var ttl: UInt32
    public var data: DNSRecordData

    public init(name: DNSName, recordClass: DNSClass = .internet, ttl: UInt32, data: DNSRecordData) {
        self.name = name
        self.recordClass = recordClass
        self.ttl = ttl
        self.data = data
    }

    public var type: DNSRecordType { data.type }

    public var description: String { "\(name) \(ttl) \(recordClass) \(type) \(data)" }
}

/// Record data. The types whose data holds names that may be compressed (RFC 3597 §4: NS,
/// CNAME, SOA, PTR, MX) are decoded, so their names are read through pointers and written
/// compressed; A and AAAA are decoded for the resolver; any other type is kept as opaque
/// bytes, exactly as received.
public enum DNSRecordData: Sendable, Hashable, CustomStringConvertible {
    case a(IPv4Address)
    case aaaa(IPv6Address)
    case ns(DNSName)
    case cname(DNSName)
    case ptr(DNSName)
    case mx(preference: UInt16, exchange: DNSName)
    case soa(DNSSOA)
    /// Any other type, with its data as received.
    case opaque(type: DNSRecordType, bytes: [UInt8])

    public var type: DNSRecordType {
        switch self {
        case .a: .a
        case .aaaa: .aaaa
        case .ns: .ns
        case .cname: .cname
        case .ptr: .ptr
        case .mx: .mx
        case .soa: .soa
        case .opaque(let type, _): type
        }
    }

    public var description: String {
        switch self {
        case .a(let address): address.description
        case .aaaa(let address): address.description
        case .ns(let name), .cname(let name), .ptr(let name): name.description
        case .mx(let preference, let exchange): "\(preference) \(exchange)"
        case .soa(let soa): soa.description
        case .opaque(_, let bytes): "\\# \(bytes.count)"
        }
    }
}

/// Start of authority (RFC 1035 §3.3.13): what a negative answer carries so that clients
/// know how long they may cache it (RFC 2308).
public struct DNSSOA: Sendable, Hashable, CustomStringConvertible {
    public var primaryServer: DNSName
    public var responsible: DNSName
    public var serial: UInt32
    public var refresh: UInt32
    public var retry: UInt32
    public var expire: UInt32
    /// The TTL of negative answers.
    public var minimum: UInt32

    public init(primaryServer: DNSName, responsible: DNSName, serial: UInt32, refresh: UInt32, retry: UInt32,
                expire: UInt32, minimum: UInt32) {
        self.primaryServer = primaryServer
        self.responsible = responsible
        self.serial = serial
        self.refresh = refresh
        self.retry = retry
        self.expire = expire
        self.minimum = minimum
    }

    public var description: String {
        "\(primaryServer) \(responsible) \(serial) \(refresh) \(retry) \(expire) \(minimum)"
    }
}

/// The EDNS(0) pseudo-record (RFC 6891): the sender's UDP payload size, the high bits of
/// the response code, the version, the DO bit and options (kept as they are).
public struct DNSEDNS: Sendable, Hashable {
    /// The largest UDP payload the sender can reassemble, as it sent it (values under 512
    /// mean 512: see `effectivePayloadSize`).
    public var udpPayloadSize: UInt16
    /// The upper 8 bits of the 12-bit response code.
    public var extendedResponseCode: UInt8
    public var version: UInt8
    /// DO: the sender wants DNSSEC records.
    public var dnssecOK: Bool
    /// Options as (code, data), in order.
    public var options: [Option]

    public struct Option: Sendable, Hashable {
        public var code: UInt16
        public var data: [UInt8]
        public init(code: UInt16, data: [UInt8]) {
            self.code = code
            self.data = data
        }
    }

    public init(udpPayloadSize: UInt16, extendedResponseCode: UInt8 = 0, version: UInt8 = 0, dnssecOK: Bool = false,
                options: [Option] = []) {
        self.udpPayloadSize = udpPayloadSize
        self.extendedResponseCode = extendedResponseCode
        self.version = version
        self.dnssecOK = dnssecOK
        self.options = options
    }

    /// The payload size to honour: at least 512 (RFC 6891 §6.2.3).
    public var effectivePayloadSize: Int { max(512, Int(udpPayloadSize)) }
}
