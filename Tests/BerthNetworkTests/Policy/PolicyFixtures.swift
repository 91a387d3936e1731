import BerthCore
import BerthFakes
import BerthNamespace
import BerthNetwork
import Testing

/// Shorthands for policy tests on a `FakeHost`.
extension FakeHost {
    /// Creates a network (bridge `brNAME` unless given).
    @discardableResult
    func network(_ name: String = "web", subnet: String? = "10.88.0.0/24", bridge: String? = nil, gateway: String? = nil,
                 mtu: Int? = nil, isInternal: Bool = false) throws -> NetworkRecord {
        try manager.createNetwork(NetworkOptions(
            name: name, subnet: try subnet.map { try CIDR(parsing: $0) }, gateway: try gateway.map { try IPv4Address(parsing: $0) },
            bridge: try InterfaceName(bridge ?? "br\(name)"), mtu: mtu, isInternal: isInternal))
    }

    /// Attaches the fake namespace `namespace` (made if it does not exist yet) as `id`.
    @discardableResult
    func attach(_ namespace: String, to network: String = "web", id: String? = nil, address: String? = nil,
                interfaceName: String? = nil, ports: [String] = []) throws(BerthError) -> EndpointRecord {
        if kernel.state(named: namespace) == nil { kernel.addNamespace(namespace) }
        return try manager.attach(AttachOptions(
            network: network, namespace: .name(namespace), id: id,
            address: try address.map { text throws(BerthError) in try IPv4Address(parsing: text) },
            interfaceName: try interfaceName.map { text throws(BerthError) in try InterfaceName(text) },
            ports: try ports.map { text throws(BerthError) in try PortSpec(parsing: text) }))
    }

    /// The namespace called `name` as the fake kernel opens it.
    func namespace(_ name: String) throws -> NetworkNamespace {
        try kernel.openNamespace(.name(name))
    }

    /// The endpoints recorded, as "id address".
    func recorded() throws -> [String] {
        try manager.endpoints().map { "\($0.id) \($0.addresses.map(\.description).joined(separator: ","))" }
    }
}

extension FakeKernel {
    /// Whether a namespace of that name exists.
    func state(named name: String) -> NetworkNamespace? {
        try? openNamespace(.name(name))
    }
}

/// Two state directories on one fake kernel: instance A (f4ce0001: web, 10.88.0.0/24, e1
/// publishing 8080) and instance B (0dd1ce00: its own network also called web, 10.89.0.0/24
/// on brwebb; with `bPublishes`, b1 publishing 9090).
func twoInstances(bPublishes: Bool) throws -> (FakeHost, FakeHost) {
    let a = try FakeHost()
    let b = try FakeHost(kernel: a.kernel, instance: "0dd1ce00")
    try a.network()
    try b.network(subnet: "10.89.0.0/24", bridge: "brwebb")
    try a.attach("ctr1", id: "e1", ports: ["8080:80"])
    if bPublishes { try b.attach("ctr2", id: "b1", ports: ["9090:80"]) }
    return (a, b)
}

/// Expects `body` to throw a BerthError and returns it.
func refusal(_ sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) -> BerthError? {
    #expect(throws: BerthError.self, sourceLocation: sourceLocation) { try body() }
}

/// Checks an error's code and that its message contains every fragment.
func expect(_ error: BerthError?, _ code: BerthError.Code, _ fragments: [String], parameter: String? = nil,
            remedy: BerthError.Remedy? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let error else {
        Issue.record("no error", sourceLocation: sourceLocation)
        return
    }
    #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    for fragment in fragments {
        #expect(error.message.contains(fragment), "\"\(error.message)\" lacks \"\(fragment)\"", sourceLocation: sourceLocation)
    }
    if let parameter { #expect(error.parameter == parameter, "\(error): parameter \(String(describing: error.parameter))", sourceLocation: sourceLocation) }
    if let remedy { #expect(error.remedy == remedy, "\(error): remedy \(String(describing: error.remedy))", sourceLocation: sourceLocation) }
    // BerthNetwork's words never name a command or a flag (a wrapped cause is the lower
    // layers' to word).
    let text = error.message + " " + (error.hint ?? "")
    #expect(!mentionsCLI(text), "CLI text in a library error: \(text)", sourceLocation: sourceLocation)
}

/// Whether `text` names a `berth` command or a command-line flag.
func mentionsCLI(_ text: String) -> Bool {
    let commands = ["attach", "detach", "ps", "gc", "check", "reconcile", "network", "netns", "link", "addr", "route", "nft", "run", "stop", "exec", "port", "start", "restart", "rm", "logs"]
    if commands.contains(where: { text.contains("berth \($0)") }) || text.contains("'berth") { return true }
    // A flag: "--" followed by a letter.
    var previous: Character = " ", beforePrevious: Character = " "
    for character in text {
        if beforePrevious == "-", previous == "-", character.isLetter { return true }
        beforePrevious = previous
        previous = character
    }
    return false
}
