public import BerthCore
import BerthNetlink

/// A spec as JSON, the form the state keeps: structured, so that `down`, garbage collection
/// and `inspect` read a lab back without the YAML front end (the `berth` binary, which
/// collects garbage, never links a YAML parser). File positions are not kept: a spec read
/// back is checked again, but its errors name no line.
extension LabSpec {
    /// The spec as a JSON object.
    public var json: JSONValue {
        .object([
            ("name", .string(name)), ("source", .string(source)),
            ("nodes", .array(nodes.map(Self.json))),
            ("links", .array(links.map(Self.json))),
            ("networks", .array(networks.map(Self.json))),
        ])
    }

    /// Reads a spec that `json` wrote, and validates it (unless `validating` is false: a
    /// lab's record is read back as it was written, so that one a newer Berth would refuse
    /// can still be taken down; its names are checked all the same, as they become paths
    /// and kernel names); anything else is a state error.
    public init(json: JSONValue, validating: Bool = true) throws(BerthError) {
        let fields = SpecFields(json, what: "lab")
        self.init(name: try fields.string("name"), source: try fields.string("source"))
        nodes = try fields.array("nodes").map { value throws(BerthError) in try Self.node(SpecFields(value, what: "node of lab \(name)")) }
        links = try fields.array("links").map { value throws(BerthError) in try Self.link(SpecFields(value, what: "link of lab \(name)")) }
        networks = try fields.array("networks").map { value throws(BerthError) in
            try Self.network(SpecFields(value, what: "network of lab \(name)"))
        }
        do {
            try validating ? validate() : validateNames()
        } catch {
            throw BerthError(.state, "the recorded spec of lab \(name) does not validate", object: .lab(name), remedy: .collectGarbage, cause: error)
        }
    }

    // MARK: - Writing

    private static func json(_ node: NodeSpec) -> JSONValue {
        .object([
            ("name", .string(node.name)),
            ("sysctls", .array(node.sysctls.map { .object([("key", .string($0.key)), ("value", .string($0.value))]) })),
            ("routes", .array(node.routes.map { .string($0.description) })),
            ("network", node.network.map(JSONValue.string) ?? .null),
            ("publish", .array(node.publish.map { .string($0.description) })),
            ("run", node.run.map { run in
                .object([
                    ("rootfs", run.rootfs.map(JSONValue.string) ?? .null),
                    ("command", .array(run.command.map(JSONValue.string))),
                    ("environment", .array(run.environment.map(JSONValue.string))),
                    ("workingDirectory", run.workingDirectory.map(JSONValue.string) ?? .null),
                    ("privileged", .bool(run.privileged)),
                ])
            } ?? .null),
        ])
    }

    private static func json(_ link: LinkSpec) -> JSONValue {
        .object([
            ("mtu", link.mtu.map { .integer(Int64($0)) } ?? .null),
            ("endpoints", .array(link.endpoints.map { end in
                .object([
                    ("node", .string(end.node)), ("interface", .string(end.interface.rawValue)),
                    ("addresses", .array(end.addresses.map { .string($0.description) })),
                    ("mac", end.mac.map { .string($0.description) } ?? .null),
                    ("rate", end.impairment.rate.map { tbf in
                        .object([("bitsPerSecond", .integer(Int64(clamping: tbf.rate.bitsPerSecond))),
                                 ("burst", .integer(Int64(tbf.burst))), ("limit", .integer(Int64(tbf.limit)))])
                    } ?? .null),
                    ("netem", end.impairment.emulation.map { netem in
                        .object([("delay", .integer(Int64(clamping: netem.delay.nanoseconds))),
                                 ("jitter", .integer(Int64(clamping: netem.jitter.nanoseconds))),
                                 ("loss", .number(netem.loss)), ("duplicate", .number(netem.duplicate)),
                                 ("limit", .integer(Int64(netem.limit)))])
                    } ?? .null),
                ])
            })),
        ])
    }

    private static func json(_ network: NetworkSpec) -> JSONValue {
        .object([
            ("name", .string(network.name)), ("subnet", network.subnet.map { .string($0.description) } ?? .null),
            ("gateway", network.gateway.map { .string($0.description) } ?? .null), ("internal", network.isInternal.map(JSONValue.bool) ?? .null),
        ])
    }

    // MARK: - Reading

    private static func node(_ fields: SpecFields) throws(BerthError) -> NodeSpec {
        var node = NodeSpec(name: try fields.string("name"))
        node.sysctls = try fields.array("sysctls").map { value throws(BerthError) in
            let sysctl = SpecFields(value, what: "sysctl")
            return NodeSpec.Sysctl(key: try sysctl.string("key"), value: try sysctl.string("value"))
        }
        node.routes = try fields.strings("routes").map { text throws(BerthError) in try fields.parse(text) { t throws(BerthError) in try LabRoute(parsing: t) } }
        node.network = try fields.optionalString("network")
        node.publish = try fields.strings("publish").map { text throws(BerthError) in try fields.parse(text) { t throws(BerthError) in try PortSpec(parsing: t) } }
        if let value = try fields.optional("run") {
            let run = SpecFields(value, what: "run of node \(node.name)")
            node.run = RunSpec(rootfs: try run.optionalString("rootfs"), command: try run.strings("command"),
                               environment: try run.strings("environment"), workingDirectory: try run.optionalString("workingDirectory"),
                               privileged: try run.bool("privileged"))
        }
        return node
    }

    private static func link(_ fields: SpecFields) throws(BerthError) -> LinkSpec {
        let mtu = try fields.optional("mtu").map { value throws(BerthError) in try fields.unsigned(value, "mtu") }
        let endpoints = try fields.array("endpoints").map { value throws(BerthError) -> EndpointSpec in
            let end = SpecFields(value, what: "link endpoint")
            var endpoint = EndpointSpec(node: try end.string("node"),
                                        interface: try end.parse(try end.string("interface")) { t throws(BerthError) in try InterfaceName(t) })
            endpoint.addresses = try end.strings("addresses").map { text throws(BerthError) in try end.parse(text) { t throws(BerthError) in try CIDR(parsing: t) } }
            endpoint.mac = try end.optionalString("mac").map { text throws(BerthError) in try end.parse(text) { t throws(BerthError) in try MACAddress(parsing: t) } }
            if let rate = try end.optional("rate") {
                let tbf = SpecFields(rate, what: "rate")
                endpoint.impairment.rate = TokenBucket(rate: DataRate(bitsPerSecond: try tbf.unsigned64("bitsPerSecond")),
                                                       burst: try tbf.unsigned(tbf.member("burst"), "burst"),
                                                       limit: try tbf.unsigned(tbf.member("limit"), "limit"))
            }
            if let value = try end.optional("netem") {
                let netem = SpecFields(value, what: "netem")
                endpoint.impairment.emulation = NetworkEmulation(
                    delay: TimeSpan(nanoseconds: try netem.unsigned64("delay")), jitter: TimeSpan(nanoseconds: try netem.unsigned64("jitter")),
                    loss: try netem.number("loss"), duplicate: try netem.number("duplicate"),
                    limit: try netem.unsigned(netem.member("limit"), "limit"))
            }
            return endpoint
        }
        return LinkSpec(endpoints: endpoints, mtu: mtu)
    }

    private static func network(_ fields: SpecFields) throws(BerthError) -> NetworkSpec {
        NetworkSpec(name: try fields.string("name"),
                    subnet: try fields.optionalString("subnet").map { text throws(BerthError) in try fields.parse(text) { t throws(BerthError) in try CIDR(parsing: t) } },
                    gateway: try fields.optionalString("gateway").map { text throws(BerthError) in
                        try fields.parse(text) { t throws(BerthError) in try IPv4Address(parsing: t) }
                    },
                    isInternal: try fields.optionalBool("internal"))
    }
}

/// Typed, strict access to the members of a recorded spec; a missing or mistyped member is
/// a state error naming it.
private struct SpecFields {
    let object: JSONValue
    let what: String

    init(_ object: JSONValue, what: String) {
        self.object = object
        self.what = what
    }

    func malformed(_ key: String, cause: BerthError? = nil) -> BerthError {
        BerthError(.state, "the recorded \(what) has a missing or malformed \"\(key)\"", remedy: .collectGarbage, cause: cause)
    }

    func member(_ key: String) throws(BerthError) -> JSONValue {
        guard let found = object[key] else { throw malformed(key) }
        return found
    }

    func optional(_ key: String) throws(BerthError) -> JSONValue? {
        let found = try member(key)
        // Not `found.isNull ? nil : found`: JSONValue takes a nil literal, which would make
        // that `.some(.null)`.
        if found.isNull { return Optional.none }
        return Optional.some(found)
    }

    func string(_ key: String) throws(BerthError) -> String {
        guard let text = object[key]?.stringValue else { throw malformed(key) }
        return text
    }

    func optionalString(_ key: String) throws(BerthError) -> String? {
        guard let found = try optional(key) else { return nil }
        guard let text = found.stringValue else { throw malformed(key) }
        return text
    }

    func array(_ key: String) throws(BerthError) -> [JSONValue] {
        guard let array = object[key]?.arrayValue else { throw malformed(key) }
        return array
    }

    func strings(_ key: String) throws(BerthError) -> [String] {
        var strings: [String] = []
        for element in try array(key) {
            guard let text = element.stringValue else { throw malformed(key) }
            strings.append(text)
        }
        return strings
    }

    func bool(_ key: String) throws(BerthError) -> Bool {
        guard let flag = object[key]?.boolValue else { throw malformed(key) }
        return flag
    }

    func optionalBool(_ key: String) throws(BerthError) -> Bool? {
        guard let found = try optional(key) else { return nil }
        guard let flag = found.boolValue else { throw malformed(key) }
        return flag
    }

    func number(_ key: String) throws(BerthError) -> Double {
        guard let number = object[key]?.doubleValue, number.isFinite else { throw malformed(key) }
        return number
    }

    func unsigned(_ value: JSONValue, _ key: String) throws(BerthError) -> UInt32 {
        guard let number = value.int64Value, let unsigned = UInt32(exactly: number) else { throw malformed(key) }
        return unsigned
    }

    func unsigned64(_ key: String) throws(BerthError) -> UInt64 {
        guard let number = object[key]?.int64Value, let unsigned = UInt64(exactly: number) else { throw malformed(key) }
        return unsigned
    }

    func parse<T>(_ text: String, _ body: (String) throws(BerthError) -> T) throws(BerthError) -> T {
        do {
            return try body(text)
        } catch {
            throw BerthError(.state, "the recorded \(what) has an unreadable value \"\(text)\"", remedy: .collectGarbage, cause: error)
        }
    }
}

extension LabSpec {
    /// This spec without its file positions: what its JSON record reads back as (`json`
    /// keeps no positions), for the round trip the fuzz property and the tests check.
    public func withoutLocations() -> LabSpec {
        var spec = self
        spec.nameLocation = nil
        for i in spec.nodes.indices {
            spec.nodes[i].location = nil
            spec.nodes[i].publishLocations = []
            spec.nodes[i].run?.location = nil
            for j in spec.nodes[i].routes.indices { spec.nodes[i].routes[j].location = nil }
            for j in spec.nodes[i].sysctls.indices { spec.nodes[i].sysctls[j].location = nil }
        }
        for i in spec.links.indices {
            spec.links[i].location = nil
            for j in spec.links[i].endpoints.indices { spec.links[i].endpoints[j].location = nil }
        }
        for i in spec.networks.indices { spec.networks[i].location = nil }
        return spec
    }
}
