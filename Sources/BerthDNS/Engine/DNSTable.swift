public import BerthCore

/// Everything the resolver answers for: one zone per DNS-enabled network. A table source
/// (`DNSTableSource`) produces it; the resolver compiles it into lookup indexes.
public struct DNSTable: Sendable, Hashable {
    public var networks: [DNSNetworkZone]

    public init(networks: [DNSNetworkZone] = []) {
        self.networks = networks
    }

    /// Checks what the resolver relies on, with errors that name the network and the name:
    /// every network has a listen address (never the unspecified address) and a subnet; no
    /// listen address serves two networks; within a network, no endpoint name is held
    /// twice and no alias equals another endpoint's name. (An alias shared by several
    /// endpoints is allowed and answers with all their addresses, as Docker does.)
    public func validate() throws(BerthError) {
        var listeners: [IPAddress: String] = [:]
        for zone in networks {
            let object = BerthError.Object.network(zone.name)
            guard !zone.listenAddresses.isEmpty else {
                throw BerthError(.invalidArgument, "network \(zone.name) has no address for the resolver to listen on",
                                 object: object, parameter: "listenAddresses")
            }
            guard !zone.subnets.isEmpty else {
                throw BerthError(.invalidArgument, "network \(zone.name) has no subnet, so the resolver cannot tell its containers from others",
                                 object: object, parameter: "subnets")
            }
            for address in zone.listenAddresses {
                guard !address.isUnspecified else {
                    throw BerthError(.invalidArgument, "the resolver of network \(zone.name) cannot listen on \(address): it binds gateway addresses only",
                                     object: object, parameter: "listenAddresses")
                }
                if let holder = listeners.updateValue(zone.name, forKey: address) {
                    throw BerthError(.conflict, "address \(address) serves both network \(holder) and network \(zone.name)",
                                     object: object, parameter: "listenAddresses", remedy: .chooseAnother(parameter: "gateway"))
                }
            }
            try zone.validateNames()
        }
    }
}

extension DNSTable {
    /// The network, other than the one at `zone`, under whose domain `name` lies (`cache.back`
    /// under network `back`), if any. Such a name is not answered as it is on the network at
    /// `zone` — only its qualified form is — so that a name from one network never answers
    /// under another network's apex, where it would stand in for that network's own names
    /// for a container on both. The attach refuses such names (`checkNames`); this covers
    /// a network made after them, and table files.
    public func foreignDomainHolder(of name: DNSName, zone: Int) -> String? {
        guard name.labelCount > 1 else { return nil }
        for (index, other) in networks.enumerated() where index != zone {
            if let domain = other.domain, name.labelCount > domain.labelCount, name.isSubdomain(of: domain) { return other.name }
        }
        return nil
    }
}

/// The names of one network, and where its resolver listens.
public struct DNSNetworkZone: Sendable, Hashable {
    /// The network's name. When it is a valid DNS label, every endpoint name is also
    /// answered as `NAME.NETWORK` (as Docker does), and PTR answers use that form.
    public var name: String
    /// The gateway addresses to listen on (port from the server's configuration).
    public var listenAddresses: [IPAddress]
    /// The network's subnets: only clients from these are answered, and reverse lookups of
    /// addresses inside them never leave the resolver.
    public var subnets: [CIDR]
    public var endpoints: [DNSEndpointNames]
    /// Upstream servers for this network's forwarded queries; nil uses the server's.
    public var upstreams: [DNSUpstream]?
    /// Which container each address of the network belongs to (named or not), by an opaque
    /// key the same on every network the container is on (Berth's state: its network
    /// namespace). A container asking here also gets the names of its other networks, as
    /// aardvark-dns answers. Empty: the network's names only (a table file has none).
    public var members: [IPAddress: String]

    public init(name: String, listenAddresses: [IPAddress], subnets: [CIDR], endpoints: [DNSEndpointNames] = [],
                upstreams: [DNSUpstream]? = nil, members: [IPAddress: String] = [:]) {
        self.name = name
        self.listenAddresses = listenAddresses
        self.subnets = subnets
        self.endpoints = endpoints
        self.upstreams = upstreams
        self.members = members
    }

    /// The suffix for qualified names, when the network's name is a valid DNS label.
    public var domain: DNSName? {
        guard let name = try? DNSName(hostname: name), name.labelCount == 1 else { return nil }
        return name
    }

    /// The lower-cased forms a name is answered as on this network: itself, and
    /// `NAME.NETWORK` when the network's name is a DNS label. Two endpoints clash when any
    /// of their forms do (`db` and an alias `db.front` on network `front`).
    func forms(of name: DNSName) -> [DNSName] {
        let raw = name.lowercased()
        guard let domain, let qualified = raw.appending(domain.lowercased()) else { return [raw] }
        return [raw, qualified]
    }

    /// " (both answered as FORM)" when two names clash in a qualified form only.
    func clashNote(_ name: DNSName, _ other: DNSName, _ form: DNSName) -> String {
        name.lowercased() == form && other.lowercased() == form ? "" : " (both answered as \(form.text))"
    }

    func validateNames() throws(BerthError) {
        let object = BerthError.Object.network(name)
        var owners: [DNSName: Int] = [:]
        for (index, endpoint) in endpoints.enumerated() {
            for form in forms(of: endpoint.name) {
                if let holder = owners.updateValue(index, forKey: form), holder != index {
                    throw BerthError(.conflict, "name \(endpoint.name.text) is already held by another endpoint on network \(name) (\(endpoints[holder].describe))\(clashNote(endpoint.name, endpoints[holder].name, form))",
                                     object: object, parameter: "name", remedy: .chooseAnother(parameter: "name"))
                }
            }
        }
        for (index, endpoint) in endpoints.enumerated() {
            for alias in endpoint.aliases {
                for form in forms(of: alias) {
                    if let holder = owners[form], holder != index {
                        throw BerthError(.conflict, "alias \(alias.text) of \(endpoint.describe) is the name of another endpoint on network \(name) (\(endpoints[holder].describe))\(clashNote(alias, endpoints[holder].name, form))",
                                         object: object, parameter: "aliases", remedy: .chooseAnother(parameter: "alias"))
                    }
                }
            }
        }
    }
}

/// One endpoint's names and addresses on a network.
public struct DNSEndpointNames: Sendable, Hashable {
    /// The endpoint's name (a container name): A/AAAA answer it, PTR answers with it.
    public var name: DNSName
    /// More names for the same addresses (`--alias`, the CNI `aliases` capability).
    public var aliases: [DNSName]
    /// Its addresses on this network.
    public var addresses: [IPAddress]

    public init(name: DNSName, aliases: [DNSName] = [], addresses: [IPAddress]) {
        self.name = name
        self.aliases = aliases
        self.addresses = addresses
    }

    var describe: String { "\(name.text) at \(addresses.map(\.description).joined(separator: ", "))" }
}

extension DNSName {
    /// Dotted text without the trailing dot, for messages (`web`, not `web.`).
    public var text: String {
        let full = description
        return full == "." ? full : String(full.dropLast())
    }
}
