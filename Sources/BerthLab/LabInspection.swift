public import BerthCore
import BerthNetlink
import BerthNetwork

extension LabObservation {
    /// The lab as found in the kernel, as JSON: per node its namespace, interfaces (with
    /// MTU, MAC, state, addresses, peer and impairment), routes, sysctls, its Berth network
    /// (address and published ports) and its container. Field names
    /// follow `ip -j` where there is one (`ifname`, `mtu`, `address`, `operstate`, `dst`,
    /// `gateway`, `dev`, `metric`).
    public func json(spec: LabSpec?) -> JSONValue {
        var nodes: [JSONValue] = []
        for name in self.nodes.keys.sorted() {
            guard let node = self.nodes[name] else { continue }
            var interfaces: [JSONValue] = []
            for interface in node.interfaces.sorted(by: { $0.link.name < $1.link.name }) {
                let link = interface.link
                let key = LabNames.link(fromAlias: link.alias).map(\.key)
                let peer = key.flatMap { key in
                    key.split(separator: " ").map(String.init).first { $0 != "\(name):\(link.name)" }
                }
                interfaces.append(.object([
                    ("ifname", .string(link.name)), ("ifindex", .integer(Int64(link.index))),
                    ("mtu", .integer(Int64(link.mtu))), ("address", link.mac.map { .string($0.description) } ?? .null),
                    ("up", .bool(link.isUp)), ("operstate", .string("\(link.operState)".uppercased())),
                    ("peer", peer.map(JSONValue.string) ?? .null),
                    ("addresses", .array(interface.addresses.map { .string($0.description) })),
                    ("impairment", Self.json(interface.impairment)),
                ]))
            }
            var routes: [JSONValue] = []
            for route in node.routes where route.routeProtocol == .static {
                let device = route.linkIndex.flatMap { index in node.interfaces.first { $0.link.index == index }?.link.name }
                routes.append(.object([
                    ("dst", .string(route.isDefault ? "default" : route.destination.map(\.description) ?? "default")),
                    ("gateway", route.gateway.map { .string($0.description) } ?? .null),
                    ("dev", device.map(JSONValue.string) ?? .null),
                    ("metric", route.metric.map { .integer(Int64($0)) } ?? .null),
                    ("family", .string(route.family == .ipv4 ? "inet" : "inet6")),
                ]))
            }
            let sysctls = node.sysctls.keys.sorted().map { key in (key, node.sysctls[key].flatMap { $0 }.map(JSONValue.string) ?? .null) }
            nodes.append(.object([
                ("name", .string(name)), ("namespace", .string(node.namespaceName)), ("exists", .bool(node.exists)),
                ("interfaces", .array(interfaces)), ("routes", .array(routes)), ("sysctls", .object(sysctls)),
                ("network", node.endpoint.map(Self.json) ?? .null),
                ("container", node.container.map { container in
                    .object([("name", .string(container.name)), ("id", .string(container.id)), ("pid", container.process.map { .integer(Int64($0.pid)) } ?? .null),
                             ("running", .bool(node.containerRunning)), ("command", .array(container.command.map(JSONValue.string))),
                             ("rootfs", container.rootfs.map(JSONValue.string) ?? .null)])
                } ?? .null),
            ]))
        }
        return .object([("name", .string(lab)), ("source", spec.map { .string($0.source) } ?? .null), ("nodes", .array(nodes))])
    }

    /// A node's endpoint: network, interface, address and published ports (as `docker ps`
    /// prints them, and as fields).
    static func json(_ endpoint: EndpointRecord) -> JSONValue {
        .object([
            ("name", .string(endpoint.network)), ("endpoint", .string(endpoint.id)), ("ifname", .string(endpoint.interfaceName.rawValue)),
            ("address", endpoint.address.map { .string($0.description) } ?? .null),
            ("ports", .array(endpoint.ports.map { port in
                .object([("protocol", .string(port.proto.description)), ("hostAddress", .string(port.hostAddress.description)),
                         ("hostPort", .integer(Int64(port.hostPort))), ("containerPort", .integer(Int64(port.containerPort))),
                         ("text", .string(port.dockerDescription))])
            })),
        ])
    }

    /// An interface's impairment: its fields, and `text`, the whole in tc's words
    /// (`netem limit 1000 delay 20ms 2ms loss 0.5%, tbf rate 1mbit burst 32768b limit 38518b`).
    static func json(_ impairment: Impairment) -> JSONValue {
        var fields: [(String, JSONValue)] = []
        if let rate = impairment.rate {
            fields.append(("rate", .string(rate.rate.description)))
            fields.append(("burst", .integer(Int64(rate.burst))))
            fields.append(("limit", .integer(Int64(rate.limit))))
        }
        if let netem = impairment.emulation {
            fields.append(("delay", .string(netem.delay.description)))
            fields.append(("jitter", .string(netem.jitter.description)))
            fields.append(("loss", .number(netem.loss)))
            fields.append(("duplicate", .number(netem.duplicate)))
        }
        guard !fields.isEmpty else { return .null }
        // As `tc qdisc` words it (and `berth lab impair` prints it), for the text view.
        fields.append(("text", .string(impairment.description)))
        return .object(fields)
    }
}
