import ArgumentParser
import Berth

/// `berth route add|del|ls`: routes in the main table (or another).
struct RouteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Add, delete and list routes.",
        subcommands: [Add.self, Delete.self, List.self]
    )

    /// What names a route in add and del.
    struct RouteArguments: ParsableArguments {
        @Argument(help: "'default' or a destination prefix such as 10.89.0.0/16.") var destination: String
        @Option(name: .long, help: "The gateway.") var via: String?
        @Option(name: .long, help: "The output link.") var dev: String?
        @Option(name: .long, help: "The metric.") var metric: UInt32?
        @Option(name: .long, help: ArgumentHelp("The routing table: an id, or main (254), local (255) or default (253), as iproute2 names them.", valueName: "TABLE"))
        var table = RouteTableID(RouteTable.main)
        @Flag(name: .customShort("6"), help: "A default route without --via is IPv6.") var ipv6 = false

        struct Parsed {
            let destination: CIDR?
            let gateway: IPAddress?
            let device: LinkReference?
            let family: IPFamily?
        }

        func parsed() throws(BerthError) -> Parsed {
            Parsed(destination: try Parse.destination(destination),
                   gateway: try via.map { text throws(BerthError) in try Parse.address(text) },
                   device: try dev.map { text throws(BerthError) in try Parse.link(text) },
                   family: ipv6 ? .ipv6 : nil)
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a route via a gateway, a device, or both.")
        @OptionGroup var route: RouteArguments
        @OptionGroup var scope: NamespaceOption

        func run() throws {
            let r = try route.parsed()
            try scope.netlink().addRoute(to: r.destination, via: r.gateway, device: r.device, family: r.family,
                                         table: route.table.id, metric: route.metric)
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "del", abstract: "Delete the route matching what is given.", aliases: ["delete", "rm"])
        @OptionGroup var route: RouteArguments
        @OptionGroup var scope: NamespaceOption

        func run() throws {
            let r = try route.parsed()
            try scope.netlink().deleteRoute(to: r.destination, via: r.gateway, device: r.device, family: r.family,
                                            table: route.table.id, metric: route.metric)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List routes of the main table.", aliases: ["list", "show"])
        @Flag(name: .customShort("4"), help: "IPv4 only.") var ipv4 = false
        @Flag(name: .customShort("6"), help: "IPv6 only.") var ipv6 = false
        @Option(name: .long, help: ArgumentHelp("The routing table: an id, or main (254), local (255) or default (253), as iproute2 names them.", valueName: "TABLE"))
        var table = RouteTableID(RouteTable.main)
        @OptionGroup var scope: NamespaceOption
        @OptionGroup var output: JSONOption

        func run() throws {
            let netlink = try scope.netlink()
            let family: IPFamily? = ipv4 == ipv6 ? nil : (ipv4 ? .ipv4 : .ipv6)
            let routes = try netlink.routes(family: family, table: table.id)
            let names = Dictionary(try netlink.links().map { ($0.index, $0.name) }, uniquingKeysWith: { first, _ in first })
            let name = { (index: Int32) in names[index] ?? "#\(index)" }
            // A multipath route's gateways and links are its next hops' (`ip route`'s
            // "nexthop via … dev …" lines), joined by commas in the table.
            let dev = { (route: Route) -> String? in
                route.nextHops.isEmpty ? route.linkIndex.map(name) : route.nextHops.map { name($0.linkIndex) }.joined(separator: ",")
            }
            let gateway = { (route: Route) -> String? in
                route.gateways.isEmpty ? nil : route.gateways.map(\.description).joined(separator: ",")
            }
            let destination = { (route: Route) in route.isDefault ? "default" : route.destination?.description ?? "default" }
            if output.json {
                Output.json(.array(routes.map { route in
                    .object([
                        ("family", .string(route.family.rawValue)), ("destination", .string(destination(route))),
                        ("gateway", .optional(route.gateway?.description)), ("dev", .optional(route.linkIndex.map(name))),
                        ("table", .int(route.table)), ("protocol", .string(route.routeProtocol.description)),
                        ("scope", .string(route.scope.description)), ("type", .string(route.type.description)),
                        ("metric", route.metric.map { .int($0) } ?? .null),
                        ("source", .optional(route.preferredSource?.description)),
                        ("nexthops", .array(route.nextHops.map { hop in
                            .object([("gateway", .optional(hop.gateway?.description)), ("dev", .string(name(hop.linkIndex))),
                                     ("weight", .int(hop.weight))])
                        })),
                    ])
                }))
                return
            }
            Output.table(["DESTINATION", "GATEWAY", "DEV", "PROTO", "SCOPE", "METRIC"], routes.map { route in
                [destination(route), gateway(route) ?? "-", dev(route) ?? "-", route.routeProtocol.description,
                 route.scope.description, route.metric.map { "\($0)" } ?? "-"]
            })
        }
    }
}

/// `--table`: a table id, or the names iproute2 gives the kernel's tables (`ip route … table
/// main`; /etc/iproute2/rt_tables): main 254, local 255, default 253.
struct RouteTableID: ExpressibleByArgument {
    let id: UInt32

    init(_ id: UInt32) { self.id = id }

    init?(argument: String) {
        switch argument {
        case "main": id = RouteTable.main
        case "local": id = RouteTable.local
        case "default": id = RouteTable.default
        default:
            guard let number = UInt32(argument) else { return nil }
            id = number
        }
    }

    var defaultValueDescription: String { id == RouteTable.main ? "main" : "\(id)" }
}
