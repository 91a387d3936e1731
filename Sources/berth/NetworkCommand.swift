import ArgumentParser
import Berth

/// `berth network create|rm|ls|inspect`: bridge networks, as `docker network` makes them.
struct NetworkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network",
        abstract: "Create, remove, list and inspect bridge networks.",
        subcommands: [Create.self, Remove.self, List.self, Inspect.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a bridge network.")
        @Argument(help: "The network name.") var name: String
        @Option(help: ArgumentHelp("IPv4 subnet, such as 172.30.0.0/16 (default: a free one from 172.17-31.0.0/16, then 192.168.x.0/20).", valueName: "CIDR"))
        var subnet: String?
        @Option(help: ArgumentHelp("The bridge's address (default: the subnet's first host).", valueName: "IP")) var gateway: String?
        @Option(help: ArgumentHelp("The bridge's name (default: br- and 12 hex digits of the network id).", valueName: "NAME")) var bridge: String?
        @Option(help: "MTU of the bridge and its veths (default: 1500).") var mtu: Int?
        @Flag(help: "Keep traffic inside the network: no outbound masquerade.") var `internal` = false
        @OptionGroup var state: StateOption

        func run() throws {
            let options = NetworkOptions(
                name: name,
                subnet: try subnet.map { text throws(BerthError) in try CIDR(parsing: text) },
                gateway: try gateway.map { text throws(BerthError) in try IPv4Address(parsing: text) },
                bridge: try bridge.map { text throws(BerthError) in try InterfaceName(text) },
                mtu: mtu, isInternal: `internal`)
            let network = try state.manager().createNetwork(options)
            print(network.name)
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove networks that have no endpoints.", aliases: ["remove", "del"])
        @Argument(help: "The network names.") var names: [String]
        @OptionGroup var state: StateOption

        func run() throws {
            let manager = try state.manager()
            for name in names {
                try manager.removeNetwork(named: name)
                print(name)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List networks.", aliases: ["list"])
        @OptionGroup var output: JSONOption
        @OptionGroup var state: StateOption

        func run() throws {
            let manager = try state.manager()
            let networks = try manager.networks()
            let counts = try manager.store.read { tx throws(BerthError) in try tx.endpointCounts() }
            if output.json {
                Output.json(.array(networks.map { NetworkJSON.network($0, endpoints: counts[$0.name] ?? 0) }))
            } else {
                Output.table(["NAME", "BRIDGE", "SUBNET", "GATEWAY", "ENDPOINTS", "INTERNAL"], networks.map {
                    [$0.name, $0.bridge.rawValue, "\($0.subnet)", "\($0.gateway)", "\(counts[$0.name] ?? 0)", $0.isInternal ? "yes" : "no"]
                })
            }
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a network and its endpoints.")
        @Argument(help: "The network name.") var name: String
        @OptionGroup var output: JSONOption
        @OptionGroup var state: StateOption

        func run() throws {
            let manager = try state.manager()
            let network = try manager.network(named: name)
            let endpoints = try manager.endpoints(network: name)
            if output.json {
                var object = NetworkJSON.fields(network)
                object.append(("endpoints", .array(endpoints.map(NetworkJSON.endpoint))))
                Output.json(.object(object))
                return
            }
            let rows: [(String, String)] = [
                ("Name", network.name), ("Id", network.id), ("Bridge", network.bridge.rawValue),
                ("Subnet", "\(network.subnet)"), ("Gateway", "\(network.gateway)"), ("MTU", "\(network.mtu)"),
                ("Internal", network.isInternal ? "yes" : "no"), ("Endpoints", "\(endpoints.count)"),
            ]
            for (key, value) in rows { print(key + ":" + String(repeating: " ", count: 11 - key.count) + value) }
            if !endpoints.isEmpty {
                print("")
                EndpointTable.print(endpoints)
            }
        }
    }
}

/// JSON shapes of networks and endpoints, shared by ls, inspect and ps.
enum NetworkJSON {
    static func fields(_ network: NetworkRecord) -> [(String, JSON)] {
        [("name", .string(network.name)), ("id", .string(network.id)), ("bridge", .string(network.bridge.rawValue)),
         ("subnet", .string("\(network.subnet)")), ("gateway", .string("\(network.gateway)")),
         ("mtu", .int(network.mtu)), ("internal", .bool(network.isInternal)), ("created", .int(network.created))]
    }

    static func network(_ network: NetworkRecord, endpoints: Int) -> JSON {
        .object(fields(network) + [("endpoints", .int(endpoints))])
    }

    static func endpoint(_ endpoint: EndpointRecord) -> JSON {
        .object([
            ("id", .string(endpoint.id)), ("network", .string(endpoint.network)), ("netns", .string(endpoint.namespacePath)),
            ("ifname", .string(endpoint.interfaceName.rawValue)), ("hostVeth", .string(endpoint.hostVeth.rawValue)),
            ("ip", .string("\(endpoint.address)")), ("mac", .string("\(endpoint.mac)")), ("created", .int(endpoint.created)),
            ("ports", .array(endpoint.ports.map(port))),
        ])
    }

    static func port(_ port: PortMappingRecord) -> JSON {
        .object([("protocol", .string(port.key.proto.rawValue)), ("hostIP", .string("\(port.key.hostAddress)")),
                 ("hostPort", .int(port.key.hostPort)), ("containerPort", .int(port.containerPort))])
    }
}
