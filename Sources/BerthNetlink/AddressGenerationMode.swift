/// How a link makes the interface identifiers of its IPv6 link-local and autoconfigured
/// addresses (IN6_ADDR_GEN_MODE_*, `ip link set … addrgenmode`).
public enum AddressGenerationMode: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// From the MAC address (the kernel's default).
    case eui64 = 0
    /// None: the link gets no link-local address when it comes up. Addresses from router
    /// advertisements are still made (from the MAC) unless `accept_ra` is 0.
    case none = 1
    /// RFC 7217 stable privacy identifiers (needs a `stable_secret`).
    case stablePrivacy = 2
    /// Random identifiers.
    case random = 3

    /// As `ip -d link` prints it.
    public var description: String {
        switch self {
        case .eui64: "eui64"
        case .none: "none"
        case .stablePrivacy: "stable_secret"
        case .random: "random"
        }
    }
}
