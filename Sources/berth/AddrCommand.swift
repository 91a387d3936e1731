import ArgumentParser
import Berth

/// `berth addr add|del|ls`: IPv4 and IPv6 addresses on links.
struct AddrCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "addr",
        abstract: "Add, delete and list IP addresses.",
        subcommands: [Add.self, Delete.self, List.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add an address to a link.")
        @Argument(help: "ADDRESS/PREFIX, such as 10.88.0.2/16 or fd00::2/64.") var cidr: String
        @Option(name: .long, help: "The link.") var dev: String
        @Flag(name: .long, help: "IPv6: skip duplicate address detection, so the address works at once.") var nodad = false
        @OptionGroup var scope: NamespaceOption

        func run() throws {
            try scope.netlink().addAddress(Parse.cidr(cidr), to: Parse.link(dev), flags: nodad ? .noDAD : [])
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "del", abstract: "Remove an address from a link.", aliases: ["delete", "rm"])
        @Argument(help: "ADDRESS/PREFIX.") var cidr: String
        @Option(name: .long, help: "The link.") var dev: String
        @Flag(name: .long, help: "Remove an address from a link Berth uses (a network's bridge, an endpoint's veth) anyway.") var force = false
        @OptionGroup var scope: NamespaceOption
        @OptionGroup var state: StateOption

        func run() throws {
            let netlink = try scope.netlink()
            let address = try Parse.cidr(cidr)
            let link = try Parse.link(dev)
            try LinkOwnership.refuse("remove the address", link: dev, netns: scope.netns, netlink: netlink, force: force, state: state)
            try netlink.deleteAddress(address, from: link)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List addresses.", aliases: ["list", "show"])
        @Option(name: .long, help: "Only this link's addresses.") var dev: String?
        @OptionGroup var scope: NamespaceOption
        @OptionGroup var output: JSONOption

        func run() throws {
            let netlink = try scope.netlink()
            let link = try dev.map { text throws(BerthError) in try Parse.link(text) }
            let addresses = try netlink.addresses(of: link)
            let names = Dictionary(try netlink.links().map { ($0.index, $0.name) }, uniquingKeysWith: { first, _ in first })
            let dev = { (address: Address) in names[address.linkIndex] ?? "#\(address.linkIndex)" }
            if output.json {
                Output.json(.array(addresses.map { address in
                    .object([
                        ("dev", .string(dev(address))), ("index", .int(address.linkIndex)), ("family", .string(address.family.rawValue)),
                        ("address", .string(address.cidr.description)), ("scope", .string(address.scope.description)),
                        ("flags", .array(address.flags.description.split(separator: " ").map { .string(String($0)) })),
                        ("broadcast", .optional(address.broadcast?.description)), ("label", .optional(address.label)),
                    ])
                }))
                return
            }
            Output.table(["DEV", "FAMILY", "ADDRESS", "SCOPE", "FLAGS"], addresses.map { address in
                [dev(address), address.family.rawValue, address.cidr.description, address.scope.description,
                 address.flags.isEmpty ? "-" : address.flags.description.replacingSpaces()]
            })
        }
    }
}

extension String {
    /// Flags joined with ',' so a column holds one word.
    func replacingSpaces() -> String { split(separator: " ").joined(separator: ",") }
}
