public import BerthCore

/// A CNI result: what ADD prints and what DEL and CHECK get back as `prevResult`.
///
/// Rendered in the format of the configuration's version: before 1.0.0 each `ips` entry
/// carries `"version": "4"` (or "6"); from 1.0.0 on it does not. Parsed from any of
/// 0.3.0–1.1.0 (an IPAM plugin's result, a previous plugin's).
public struct CNIResult: Sendable, Hashable {
    /// An entry of `interfaces`.
    public struct Interface: Sendable, Hashable {
        /// The interface's name (`CNI_IFNAME` in the container, the veth's host end, the bridge).
        public var name: String
        /// Its MAC address as text; nil when not reported.
        public var mac: String?
        /// The namespace path for an interface inside the container; nil on the host.
        public var sandbox: String?

        /// An interface; on the host unless `sandbox` is given.
        public init(name: String, mac: String? = nil, sandbox: String? = nil) {
            self.name = name
            self.mac = mac
            self.sandbox = sandbox
        }
    }

    /// An entry of `ips`.
    public struct IPConfig: Sendable, Hashable {
        /// The address with its prefix length (`10.88.0.2/16`).
        public var address: CIDR
        /// The default gateway for the address's subnet, if any.
        public var gateway: IPAddress?
        /// Index into `interfaces`.
        public var interface: Int?

        /// An address, with its gateway and the index of its interface when known.
        public init(address: CIDR, gateway: IPAddress? = nil, interface: Int? = nil) {
            self.address = address
            self.gateway = gateway
            self.interface = interface
        }
    }

    /// An entry of `routes`.
    public struct Route: Sendable, Hashable {
        /// The destination prefix (`0.0.0.0/0` for the default route).
        public var destination: CIDR
        /// The next hop; nil for the interface's default gateway.
        public var gateway: IPAddress?

        /// A route to `destination`, through `gateway` when given.
        public init(destination: CIDR, gateway: IPAddress? = nil) {
            self.destination = destination
            self.gateway = gateway
        }
    }

    /// The interfaces the plugin made or knows of; `ips` refer to them by index.
    public var interfaces: [Interface]
    /// The addresses assigned.
    public var ips: [IPConfig]
    /// The routes installed in the container.
    public var routes: [Route]
    /// The `dns` object as given (nameservers, domain, search, options); `{}` when none.
    public var dns: JSONValue

    /// A result from its parts; empty unless given.
    public init(interfaces: [Interface] = [], ips: [IPConfig] = [], routes: [Route] = [], dns: JSONValue = .object([])) {
        self.interfaces = interfaces
        self.ips = ips
        self.routes = routes
        self.dns = dns
    }

    /// The result object for `version`, fields in the specification's order.
    public func rendered(version: CNIVersion) -> JSONValue {
        var members: [(String, JSONValue)] = [("cniVersion", .string(version.description))]
        if !interfaces.isEmpty {
            members.append(("interfaces", .array(interfaces.map { interface in
                var fields: [(String, JSONValue)] = [("name", .string(interface.name))]
                if let mac = interface.mac { fields.append(("mac", .string(mac))) }
                if let sandbox = interface.sandbox { fields.append(("sandbox", .string(sandbox))) }
                return .object(fields)
            })))
        }
        if !ips.isEmpty {
            members.append(("ips", .array(ips.map { ip in
                var fields: [(String, JSONValue)] = []
                if version.resultHasIPVersion { fields.append(("version", .string(ip.address.family == .ipv4 ? "4" : "6"))) }
                if let interface = ip.interface { fields.append(("interface", .integer(Int64(interface)))) }
                fields.append(("address", .string(ip.address.description)))
                if let gateway = ip.gateway { fields.append(("gateway", .string(gateway.description))) }
                return .object(fields)
            })))
        }
        if !routes.isEmpty {
            members.append(("routes", .array(routes.map { route in
                var fields: [(String, JSONValue)] = [("dst", .string(route.destination.description))]
                if let gateway = route.gateway { fields.append(("gw", .string(gateway.description))) }
                return .object(fields)
            })))
        }
        members.append(("dns", dns))
        return .object(members)
    }

    /// Parses a result object (`path` names it in errors, such as "prevResult"). Unknown
    /// keys are ignored, as in libcni; malformed known ones are code 7.
    public static func parse(_ value: JSONValue, path: String) throws(CNIError) -> CNIResult {
        guard case .object = value else { throw CNIError(.invalidConfig, "\"\(path)\" must be a CNI result object") }
        let reader = CNIConfigReader(value, path: path)
        var result = CNIResult()
        for (i, element) in (try reader.array("interfaces") ?? []).enumerated() {
            let item = CNIConfigReader(element, path: "\(path).interfaces[\(i)]")
            guard case .object = element else { throw item.notObject() }
            result.interfaces.append(Interface(name: try item.requiredString("name"), mac: try item.string("mac"),
                                               sandbox: try item.string("sandbox").flatMap { $0.isEmpty ? nil : $0 }))
        }
        for (i, element) in (try reader.array("ips") ?? []).enumerated() {
            let item = CNIConfigReader(element, path: "\(path).ips[\(i)]")
            guard case .object = element else { throw item.notObject() }
            guard let address = try item.parsed("address", "an address with a prefix length, like 10.88.0.2/16", { CIDR($0) }) else {
                throw CNIError(.invalidConfig, "\"\(path).ips[\(i)]\" has no address")
            }
            let interface = try item.integer("interface", in: 0...Int(Int32.max))
            if let interface, interface >= result.interfaces.count {
                throw item.invalid("interface", "an index into \(path).interfaces (0 to \(result.interfaces.count - 1))")
            }
            result.ips.append(IPConfig(address: address, gateway: try item.parsed("gateway", "an IP address", { IPAddress($0) }), interface: interface))
        }
        for (i, element) in (try reader.array("routes") ?? []).enumerated() {
            let item = CNIConfigReader(element, path: "\(path).routes[\(i)]")
            guard case .object = element else { throw item.notObject() }
            guard let destination = try item.parsed("dst", "a destination like 0.0.0.0/0", { CIDR($0) }) else {
                throw CNIError(.invalidConfig, "\"\(path).routes[\(i)]\" has no dst")
            }
            result.routes.append(Route(destination: destination, gateway: try item.parsed("gw", "an IP address", { IPAddress($0) })))
        }
        result.dns = try reader.objectValue("dns") ?? .object([])
        return result
    }

    /// The first address of `family` on the interface named `ifname` inside a namespace
    /// (or, when no entry names an interface, the first of that family at all), with that
    /// interface: what the reference portmap plugin publishes to, one per family.
    public func containerAddress(ifname: String, family: IPFamily = .ipv4) -> (ip: IPConfig, interface: Interface?)? {
        let index = interfaces.firstIndex { $0.name == ifname && $0.sandbox != nil }
        for ip in ips where ip.address.family == family {
            if let index, ip.interface == index { return (ip, interfaces[index]) }
            if ip.interface == nil { return (ip, index.map { interfaces[$0] }) }
        }
        return nil
    }

    /// The first host-side interface (one without a sandbox): the bridge, in the results of
    /// the reference bridge plugin.
    public var firstHostInterface: Interface? { interfaces.first { $0.sandbox == nil } }
}
