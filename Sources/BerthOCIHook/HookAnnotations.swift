public import BerthCore

/// What a container asks of Berth through its annotations:
///
/// | annotation      | value                                                   | default               |
/// |-----------------|---------------------------------------------------------|-----------------------|
/// | `berth.network` | a network name                                          | the default network   |
/// | `berth.publish` | comma-separated `-p` specs, short or long form          | nothing published     |
/// | `berth.ip`      | an IPv4 address in the network's subnet                 | the lowest free one   |
/// | `berth.ip6`     | an IPv6 address in a dual-stack network's IPv6 subnet   | the lowest free one   |
/// | `berth.mac`     | the interface's MAC                                     | derived from the IP   |
/// | `berth.name`    | the endpoint's DNS name                                 | none                  |
/// | `berth.aliases` | comma-separated more DNS names (a network with DNS on)  | none                  |
///
/// Values are trimmed of spaces; anything else malformed is refused, naming the annotation.
/// Names and aliases are checked as `berth attach --name` and `--alias` check them
/// (`EndpointNames.validate`).
public struct HookAnnotations: Sendable, Hashable {
    /// The network to join: a network name.
    public static let network = "berth.network"
    /// Ports to publish: comma-separated `-p` specs in Docker's grammar.
    public static let publish = "berth.publish"
    /// The IPv4 address, in the network's subnet.
    public static let ip = "berth.ip"
    /// On a dual-stack network: the IPv6 address (the network gives the endpoint one either way).
    public static let ip6 = "berth.ip6"
    /// The interface's MAC address.
    public static let mac = "berth.mac"
    /// The endpoint's name on the network's resolver: a DNS name.
    public static let name = "berth.name"
    /// More names on the network's resolver: comma-separated DNS names.
    public static let aliases = "berth.aliases"
    /// Every annotation the hook reads.
    public static let all = [network, publish, ip, ip6, mac, name, aliases]

    /// The network to join; nil means Berth's default network.
    public var network: String?
    /// The ports to publish; none when empty.
    public var ports: [PortSpec]
    /// The IPv4 address asked for; nil for the lowest free one.
    public var address: IPv4Address?
    /// The IPv6 address asked for; refused by the attach on an IPv4-only network.
    public var ipv6Address: IPv6Address?
    /// The MAC address asked for; nil for one derived from the address.
    public var mac: MACAddress?
    /// The endpoint's DNS name; nil for none (the container is not answered by name).
    public var name: String?
    /// More DNS names of the endpoint; refused by the hook on a network with DNS off.
    public var aliases: [String]

    /// What a container asks for; the defaults ask for nothing in particular.
    public init(network: String? = nil, ports: [PortSpec] = [], address: IPv4Address? = nil, ipv6Address: IPv6Address? = nil,
                mac: MACAddress? = nil, name: String? = nil, aliases: [String] = []) {
        self.network = network
        self.ports = ports
        self.address = address
        self.ipv6Address = ipv6Address
        self.mac = mac
        self.name = name
        self.aliases = aliases
    }

    /// Reads the `berth.*` members of `annotations`; others are ignored.
    public init(_ annotations: [String: String]) throws(BerthError) {
        try self.init(OCIAnnotations(annotations))
    }

    /// Reads the `berth.*` members of `annotations`, and each one it lacks from `fallback`:
    /// a container state's annotations over its config.json's (the state's value wins).
    ///
    /// Only the names the hook reads are looked up, in each — O(names × annotations) — never
    /// a merge of the two, which looks every annotation of one up in the other: a state of
    /// 1 MiB holds over 100,000 tiny annotations.
    public init(_ annotations: OCIAnnotations, over fallback: OCIAnnotations) throws(BerthError) {
        var chosen = OCIAnnotations()
        for name in Self.all {
            if let value = annotations[name] ?? fallback[name] { chosen[name] = value }
        }
        try self.init(chosen)
    }

    /// Reads the `berth.*` members of `annotations`; others are ignored.
    public init(_ annotations: OCIAnnotations) throws(BerthError) {
        func value(_ key: String) -> String? {
            annotations[key].map(Self.trimmed)
        }
        func refuse(_ key: String, _ error: BerthError) -> BerthError {
            BerthError(.invalidArgument, "annotation \(key): \(error.message)", hint: error.hint,
                       object: BerthError.Object(.annotation, key), parameter: key, cause: error.cause)
        }
        if let name = value(Self.network) {
            guard !name.isEmpty else {
                throw BerthError(.invalidArgument, "annotation \(Self.network) is empty", object: BerthError.Object(.annotation, Self.network),
                                 parameter: Self.network)
            }
            network = name
        } else {
            network = nil
        }
        var ports: [PortSpec] = []
        if let list = value(Self.publish), !list.isEmpty {
            for spec in Self.entries(of: list) {
                guard !spec.isEmpty else {
                    throw BerthError(.invalidArgument, "annotation \(Self.publish) has an empty entry in \"\(list)\"",
                                     object: BerthError.Object(.annotation, Self.publish), parameter: Self.publish)
                }
                do {
                    ports.append(try PortSpec(parsing: spec))
                } catch {
                    throw refuse(Self.publish, error)
                }
            }
        }
        self.ports = ports
        do {
            address = try value(Self.ip).map { text throws(BerthError) in try IPv4Address(parsing: text) }
        } catch {
            throw refuse(Self.ip, error)
        }
        do {
            ipv6Address = try value(Self.ip6).map { text throws(BerthError) in try IPv6Address(parsing: text) }
        } catch {
            throw refuse(Self.ip6, error)
        }
        do {
            mac = try value(Self.mac).map { text throws(BerthError) in try MACAddress(parsing: text) }
        } catch {
            throw refuse(Self.mac, error)
        }
        do {
            name = try value(Self.name).map { text throws(BerthError) in
                try EndpointNames.validate(text, parameter: Self.name)
                return text
            }
        } catch {
            throw refuse(Self.name, error)
        }
        var aliases: [String] = []
        if let list = value(Self.aliases), !list.isEmpty {
            for item in list.split(separator: ",", omittingEmptySubsequences: false) {
                let alias = Self.trimmed(String(item))
                guard !alias.isEmpty else {
                    throw BerthError(.invalidArgument, "annotation \(Self.aliases) has an empty entry in \"\(list)\"",
                                     object: BerthError.Object(.annotation, Self.aliases), parameter: Self.aliases)
                }
                do {
                    try EndpointNames.validate(alias, parameter: Self.aliases)
                } catch {
                    throw refuse(Self.aliases, error)
                }
                aliases.append(alias)
            }
        }
        self.aliases = aliases
    }

    /// The specs of a `berth.publish` value, trimmed: split on `,`, except that the long form
    /// keeps its own commas — an entry `key=value` continues the long-form spec before it
    /// unless that spec has the key already (`published=8080,target=80,published=9090,target=90`
    /// is two specs). A short-form spec never has `=`, so it always stands alone.
    static func entries(of list: String) -> [String] {
        var entries: [String] = []
        var keys: [Substring] = []
        for item in list.split(separator: ",", omittingEmptySubsequences: false) {
            let entry = trimmed(String(item))
            guard let equals = entry.firstIndex(of: "=") else {
                entries.append(entry)
                keys = []
                continue
            }
            let key = entry[..<equals]
            if !keys.isEmpty, !keys.contains(key), let last = entries.indices.last {
                entries[last] += "," + entry
            } else {
                entries.append(entry)
                keys = []
            }
            keys.append(key)
        }
        return entries
    }

    /// Whether `annotations` has any `berth.*` member the hook reads.
    public static func present(in annotations: [String: String]) -> Bool {
        all.contains { annotations[$0] != nil }
    }

    /// Whether `annotations` has any `berth.*` member the hook reads.
    public static func present(in annotations: OCIAnnotations) -> Bool {
        all.contains { annotations[$0] != nil }
    }

    static func trimmed(_ text: String) -> String {
        var scalars = Substring(text)
        while scalars.first == " " || scalars.first == "\t" { scalars.removeFirst() }
        while scalars.last == " " || scalars.last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}

extension BerthError.Object.Kind {
    /// An OCI annotation, by key.
    public static let annotation = BerthError.Object.Kind(rawValue: "annotation")
}
