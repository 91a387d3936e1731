public import BerthCore

/// An IP address assigned to a link (RTM_NEWADDR).
public struct Address: Sendable, Hashable, CustomStringConvertible {
    /// The index of the link that holds the address.
    public var linkIndex: Int32
    /// The address with its prefix length, host bits kept (`10.88.0.2/16`).
    public var cidr: CIDR
    /// How far the address is valid.
    public var scope: AddressScope
    /// IFA_F_* flags.
    public var flags: AddressFlags
    /// The IPv4 label (`eth0`, `eth0:1`); nil for IPv6.
    public var label: String?
    /// The IPv4 broadcast address, if one is set.
    public var broadcast: IPAddress?

    /// An address on the link with index `linkIndex`.
    public init(linkIndex: Int32, cidr: CIDR, scope: AddressScope = .universe, flags: AddressFlags = [],
                label: String? = nil, broadcast: IPAddress? = nil) {
        self.linkIndex = linkIndex
        self.cidr = cidr
        self.scope = scope
        self.flags = flags
        self.label = label
        self.broadcast = broadcast
    }

    /// The address family.
    public var family: IPFamily { cidr.family }

    public var description: String {
        var text = "\(cidr) dev #\(linkIndex) scope \(scope)"
        if let broadcast { text += " brd \(broadcast)" }
        if !flags.isEmpty { text += " \(flags)" }
        if let label { text += " label \(label)" }
        return text
    }
}

/// Address and route scopes (RT_SCOPE_*).
public enum AddressScope: Sendable, Hashable, CustomStringConvertible {
    /// RT_SCOPE_UNIVERSE (0): valid everywhere ("global").
    case universe
    /// RT_SCOPE_SITE (200): valid inside the site.
    case site
    /// RT_SCOPE_LINK (253): valid on the link only.
    case link
    /// RT_SCOPE_HOST (254): valid on this host only.
    case host
    /// RT_SCOPE_NOWHERE (255): the destination does not exist.
    case nowhere
    /// A scope number without a name here.
    case other(UInt8)

    public init(rawValue: UInt8) {
        switch rawValue {
        case 0: self = .universe
        case 200: self = .site
        case 253: self = .link
        case 254: self = .host
        case 255: self = .nowhere
        default: self = .other(rawValue)
        }
    }

    public var rawValue: UInt8 {
        switch self {
        case .universe: 0
        case .site: 200
        case .link: 253
        case .host: 254
        case .nowhere: 255
        case .other(let value): value
        }
    }

    /// The word `ip` prints ("global" for universe).
    public var description: String {
        switch self {
        case .universe: "global"
        case .site: "site"
        case .link: "link"
        case .host: "host"
        case .nowhere: "nowhere"
        case .other(let value): "\(value)"
        }
    }
}

/// Address flags (IFA_F_*).
public struct AddressFlags: OptionSet, Sendable, Hashable, CustomStringConvertible {
    /// The IFA_F_* bits.
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// IFA_F_SECONDARY: not the first address of its subnet on the link.
    public static let secondary = AddressFlags(rawValue: 0x01)
    /// Skip IPv6 duplicate address detection: the address is usable at once.
    public static let noDAD = AddressFlags(rawValue: 0x02)
    /// IFA_F_DADFAILED: IPv6 duplicate address detection found the address in use.
    public static let dadFailed = AddressFlags(rawValue: 0x08)
    /// IFA_F_DEPRECATED: the preferred lifetime ran out; not chosen as a source.
    public static let deprecated = AddressFlags(rawValue: 0x20)
    /// IPv6 duplicate address detection has not finished yet.
    public static let tentative = AddressFlags(rawValue: 0x40)
    /// IFA_F_PERMANENT: configured, not learned (no lifetime runs out).
    public static let permanent = AddressFlags(rawValue: 0x80)
    /// Do not add the prefix route the kernel otherwise adds with the address.
    public static let noPrefixRoute = AddressFlags(rawValue: 0x200)

    private static let names: [(AddressFlags, String)] = [
        (.secondary, "secondary"), (.noDAD, "nodad"), (.dadFailed, "dadfailed"), (.deprecated, "deprecated"),
        (.tentative, "tentative"), (.permanent, "permanent"), (.noPrefixRoute, "noprefixroute"),
    ]

    public var description: String {
        Self.names.filter { contains($0.0) }.map(\.1).joined(separator: " ")
    }
}
