import BerthCore
import BerthLab
import BerthNetlink
import Yams

/// Maps a lab file's YAML tree onto `LabSpec`, one key at a time.
struct LabFileReader {
    let reader: YAMLReader
    /// The absolute directory a relative `rootfs` is relative to (the file's own), if known.
    var baseDirectory: String?

    static let topKeys = ["name", "nodes", "links", "networks"]
    static let nodeKeys = ["sysctls", "routes", "network", "publish", "run"]
    static let linkKeys = ["endpoints", "addresses", "mtu", "rate", "netem"]
    static let endpointKeys = ["node", "interface", "addresses", "mac", "rate", "netem"]
    static let netemKeys = ["delay", "jitter", "loss", "duplicate", "limit"]
    static let runKeys = ["rootfs", "cmd", "env", "workdir", "privileged"]
    static let networkKeys = ["subnet", "gateway", "internal"]

    func lab(_ root: Node) throws(BerthError) -> LabSpec {
        var spec = LabSpec(name: "", source: reader.source)
        var sawName = false
        for (key, at, value) in try reader.mapping(root, "the lab file", allowed: Self.topKeys) {
            switch key {
            case "name":
                spec.name = try reader.scalar(value, "name")
                spec.nameLocation = YAMLReader.location(value.mark) ?? at
                sawName = true
            case "nodes":
                if reader.isNull(value) { continue }
                let pairs = try reader.mapping(value, "nodes", allowed: [])
                guard pairs.count <= LabNames.maxNodes else { throw reader.error(value, "over \(LabNames.maxNodes) nodes", hint: "split the lab") }
                for (name, at, body) in pairs { spec.nodes.append(try node(name, at: at, body)) }
            case "links":
                if reader.isNull(value) { continue }
                let items = try reader.sequence(value, "links")
                guard items.count <= LabNames.maxLinks else { throw reader.error(value, "over \(LabNames.maxLinks) links", hint: "split the lab") }
                for item in items { spec.links.append(try link(item)) }
            case "networks":
                if reader.isNull(value) { continue }
                let pairs = try reader.mapping(value, "networks", allowed: [])
                guard pairs.count <= LabNames.maxNetworks else { throw reader.error(value, "over \(LabNames.maxNetworks) networks", hint: "split the lab") }
                for (name, at, body) in pairs { spec.networks.append(try network(name, at: at, body)) }
            default: break
            }
        }
        guard sawName else { throw reader.error(root, "the lab has no name", hint: "add a line name: LAB at the top") }
        return spec
    }

    private func node(_ name: String, at: SourceLocation?, _ body: Node) throws(BerthError) -> NodeSpec {
        var node = NodeSpec(name: name, location: at)
        if reader.isNull(body) { return node }
        for (key, _, value) in try reader.mapping(body, "node \(name)", allowed: Self.nodeKeys) {
            switch key {
            case "sysctls":
                let pairs = try reader.mapping(value, "sysctls of node \(name)", allowed: [])
                guard pairs.count <= LabNames.maxSysctlsPerNode else {
                    throw reader.error(value, "node \(name) has over \(LabNames.maxSysctlsPerNode) sysctls", hint: "use fewer")
                }
                for (sysctl, at, raw) in pairs {
                    node.sysctls.append(.init(key: sysctl, value: try reader.scalar(raw, "sysctl \(sysctl)"), location: at))
                }
            case "routes":
                // Counted before any is parsed: a file may hold many aliases of one long route.
                let routes = try reader.scalars(value, "routes of node \(name)")
                guard routes.count <= LabNames.maxRoutesPerNode else {
                    throw reader.error(value, "node \(name) has over \(LabNames.maxRoutesPerNode) routes", hint: "use fewer")
                }
                for (text, at) in routes {
                    node.routes.append(try reader.value(text, at: at, "route of node \(name)") { text throws(BerthError) in
                        try LabRoute(parsing: text, location: at)
                    })
                }
            case "network": node.network = try reader.scalar(value, "network of node \(name)")
            case "publish":
                let ports = try reader.scalars(value, "publish of node \(name)")
                guard ports.count <= LabNames.maxPublishPerNode else {
                    throw reader.error(value, "node \(name) publishes over \(LabNames.maxPublishPerNode) ports", hint: "publish a range, like 9000-9009:90-99")
                }
                for (text, at) in ports {
                    node.publish.append(try reader.value(text, at: at, "port of node \(name)") { text throws(BerthError) in try PortSpec(parsing: text) })
                    node.publishLocations.append(at)
                }
            case "run": node.run = try run(value, node: name)
            default: break
            }
        }
        return node
    }

    /// `run: { rootfs: DIR, cmd: [ … ], env: { K: V }, workdir: DIR, privileged: true }`.
    private func run(_ value: Node, node name: String) throws(BerthError) -> RunSpec {
        var run = RunSpec(command: [], location: YAMLReader.location(value.mark))
        var sawCommand = false
        for (field, at, raw) in try reader.mapping(value, "run of node \(name)", allowed: Self.runKeys) {
            switch field {
            case "rootfs":
                let path = try reader.scalar(raw, "rootfs of node \(name)")
                guard !path.isEmpty else { throw reader.error(raw, "rootfs of node \(name) is empty", hint: "give a directory, or leave rootfs out to use the host's files") }
                if path.hasPrefix("/") {
                    run.rootfs = path
                } else if let baseDirectory {
                    run.rootfs = baseDirectory + "/" + path
                } else {
                    throw reader.error(raw, "rootfs \(path) of node \(name) is relative, and the file has no directory to resolve it in", hint: "give an absolute path")
                }
            case "cmd":
                run.command = try reader.scalars(raw, "cmd of node \(name)").map(\.0)
                sawCommand = true
            case "env":
                // `mapping` refuses a key's text twice: `ON` and "ON" are one variable.
                for (key, at, entry) in try reader.mapping(raw, "env of node \(name)", allowed: [], twice: { "env \($0) of node \(name)" }) {
                    guard !key.contains("=") else {
                        throw reader.error(at, "env name \"\(key)\" of node \(name) holds '='", hint: "write NAME: value, NAME without '='")
                    }
                    run.environment.append(key + "=" + (reader.isNull(entry) ? "" : try reader.scalar(entry, "env \(key) of node \(name)")))
                }
            case "workdir": run.workingDirectory = try reader.scalar(raw, "workdir of node \(name)")
            case "privileged": run.privileged = try reader.value(raw, "privileged of node \(name)") { text throws(BerthError) in try Self.bool(text) }
            default: _ = at
            }
        }
        guard sawCommand, !run.command.isEmpty else { throw reader.error(value, "run of node \(name) has no cmd", hint: "write cmd: [ program, arguments… ]") }
        return run
    }

    /// `NAME: { subnet: CIDR, gateway: IP, internal: true }`, each optional.
    private func network(_ name: String, at: SourceLocation?, _ body: Node) throws(BerthError) -> NetworkSpec {
        var network = NetworkSpec(name: name, location: at)
        if reader.isNull(body) { return network }
        for (key, _, field) in try reader.mapping(body, "network \(name)", allowed: Self.networkKeys) {
            switch key {
            case "subnet": network.subnet = try reader.value(field, "subnet of network \(name)") { text throws(BerthError) in try CIDR(parsing: text) }
            case "gateway": network.gateway = try reader.value(field, "gateway of network \(name)") { text throws(BerthError) in try IPv4Address(parsing: text) }
            case "internal": network.isInternal = try reader.value(field, "internal of network \(name)") { text throws(BerthError) in try Self.bool(text) }
            default: break
            }
        }
        return network
    }

    /// YAML 1.2's booleans.
    static func bool(_ text: String) throws(BerthError) -> Bool {
        switch text {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: throw .invalid("\"\(text)\" is not true or false")
        }
    }

    private func link(_ item: Node) throws(BerthError) -> LinkSpec {
        let at = YAMLReader.location(item.mark)
        var endpoints: [EndpointSpec] = []
        var addresses: [[CIDR]]?
        var addressesAt: SourceLocation?
        var mtu: UInt32?
        var rate: TokenBucket?
        var netem: NetworkEmulation?
        for (key, keyAt, value) in try reader.mapping(item, "a link", allowed: Self.linkKeys) {
            switch key {
            case "endpoints":
                for end in try reader.sequence(value, "endpoints") { endpoints.append(try endpoint(end)) }
                guard endpoints.count == 2 else {
                    throw reader.error(value, "a link has exactly two endpoints, this one \(endpoints.count)", hint: "write endpoints: [ \"a:eth0\", \"b:eth0\" ]")
                }
            case "addresses":
                addressesAt = keyAt
                let items = try reader.sequence(value, "addresses")
                guard items.count == 2 else {
                    throw reader.error(value, "a link's addresses are one entry per endpoint, two in all, not \(items.count)",
                                       hint: "write addresses: [ 10.0.0.1/24, 10.0.0.2/24 ]; give an end several as a list, none as ~")
                }
                var perEnd: [[CIDR]] = []
                for item in items { perEnd.append(try cidrs(item)) }
                addresses = perEnd
            case "mtu":
                mtu = try reader.value(value, "mtu") { text throws(BerthError) in
                    guard let number = UInt32(text), (68...65535).contains(number) else { throw .invalid("\"\(text)\" is not an MTU", hint: "use 68 to 65535") }
                    return number
                }
            case "rate": rate = try self.rate(value)
            case "netem": netem = try emulation(value)
            default: break
            }
        }
        guard endpoints.count == 2 else { throw reader.error(item, "a link needs endpoints", hint: "write endpoints: [ \"a:eth0\", \"b:eth0\" ]") }
        for i in 0..<2 {
            if let addresses, !addresses[i].isEmpty {
                if !endpoints[i].addresses.isEmpty {
                    throw reader.error(addressesAt, "addresses of \(endpoints[i]) are given twice, on the link and on the endpoint", hint: "keep one")
                }
                endpoints[i].addresses = addresses[i]
            }
            if endpoints[i].impairment.rate == nil { endpoints[i].impairment.rate = rate }
            // A burst below the link's frame size would drop every larger packet.
            if let mtu { endpoints[i].impairment.rate = endpoints[i].impairment.rate?.fitting(mtu: mtu) }
            if endpoints[i].impairment.emulation == nil { endpoints[i].impairment.emulation = netem }
        }
        return LinkSpec(endpoints: endpoints, mtu: mtu, location: at)
    }

    private func endpoint(_ node: Node) throws(BerthError) -> EndpointSpec {
        let at = YAMLReader.location(node.mark)
        if case .scalar = node {
            let text = try reader.scalar(node, "an endpoint")
            return try reader.value(text, at: at, "endpoint \"\(text)\"") { text throws(BerthError) in try Self.endpoint(text, at: at) }
        }
        var nodeName: String?, interface: InterfaceName?, addresses: [CIDR] = [], mac: MACAddress?, impairment = Impairment()
        for (key, _, value) in try reader.mapping(node, "an endpoint", allowed: Self.endpointKeys) {
            switch key {
            case "node": nodeName = try reader.scalar(value, "node")
            case "interface": interface = try reader.value(value, "interface") { text throws(BerthError) in try InterfaceName(text) }
            case "addresses": addresses = try cidrs(value)
            case "mac": mac = try reader.value(value, "mac") { text throws(BerthError) in try MACAddress(parsing: text) }
            case "rate": impairment.rate = try rate(value)
            case "netem": impairment.emulation = try emulation(value)
            default: break
            }
        }
        guard let nodeName, let interface else { throw reader.error(node, "an endpoint needs node: and interface:", hint: "or write it as \"node:interface\"") }
        return EndpointSpec(node: nodeName, interface: interface, addresses: addresses, mac: mac, impairment: impairment, location: at)
    }

    static func endpoint(_ text: String, at: SourceLocation?) throws(BerthError) -> EndpointSpec {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex, text.index(after: colon) != text.endIndex else {
            throw .invalid("an endpoint is written NODE:INTERFACE", hint: "like \"r1:eth1\"")
        }
        return EndpointSpec(node: String(text[..<colon]), interface: try InterfaceName(String(text[text.index(after: colon)...])), location: at)
    }

    private func cidrs(_ node: Node) throws(BerthError) -> [CIDR] {
        var out: [CIDR] = []
        for (text, at) in try reader.scalars(node, "addresses") {
            out.append(try reader.value(text, at: at, "address \"\(text)\"") { text throws(BerthError) in
                guard text.contains("/") else { throw .invalid("it has no prefix length", hint: "write it as ADDRESS/PREFIX, like 10.0.1.2/24") }
                return try CIDR(parsing: text)
            })
        }
        return out
    }

    private func rate(_ node: Node) throws(BerthError) -> TokenBucket {
        TokenBucket(rate: try reader.value(node, "rate") { text throws(BerthError) in try DataRate(parsing: text) })
    }

    private func emulation(_ node: Node) throws(BerthError) -> NetworkEmulation {
        var netem = NetworkEmulation()
        for (key, _, value) in try reader.mapping(node, "netem", allowed: Self.netemKeys) {
            switch key {
            case "delay": netem.delay = try reader.value(value, "netem delay") { text throws(BerthError) in try TimeSpan(parsing: text) }
            case "jitter": netem.jitter = try reader.value(value, "netem jitter") { text throws(BerthError) in try TimeSpan(parsing: text) }
            case "loss": netem.loss = try reader.value(value, "netem loss", Self.percent)
            case "duplicate": netem.duplicate = try reader.value(value, "netem duplicate", Self.percent)
            case "limit":
                netem.limit = try reader.value(value, "netem limit") { text throws(BerthError) in
                    guard let number = UInt32(text), number > 0 else { throw .invalid("\"\(text)\" is not a packet count", hint: "use a positive number") }
                    return number
                }
            default: break
            }
        }
        return netem
    }

    /// `0.5%` or `0.5`: a percentage from 0 to 100.
    static func percent(_ text: String) throws(BerthError) -> Double {
        let digits = text.hasSuffix("%") ? String(text.dropLast()) : text
        guard let value = Double(digits), value.isFinite, (0...100).contains(value), digits.allSatisfy({ $0.isNumber || $0 == "." }) else {
            throw .invalid("\"\(text)\" is not a percentage", hint: "write 0 to 100, like 0.5%")
        }
        return value
    }
}
