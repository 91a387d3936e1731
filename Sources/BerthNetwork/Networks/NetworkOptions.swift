public import BerthCore

/// What `berth network create` asks for. Unset fields get Docker-like defaults: a free
/// subnet from the default pools, its first host address as gateway, a bridge named after
/// the network id, MTU 1500.
public struct NetworkOptions: Sendable, Hashable {
    /// The network's name: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most 64 bytes, not a reserved one.
    public var name: String
    /// The IPv4 subnet; nil picks a free one from the default pools (but on an existing
    /// bridge, where the subnet must be given).
    public var subnet: CIDR?
    /// The bridge's IPv4 address in `subnet` (which must then be given); nil takes the
    /// subnet's first host, or on an existing bridge its own address in the subnet.
    public var gateway: IPv4Address?
    /// The bridge's name; nil is `berth0` for the default network, else `br-` and the first
    /// 12 hex digits of the network id. Required with `usesExistingBridge`.
    public var bridge: InterfaceName?
    /// The MTU of the bridge and its veths, 68–65535 (1280 or more with IPv6); nil is 1500,
    /// or an existing bridge's own.
    public var mtu: Int?
    /// No outbound masquerade and no published ports: traffic stays on the bridge.
    public var isInternal: Bool
    /// `bridge` names a bridge that exists already and is not Berth's, to carry the network
    /// as it is: Berth adds its gateway address (if missing) and its rules, and never
    /// deletes, downs, re-tags or re-addresses the bridge; removing the network takes away
    /// only the gateway address, and only if Berth added it. Without this, a bridge Berth
    /// did not make is refused.
    public var usesExistingBridge: Bool
    /// IPv6 beside IPv4 (dual stack): an IPv6 subnet (`ipv6Subnet`, else a /64 of the host's
    /// unique local prefix) whose gateway the bridge holds. Implied by `ipv6Subnet`.
    public var ipv6: Bool
    /// The network's IPv6 subnet; nil picks one when `ipv6` is set.
    public var ipv6Subnet: CIDR?
    /// The bridge's IPv6 address; nil takes `::1` of the subnet.
    public var ipv6Gateway: IPv6Address?

    /// Whether the network gets IPv6.
    public var wantsIPv6: Bool { ipv6 || ipv6Subnet != nil || ipv6Gateway != nil }
    /// Whether the network gets IPv4 (the default). False makes an IPv6-only network
    /// (`--ipv4=false`, as Docker's): it needs IPv6, and takes no IPv4 subnet or gateway.
    public var ipv4: Bool
    /// Whether the resolver serves the network's names and containers use the gateway as
    /// their nameserver; nil means on, except for the default network (as in Docker).
    ///
    /// On (the default for `NetworkOptions(name:)`), the network's first attach starts the
    /// resolver, `berth-dns`, as a process of its own that outlives the call: the manager's
    /// `resolverExecutable`, else `BERTH_DNS`, else `berth-dns` beside the running
    /// executable (for an embedding runtime, beside the runtime's own binary). Without it
    /// that attach fails and leaves nothing. Give `false` for a network that needs no names
    /// and no extra process.
    public var dns: Bool?
    /// Where the resolver forwards the network's other queries (`ADDR`, `ADDR:PORT`,
    /// `[V6]:PORT`); empty means the host's nameservers.
    public var dnsUpstreams: [String]

    /// The part of the IPv4 subnet that endpoints asking for no address get theirs from
    /// (Docker's `--ip-range`); needs `subnet`. nil: the whole subnet.
    public var ipRange: AddressRange?
    /// The part of the IPv6 subnet that endpoints asking for no IPv6 address get theirs
    /// from; needs `ipv6Subnet`. nil: the whole IPv6 subnet.
    public var ipv6Range: AddressRange?
    /// Addresses of the given subnets that no endpoint may have, by name (Docker's
    /// `--aux-address`): not even when asked for. Each lies in `subnet` or `ipv6Subnet` and
    /// is not a gateway.
    public var auxiliaryAddresses: [String: IPAddress]

    /// The MTUs a network may have: the IPv4 minimum to the largest a bridge takes.
    public static let mtuRange = 68...65535
    /// The MTU a network gets when none is given.
    public static let defaultMTU = 1500

    /// Options as given (an IPv4 network with defaults for everything); `createNetwork`
    /// checks them.
    public init(name: String, subnet: CIDR? = nil, gateway: IPv4Address? = nil, bridge: InterfaceName? = nil,
                mtu: Int? = nil, isInternal: Bool = false, usesExistingBridge: Bool = false,
                ipv6: Bool = false, ipv6Subnet: CIDR? = nil, ipv6Gateway: IPv6Address? = nil, dns: Bool? = nil, dnsUpstreams: [String] = [],
                ipv4: Bool = true, ipRange: AddressRange? = nil, ipv6Range: AddressRange? = nil,
                auxiliaryAddresses: [String: IPAddress] = [:]) {
        self.ipv4 = ipv4
        self.ipRange = ipRange
        self.ipv6Range = ipv6Range
        self.auxiliaryAddresses = auxiliaryAddresses
        self.dns = dns
        self.dnsUpstreams = dnsUpstreams
        self.name = name
        self.subnet = subnet
        self.gateway = gateway
        self.bridge = bridge
        self.mtu = mtu
        self.isInternal = isInternal
        self.usesExistingBridge = usesExistingBridge
        self.ipv6 = ipv6
        self.ipv6Subnet = ipv6Subnet
        self.ipv6Gateway = ipv6Gateway
    }

    /// Whether the network gets DNS: as asked, else on except for the default network.
    public var resolvedDNS: Bool { dns ?? (name != KernelNames.defaultNetwork) }

    /// The upstreams a network's resolver asks, at most (glibc's MAXNS; berth-dns's limit).
    public static let maxDNSUpstreams = 3

    /// Checks an upstream server: an IP address, `IPv4:PORT` or `[IPv6]:PORT`, the port
    /// 1–65535, never the unspecified address; `.invalidArgument` (parameter `dnsUpstream`)
    /// otherwise.
    public static func validate(dnsUpstream text: String) throws(BerthError) {
        let invalid = BerthError.invalid("invalid DNS upstream \"\(text)\"", hint: "give an address such as 192.0.2.53, 192.0.2.53:5353 or [2001:db8::53]:53",
                                         parameter: "dnsUpstream")
        var host = Substring(text)
        var port: Substring?
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            guard rest.hasPrefix(":") || rest.isEmpty else { throw invalid }
            port = rest.isEmpty ? nil : rest.dropFirst()
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            port = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        guard let address = IPAddress(String(host)) else { throw invalid }
        guard !address.isUnspecified else {
            // berth-dns would drop it (DNSUpstream refuses it too), and a network whose only
            // upstream it was would forward nothing.
            throw BerthError.invalid("DNS upstream \"\(text)\" is the unspecified address, where no server answers",
                                     hint: "give the address of a DNS server, such as 192.0.2.53", parameter: "dnsUpstream")
        }
        if let port { guard let number = UInt16(port), number > 0 else { throw invalid } }
    }

    /// Names a network may not have: they mean something else to a container's network
    /// (`none`, `host`) or are other runtimes' names for their modes (`bridge`, `default`).
    public static let reservedNames: Set<String> = ["none", "host", "bridge", "default"]

    /// Refuses a name in `reservedNames` (compared without case).
    public static func refuseReserved(name: String) throws(BerthError) {
        guard reservedNames.contains(name.lowercased()) else { return }
        throw BerthError(.invalidArgument, "network name \"\(name)\" is reserved: none, host, bridge and default name a container's network mode, not a network",
                         hint: "choose another name", object: .network(name), parameter: "name", remedy: .chooseAnother(parameter: "name"))
    }

    /// Checks a network name: what Docker accepts (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`), at most 64 bytes.
    public static func validate(name: String) throws(BerthError) {
        let fix = "use letters, digits, '_', '.' and '-', starting with a letter or digit, at most 64 bytes"
        guard let first = name.utf8.first, name.utf8.count <= 64 else {
            throw .invalid("invalid network name \"\(name)\"", hint: fix, parameter: "name")
        }
        func isAlnum(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) }
        guard isAlnum(first), name.utf8.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }) else {
            throw .invalid("invalid network name \"\(name)\"", hint: fix, parameter: "name")
        }
    }

    /// Checks the name of an auxiliary address: what a network name may be
    /// (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`, at most 64 bytes).
    public static func validate(auxiliaryName name: String) throws(BerthError) {
        do {
            try validate(name: name)
        } catch {
            throw .invalid("invalid auxiliary address name \"\(name)\"",
                           hint: "use letters, digits, '_', '.' and '-', starting with a letter or digit, at most 64 bytes", parameter: "auxiliaryAddress")
        }
    }
}
