import ArgumentParser
import Berth

/// `berth link add|set|del|ls`: bridges and veth pairs.
struct LinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: "Create, change, delete and list links (bridges, veth pairs).",
        subcommands: [Add.self, Set.self, Delete.self, List.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a link.",
            discussion: "A veth's peer can be born directly in another namespace with --peer-netns.")
        @Argument(help: "The new link's name.") var name: String
        @Option(name: .long, help: "The link type: bridge, veth, or any kind the kernel knows.") var type: String
        @Option(name: .long, help: "The MTU.") var mtu: UInt32?
        @Option(name: .long, help: "The hardware address.") var mac: String?
        @Option(name: .long, help: "For a veth: the peer's name.") var peer: String?
        @Option(name: .customLong("peer-netns"), help: ArgumentHelp("For a veth: create the peer in this namespace.", valueName: "NS"))
        var peerNetns: String?
        @Option(name: .long, help: "For a veth: enslave this end to a bridge.") var master: String?
        @Flag(name: .long, help: "Set the link up.") var up = false
        @OptionGroup var scope: NamespaceOption

        func validate() throws {
            if type == "veth", peer == nil { throw ValidationError("a veth needs --peer NAME") }
            if type != "veth", peer != nil || peerNetns != nil || master != nil {
                throw ValidationError("--peer, --peer-netns and --master apply to --type veth only")
            }
        }

        func run() throws {
            let netlink = try scope.netlink()
            let linkName = try Parse.name(name)
            let mac = try mac.map { text throws(BerthError) in try Parse.mac(text) }
            switch type {
            case "veth":
                let peerName = try Parse.name(peer ?? "")
                let peerNamespace = try peerNetns.map { text throws(BerthError) in try NetworkNamespace.open(nameOrPath: text) }
                let master = try master.map { text throws(BerthError) in try Parse.link(text) }
                try netlink.createVeth(named: linkName, peer: peerName, peerNamespace: peerNamespace, master: master,
                                       up: up, mtu: mtu, mac: mac)
            default:
                try netlink.createLink(named: linkName, kind: LinkKind(kindName: type), mtu: mtu, mac: mac, up: up)
            }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a link; all changes go to the kernel in one request.")
        @Argument(help: "The link's name.") var name: String
        @Flag(name: .long, help: "Set the link up.") var up = false
        @Flag(name: .long, help: "Set the link down.") var down = false
        @Option(name: .long, help: "Enslave the link to this bridge.") var master: String?
        @Flag(name: .long, help: "Free the link from its bridge.") var nomaster = false
        @Option(name: .long, help: "The MTU.") var mtu: UInt32?
        @Option(name: .long, help: "The hardware address.") var mac: String?
        @Option(name: .long, help: "The alias (\"\" clears it).") var alias: String?
        @Option(name: .customLong("move-to"), help: ArgumentHelp("Move the link into this namespace (then --up, --down and --master apply there).", valueName: "NS"))
        var moveTo: String?
        @Flag(name: .long, help: "Set a link Berth uses (a network's bridge, an endpoint's veth) down, off its bridge or away anyway.") var force = false
        @OptionGroup var scope: NamespaceOption
        @OptionGroup var state: StateOption

        func validate() throws {
            if up && down { throw ValidationError("--up and --down exclude each other") }
            if master != nil && nomaster { throw ValidationError("--master and --nomaster exclude each other") }
            if !up && !down && master == nil && !nomaster && mtu == nil && mac == nil && alias == nil && moveTo == nil {
                throw ValidationError("nothing to change: give --up, --down, --master, --nomaster, --mtu, --mac, --alias or --move-to")
            }
        }

        func run() throws {
            let netlink = try scope.netlink()
            let link = try Parse.link(name)
            // What would cut a network or an endpoint off; an MTU, MAC or alias does not.
            if down || nomaster || moveTo != nil {
                let action = down ? "set it down" : nomaster ? "take it off its bridge" : "move it"
                try LinkOwnership.refuse(action, link: name, netns: scope.netns, netlink: netlink, force: force, state: state)
            }
            let mac = try mac.map { text throws(BerthError) in try Parse.mac(text) }
            let target = try moveTo.map { text throws(BerthError) in try NetworkNamespace.open(nameOrPath: text) }
            let master = try master.map { text throws(BerthError) in try Parse.link(text) }
            // A link arrives in another namespace down and off its bridge, so with --move-to
            // the state and the master are set there after the move — as `ip link set X netns
            // NS up` ends with X up in NS (the kernel moves first, then applies the rest).
            let afterMove = target != nil
            try netlink.apply { changes throws(BerthError) in
                if let mtu { try changes.setMTU(link, to: mtu) }
                if let mac { try changes.setMAC(link, to: mac) }
                if let alias { try changes.setAlias(link, to: alias) }
                if !afterMove { try setStateAndMaster(link, master: master, in: &changes) }
                if let target { try changes.move(link, to: target) }
            }
            if let target, up || down || master != nil || nomaster {
                try RouteNetlink(namespace: target).apply { changes throws(BerthError) in
                    try setStateAndMaster(link, master: master, in: &changes)
                }
            }
        }

        private func setStateAndMaster(_ link: LinkReference, master: LinkReference?, in changes: inout NetlinkChanges) throws(BerthError) {
            if let master { try changes.setMaster(link, to: master) }
            if nomaster { try changes.setMaster(link, to: nil) }
            if up { try changes.setUp(link) }
            if down { try changes.setDown(link) }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "del", abstract: "Delete a link (a veth takes its peer along).",
                                                        aliases: ["delete", "rm"])
        @Argument(help: "The link's name.") var name: String
        @Flag(name: .long, help: "Delete a link Berth uses (a network's bridge, an endpoint's veth) anyway.") var force = false
        @OptionGroup var scope: NamespaceOption
        @OptionGroup var state: StateOption

        func run() throws {
            let netlink = try scope.netlink()
            let link = try Parse.link(name)
            try LinkOwnership.refuse("delete it", link: name, netns: scope.netns, netlink: netlink, force: force, state: state)
            try netlink.deleteLink(link)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List links.", aliases: ["list", "show"])
        @OptionGroup var scope: NamespaceOption
        @OptionGroup var output: JSONOption

        /// A link's `--json` object, its keys in camelCase as every other `--json` has them
        /// (`peerIndex`, `linkNetnsid`: iproute2's `link_index` of a veth's peer and `link_netnsid`).
        static func json(_ link: Link, master: String?) -> JSON {
            .object([
                ("index", .int(link.index)), ("name", .string(link.name)), ("kind", .string(link.kind.description)),
                ("state", .string(link.operState.description)), ("up", .bool(link.isUp)), ("mtu", .int(link.mtu)),
                ("mac", .optional(link.mac?.description)), ("master", .optional(master)),
                ("alias", .optional(link.alias)), ("peerIndex", link.peerIndex.map { .int($0) } ?? .null),
                ("linkNetnsid", link.linkNetNSID.map { .int($0) } ?? .null),
            ])
        }

        func run() throws {
            let links = try scope.netlink().links()
            let names = Dictionary(links.map { ($0.index, $0.name) }, uniquingKeysWith: { first, _ in first })
            let master = { (link: Link) -> String? in link.masterIndex.map { names[$0] ?? "#\($0)" } }
            if output.json {
                Output.json(.array(links.map { link in Self.json(link, master: master(link)) }))
                return
            }
            Output.table(["NAME", "INDEX", "KIND", "STATE", "MTU", "MAC", "MASTER"], links.map { link in
                [link.name, "\(link.index)", link.kind.description, link.isUp ? link.operState.description : "DOWN",
                 "\(link.mtu)", link.mac?.description ?? "-", master(link) ?? "-"]
            })
        }
    }
}
