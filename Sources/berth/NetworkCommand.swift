import ArgumentParser
import Berth

/// `berth network create|rm|prune|ls|inspect`: bridge networks, as `docker network` makes them.
struct NetworkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network",
        abstract: "Create, remove, list and inspect bridge networks.",
        subcommands: [Create.self, Remove.self, Prune.self, List.self, Inspect.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a bridge network.")
        @Argument(help: "The network name.") var name: String
        @Option(help: ArgumentHelp("Subnet, such as 172.30.0.0/16 (default: a free one from 172.17-31.0.0/16, then 192.168.x.0/20); once more with an IPv6 subnet, such as fd00:1::/64, for dual stack.", valueName: "CIDR"))
        var subnet: [String] = []
        @Option(help: ArgumentHelp("The bridge's address in a subnet of its family (default: the subnet's first host; ::1 of an IPv6 subnet; with --bridge-existing, the bridge's own address in the subnet).", valueName: "IP"))
        var gateway: [String] = []
        @Option(help: ArgumentHelp("Lease addresses to endpoints that ask for none only from this part of the subnet: a prefix inside it, such as 172.30.5.0/24, or FIRST-LAST, such as 172.30.5.10-172.30.5.99 (an --ip may still be anywhere in the subnet); once more with an IPv6 range for the IPv6 subnet. Needs --subnet of its family.", valueName: "RANGE"))
        var ipRange: [String] = []
        @Option(help: ArgumentHelp("An address of the subnet that no endpoint may have, not even with --ip (a LAN host, a router); repeatable. Needs --subnet of its family.", valueName: "NAME=IP"))
        var auxAddress: [String] = []
        @Flag(help: "IPv6 beside IPv4 (dual stack); without an IPv6 --subnet, a /64 of the host's unique local prefix.") var ipv6 = false
        /// `--ipv6=false`, as `JoinedValues` passes it on: IPv6 refused in so many words.
        @Flag(name: .customLong("no-ipv6"), help: .hidden) var noIPv6 = false
        static let ipv6Off = "--no-ipv6"
        @Option(help: ArgumentHelp("Whether the network has IPv4 (default: true); --ipv4=false with --ipv6 makes an IPv6-only network.", valueName: "true|false"))
        var ipv4 = true
        @Option(help: ArgumentHelp("The bridge's name (default: br- and 12 hex digits of the network id).", valueName: "NAME")) var bridge: String?
        @Option(help: "MTU of the bridge and its veths (default: 1500; with --bridge-existing, the bridge's, which it may not exceed).") var mtu: Int?
        @Flag(help: "Keep traffic inside the network: no outbound masquerade, and no published ports (attach -p and run -p on it are refused).") var `internal` = false
        @Flag(help: ArgumentHelp("Use the existing bridge --bridge names, which Berth did not make, as it is: Berth adds its rules and only the gateway address --gateway names, and never deletes, downs or re-addresses it."))
        var bridgeExisting = false
        @Option(help: ArgumentHelp("Whether containers resolve each other's names through the resolver on the gateway (default: true, false for the default network 'berth').", valueName: "true|false"))
        var dns: Bool?
        @Option(help: ArgumentHelp("Where the resolver forwards other names: ADDR, ADDR:PORT or [V6]:PORT; repeatable (default: the host's nameservers).", valueName: "SERVER"))
        var dnsUpstream: [String] = []
        @Option(name: [.customShort("o", allowingJoined: true), .customLong("opt")],
                help: ArgumentHelp("A driver option of 'docker network create -o': com.docker.network.bridge.name=NAME (as --bridge), com.docker.network.driver.mtu=N or podman's mtu=N (as --mtu); com.docker.network.bridge.enable_ip_masquerade and enable_icc only =true (Berth's behaviour); others are refused. Repeatable.",
                                   valueName: "KEY=VALUE"))
        var opt: [String] = []
        @Option(name: [.customShort("d", allowingJoined: true), .long], help: ArgumentHelp("The network driver: bridge, the one Berth has (as docker network create -d bridge).", valueName: "DRIVER"))
        var driver = "bridge"
        @OptionGroup var state: StateOption

        func validate() throws {
            guard driver == "bridge" else {
                throw ValidationError("network driver '\(driver)' is not supported: Berth makes bridge networks only (leave out --driver, or give --driver bridge)")
            }
        }

        func run() throws {
            let driver = try NetworkDriverOptions(parsing: opt)
            let bridge = try NetworkDriverOptions.merge(bridge, driver.bridge, flagName: "--bridge", key: NetworkDriverOptions.bridgeName)
            let mtu = try NetworkDriverOptions.merge(mtu, driver.mtu, flagName: "--mtu", key: NetworkDriverOptions.mtu)
            let subnets = try Self.byFamily(subnet, flag: "--subnet") { text throws(BerthError) in try CIDR(parsing: text).family }
            let gateways = try Self.byFamily(gateway, flag: "--gateway") { text throws(BerthError) in try IPAddress(parsing: text).family }
            let ranges = try Self.byFamily(ipRange, flag: "--ip-range") { text throws(BerthError) in try AddressRange(parsing: text).family }
            if noIPv6, let refusal = Self.ipv6Contradiction(subnet: subnets.v6, gateway: gateways.v6, range: ranges.v6, ipv6: ipv6) {
                throw ValidationError(refusal)
            }
            let options = NetworkOptions(
                name: name,
                subnet: try subnets.v4.map { text throws(BerthError) in try CIDR(parsing: text) },
                gateway: try gateways.v4.map { text throws(BerthError) in try IPv4Address(parsing: text) },
                bridge: try bridge.map { text throws(BerthError) in try InterfaceName(text) },
                mtu: mtu, isInternal: `internal`, usesExistingBridge: bridgeExisting, ipv6: ipv6,
                ipv6Subnet: try subnets.v6.map { text throws(BerthError) in try CIDR(parsing: text) },
                ipv6Gateway: try gateways.v6.map { text throws(BerthError) in try IPv6Address(parsing: text) },
                dns: dns, dnsUpstreams: dnsUpstream, ipv4: ipv4,
                ipRange: try ranges.v4.map { text throws(BerthError) in try AddressRange(parsing: text) },
                ipv6Range: try ranges.v6.map { text throws(BerthError) in try AddressRange(parsing: text) },
                auxiliaryAddresses: try Self.auxiliaryAddresses(auxAddress))
            var warnings: [HostWarning] = []
            let network = try state.manager().createNetwork(options, warnings: &warnings)
            for warning in warnings { Output.error(CLIHints.warningLine(warning)) }
            print(network.name)
        }

        /// `--ipv6=false` with an IPv6 value (or with `--ipv6` too): nothing says which one
        /// is meant, so neither wins. Nil when they agree.
        static func ipv6Contradiction(subnet: String?, gateway: String?, range: String?, ipv6: Bool) -> String? {
            if ipv6 { return "--ipv6=false and --ipv6 contradict each other (give one of them)" }
            let given = [subnet.map { ("--subnet", $0) }, gateway.map { ("--gateway", $0) }, range.map { ("--ip-range", $0) }].compactMap { $0 }
            guard let (flag, value) = given.first else { return nil }
            return "--ipv6=false contradicts the IPv6 \(flag) \(value): an IPv6 value makes the network dual-stack "
                + "(leave out --ipv6=false for IPv6, or the IPv6 \(flag) for an IPv4-only network)"
        }

        /// The `--aux-address NAME=IP` values by name: each name once.
        static func auxiliaryAddresses(_ values: [String]) throws(BerthError) -> [String: IPAddress] {
            var addresses: [String: IPAddress] = [:]
            for value in values {
                guard let equals = value.firstIndex(of: "=") else {
                    throw BerthError.invalid("invalid --aux-address \"\(value)\": no '='", hint: "give --aux-address as NAME=IP, such as router=192.168.1.1")
                }
                let name = String(value[..<equals])
                try NetworkOptions.validate(auxiliaryName: name)
                guard let address = IPAddress(String(value[value.index(after: equals)...])) else {
                    throw BerthError.invalid("invalid --aux-address \"\(value)\": \"\(value[value.index(after: equals)...])\" is not an IP address",
                                             hint: "give --aux-address as NAME=IP, such as router=192.168.1.1")
                }
                guard addresses[name] == nil else {
                    throw BerthError.invalid("--aux-address names \"\(name)\" twice", hint: "give each --aux-address its own name")
                }
                addresses[name] = address
            }
            return addresses
        }

        /// Sorts the values of a repeated option by family: at most one of each.
        static func byFamily(_ values: [String], flag: String,
                             family: (String) throws(BerthError) -> IPFamily) throws(BerthError) -> (v4: String?, v6: String?) {
            var v4: String?, v6: String?
            for value in values {
                let isV6 = try family(value) == .ipv6
                if (isV6 ? v6 : v4) != nil {
                    throw BerthError.invalid("\(flag) is given twice for \(isV6 ? "IPv6" : "IPv4")",
                                             hint: "give \(flag) at most once per family: one IPv4 value and one IPv6 value")
                }
                if isV6 { v6 = value } else { v4 = value }
            }
            return (v4, v6)
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove networks that have no endpoints.", aliases: ["remove", "del"])
        @Argument(help: "The network names.") var names: [String]
        @Flag(name: .shortAndLong, help: "A network that does not exist is no error (as docker network rm -f).") var force = false
        @OptionGroup var state: StateOption

        /// Goes on past a network that cannot be removed, as `docker network rm` does: each
        /// error is printed, and berth exits 1 at the end if any failed. With `--force` a
        /// network that does not exist is a note on stderr (Docker 23 and later); a network
        /// with endpoints is still refused.
        func run() throws {
            let manager = try state.manager()
            EachContainer.run(names) { (name) throws(BerthError) in
                do throws(BerthError) {
                    try manager.removeNetwork(named: name)
                } catch where error.remedy == .detachEndpoints {
                    throw Self.namingContainers(error, network: name, manager: manager)
                } catch where force && error.code == .notFound && error.object == .network(name) {
                    Output.error("no network named \"\(name)\": nothing to remove")
                    return
                }
                print(name)
            }
        }

        /// A refusal for attached endpoints names each one with its remedy, as Docker names a
        /// network's active containers: a plain endpoint (`berth attach`) is detached; a
        /// running container's endpoint is left to `berth stop` or `berth rm -f`, since
        /// detaching it would cut the container off behind its back. A stopped container
        /// holds no endpoint (its record keeps only the id it takes when it starts again):
        /// it blocks nothing and is not named. One whose supervisor died before releasing its
        /// endpoint is left to `berth gc`.
        static func namingContainers(_ error: BerthError, network: String, manager: NetworkManager) -> BerthError {
            guard let live = try? manager.endpoints(network: network).map(\.id),
                  let containers = try? Container.list(manager: manager) else { return error }
            return naming(error, network: network, endpoints: live, containers: containers)
        }

        /// `namingContainers` from what it read: the ids of the endpoints attached to
        /// `network` and every container.
        static func naming(_ error: BerthError, network: String, endpoints: [String], containers: [ContainerRecord]) -> BerthError {
            guard !endpoints.isEmpty else { return error }
            let attached = Set(endpoints)
            let owners = containers.filter { $0.network == network && $0.endpointID.map(attached.contains) == true }
            let owned = Set(owners.compactMap(\.endpointID))
            let plain = endpoints.filter { !owned.contains($0) }.map { EndpointShortID.display($0) }
            // A container whose supervisor is gone (killed before it released the network,
            // or orphaned while its command runs) is not stopped by 'berth stop': gc is what
            // stops and releases it, as 'berth check' says.
            let names = owners.filter(\.isActive).map(\.name).sorted()
            let stale = owners.filter { !$0.isActive }.map(\.name).sorted()
            // At most 5 named in a command; the rest are in `berth ps`.
            func list(_ items: [String]) -> String { items.prefix(5).joined(separator: " ") }
            let more = "; see 'berth ps -a --network \(network)' for the rest"
            var message = "network \(network)"
            var advice: [String] = []
            if !plain.isEmpty {
                let shown = plain.prefix(5).joined(separator: ", ") + (plain.count > 5 ? " and \(plain.count - 5) more" : "")
                message += " has \(plain.count) endpoint\(plain.count == 1 ? "" : "s") attached: \(shown)"
                advice.append("detach \(plain.count == 1 ? "it" : "them") first with 'berth detach \(list(plain))'"
                              + (plain.count > 5 ? more : ""))
            }
            if !names.isEmpty {
                message += (plain.isEmpty ? " is" : " and is") + " used by running container\(names.count == 1 ? "" : "s") \(names.joined(separator: ", "))"
                let them = names.count == 1 ? "it" : "them"
                advice.append("stop \(them) first with 'berth stop \(list(names))', or remove \(them) with 'berth rm -f \(list(names))'" + (names.count > 5 ? more : ""))
            }
            if !stale.isEmpty {
                let verb = plain.isEmpty && names.isEmpty ? " is" : " and is"
                message += verb + " held by container\(stale.count == 1 ? "" : "s") \(stale.prefix(5).joined(separator: ", "))"
                    + (stale.count > 5 ? " and \(stale.count - 5) more" : "") + " whose supervisor is gone"
                advice.append("'berth gc' stops \(stale.count == 1 ? "it" : "them") and releases the network")
            }
            return BerthError(error.code, message, hint: advice.joined(separator: "; "),
                              object: error.object, operation: error.operation)
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove every network that has no endpoints and no container, except the default network 'berth'.",
            discussion: """
                As 'docker network prune', which never removes its predefined networks: asks for confirmation on stderr and reads \
                the answer from stdin (y or yes goes on; anything else, or no answer, removes nothing) unless --force. \
                Prints the names of the networks removed.
                """)
        @Flag(name: .shortAndLong, help: "Do not ask for confirmation.") var force = false
        @OptionGroup var state: StateOption

        /// Docker's question, word for word.
        static let question = "WARNING! This will remove all custom networks not used by at least one container.\n"
            + "Are you sure you want to continue? [y/N] "

        /// Goes on past a network that cannot be removed: each error is printed, and berth
        /// exits 1 at the end if any failed.
        func run() throws {
            guard force || Confirmation.ask(Self.question) else {
                Output.error("network prune cancelled: nothing was removed (answer y to remove, or pass -f)")
                return
            }
            let manager = try state.manager()
            // A container that is not running still names its network: it needs it to start.
            let used = Set(try Container.list(manager: manager).map(\.network))
            let report = try manager.pruneNetworks(keeping: used)
            for name in report.removed { print(name) }
            for error in report.failures { Output.error(CLIHints.message(for: error)) }
            if !report.failures.isEmpty { Output.terminate(status: 1) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List networks.", aliases: ["list"])
        @Flag(name: .shortAndLong, help: "Print only the networks' names, one a line (as docker network ls -q).") var quiet = false
        @OptionGroup var output: JSONOption
        @OptionGroup var state: StateOption

        func validate() throws {
            if quiet && output.json { throw ValidationError("--quiet and --json exclude each other") }
        }

        func run() throws {
            // Nothing recorded yet (a fresh machine): the empty list.
            guard let manager = try state.recordedManager() else {
                if quiet { return }
                if output.json { Output.json(.array([])) } else { Output.table(Self.header, []) }
                return
            }
            let networks = try manager.networks()
            if quiet {
                for network in networks { print(network.name) }
                return
            }
            let counts = try manager.endpointCounts()
            if output.json {
                Output.json(.array(networks.map { NetworkJSON.network($0, endpoints: counts[$0.name] ?? 0) }))
            } else {
                Output.table(Self.header, Self.rows(networks, counts: counts))
            }
            // What to do about a network whose create or removal did not finish, on stderr:
            // stdout stays the table (or the JSON) alone.
            for network in networks {
                if let line = CLIHints.unfinished(network: network.name, phase: network.phase) { Output.error(line) }
            }
        }

        static let header = ["NAME", "BRIDGE", "SUBNET", "GATEWAY", "ENDPOINTS", "INTERNAL", "STATUS"]

        /// A dual-stack network shows both families, IPv4 first, comma-separated; an
        /// IPv6-only one its IPv6 subnet and gateway alone. STATUS is the network's phase:
        /// `ready`, or `creating`/`removing` for one whose create or removal did not finish.
        static func rows(_ networks: [NetworkRecord], counts: [String: Int]) -> [[String]] {
            networks.map {
                [$0.name, $0.bridge.rawValue, [$0.subnet?.description, $0.ipv6Subnet?.description].compactMap { $0 }.joined(separator: ","),
                 [$0.gateway?.description, $0.ipv6Gateway?.description].compactMap { $0 }.joined(separator: ","),
                 "\(counts[$0.name] ?? 0)", $0.isInternal ? "yes" : "no", $0.phase.rawValue]
            }
        }
    }

    /// `berth network inspect NAME...`: as `berth inspect` (and `docker network inspect`),
    /// each network found is shown, a name that matches none is reported on stderr after
    /// them, and the exit status is then 1. `--json` is one array of them whatever their
    /// number, as `docker network inspect` and `berth inspect` print, so a script reads the
    /// same shape for one name or several; the text is a block a network, a blank line apart.
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show networks and their endpoints.")
        @Argument(help: "The network names.") var names: [String]
        @OptionGroup var output: JSONOption
        @OptionGroup var state: StateOption

        func run() throws {
            let manager = try state.existingManager()
            var found: [JSON] = []
            var printed = false
            var failures: [BerthError] = []
            for name in names {
                do throws(BerthError) {
                    let network = try manager.network(named: name)
                    let endpoints = try manager.endpoints(network: name)
                    if output.json {
                        found.append(.object(NetworkJSON.fields(network) + [("endpoints", .array(endpoints.map(NetworkJSON.endpoint)))]))
                        // As `ls --json`: stdout stays the JSON alone, the advice goes to stderr.
                        if let line = CLIHints.unfinished(network: network.name, phase: network.phase) { Output.error(line) }
                    } else {
                        if printed { Swift.print("") }
                        Self.print(network, endpoints: endpoints)
                        printed = true
                    }
                } catch {
                    failures.append(error)
                }
            }
            if output.json { Output.json(.array(found)) }
            for failure in failures { Output.error(CLIHints.message(for: failure)) }
            if !failures.isEmpty { Output.terminate(status: 1) }
        }

        static func print(_ network: NetworkRecord, endpoints: [EndpointRecord]) {
            for line in lines(network, endpointCount: endpoints.count) { Swift.print(line) }
            if let line = CLIHints.unfinished(network: network.name, phase: network.phase) { Output.error(line) }
            if !endpoints.isEmpty {
                Swift.print("")
                EndpointTable.print(endpoints)
            }
        }

        /// The network's `Key:  value` lines, the values in one column.
        static func lines(_ network: NetworkRecord, endpointCount: Int) -> [String] {
            let rows: [(String, String)] = [
                ("Name", network.name), ("Id", network.id),
                ("Bridge", network.bridge.rawValue + (network.bridgeAdopted ? " (existing, not made by Berth)" : "")),
                ("Bridge MAC", network.bridgeMAC.map(\.description) ?? "its owner's"),
            ] + (network.ipv4.map { ipv4 in [("Subnet", "\(ipv4.subnet)"), ("Gateway", "\(ipv4.gateway)")] } ?? [])
              + (network.ipv6Subnet.map { subnet in [("IPv6 subnet", "\(subnet)"), ("IPv6 gateway", network.ipv6Gateway.map(\.description) ?? "")] } ?? [])
              + [network.ipRange.map { ("IP range", "\($0)") }, network.ipv6Range.map { ("IPv6 range", "\($0)") }].compactMap { $0 }
              + network.auxiliaryAddresses.sorted { $0.key < $1.key }.map { ("Aux address", "\($0.key)=\($0.value)") } + [
                ("MTU", "\(network.mtu)"),
                ("Internal", network.isInternal ? "yes" : "no"), ("Endpoints", "\(endpointCount)"),
                ("Status", network.phase.rawValue),
            ]
            // Values in one column: 13, or further when a longer key ("IPv6 gateway") needs it.
            let column = max(13, (rows.map(\.0.count).max() ?? 0) + 2)
            return rows.map { key, value in key + ":" + String(repeating: " ", count: column - key.count - 1) + value }
        }
    }
}

extension NetworkCommand {
    /// A word after `berth network create|rm|inspect` that begins with '-' and is none of
    /// the command's options: argument-parser would read it as options (`-h2` even as a
    /// request for help, exit 0), while the user most likely meant a network name — which
    /// cannot begin with '-'. Returns the message to print, or nil when all is well.
    static func dashedName(in arguments: [String]) -> String? {
        guard arguments.count >= 3, arguments[0] == "network" else { return nil }
        let command = arguments[1]
        let values: Set<String>
        var flags: Set<String> = ["-h", "--help", "--version", "--internal", "--bridge-existing", "--json", "--ipv6"]
        switch command {
        case "create":
            values = ["--subnet", "--gateway", "--ip-range", "--aux-address", "--bridge", "--mtu", "--ipv4", "--dns", "--dns-upstream", "-o", "--opt",
                      "-d", "--driver", "--state-dir"]
        case "rm", "remove", "del":
            values = ["--state-dir"]
            flags.formUnion(["-f", "--force"])
        case "inspect": values = ["--state-dir"]
        default: return nil
        }
        var index = 2
        while index < arguments.count {
            let word = arguments[index]
            if word == "--" { return nil }
            if values.contains(word) {
                index += 2
                continue
            }
            let option = word.split(separator: "=", maxSplits: 1).first.map(String.init) ?? word
            // `-obridge.name=x`, `-dbridge`: a short option with its value joined, as docker's.
            let joinedShort = !word.hasPrefix("--") && word.count > 2 && values.contains(String(word.prefix(2)))
            // `--internal=true`: a flag with a value, which JoinedValues reads (or argument-parser refuses).
            let flagWithValue = word.contains("=") && flags.contains(option)
            if flags.contains(word) || joinedShort || flagWithValue || (word.hasPrefix("--") && word.contains("=") && values.contains(option)) {
                index += 1
                continue
            }
            if word.hasPrefix("-"), word.count > 1 {
                return "\"\(word)\" is not an option of 'berth network \(command)', and network names cannot begin with '-' (they begin with a letter or digit)"
            }
            index += 1
        }
        return nil
    }
}

/// JSON shapes of networks and endpoints, shared by ls, inspect and ps.
enum NetworkJSON {
    static func fields(_ network: NetworkRecord) -> [(String, JSON)] {
        [("name", .string(network.name)), ("id", .string(network.id)), ("bridge", .string(network.bridge.rawValue)),
         ("bridgeMAC", .optional(network.bridgeMAC?.description)), ("bridgeExisting", .bool(network.bridgeAdopted)),
         // null on an IPv6-only network, whose "ipv4" is false (Docker's EnableIPv4).
         ("ipv4", .bool(network.hasIPv4)), ("ipv6", .bool(network.hasIPv6)),
         ("subnet", .optional(network.subnet?.description)), ("gateway", .optional(network.gateway?.description)),
         ("ipv6Subnet", .optional(network.ipv6Subnet?.description)), ("ipv6Gateway", .optional(network.ipv6Gateway?.description)),
         // Docker's IPAM config IPRange and AuxiliaryAddresses (null and {} when not given).
         ("ipRange", .optional(network.ipRange?.description)), ("ipv6Range", .optional(network.ipv6Range?.description)),
         ("auxiliaryAddresses", .object(network.auxiliaryAddresses.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value.description)) })),
         ("mtu", .int(network.mtu)), ("internal", .bool(network.isInternal)), ("created", .int(network.created)),
         // "ready", or "creating"/"removing" for a network whose create or removal did not
         // finish (nothing attaches to it; gc or a removal finishes it).
         ("status", .string(network.phase.rawValue))]
    }

    static func network(_ network: NetworkRecord, endpoints: Int) -> JSON {
        .object(fields(network) + [("endpoints", .int(endpoints))])
    }

    static func endpoint(_ endpoint: EndpointRecord) -> JSON {
        .object([
            ("id", .string(endpoint.id)), ("network", .string(endpoint.network)), ("netns", .string(endpoint.namespacePath)),
            ("ifname", .string(endpoint.interfaceName.rawValue)), ("hostVeth", .string(endpoint.hostVeth.rawValue)),
            ("ip", .optional(endpoint.address?.description)), ("ip6", .optional(endpoint.ipv6Address?.description)),
            ("mac", .string("\(endpoint.mac)")), ("created", .int(endpoint.created)),
            ("ports", .array(PortOrder.sorted(endpoint.ports, specs: []).map(port))),
        ])
    }

    /// A publication in `berth ps --json`: an endpoint's keys that it has, and
    /// `"publication": true`.
    static func publication(_ publication: PublicationRecord) -> JSON {
        .object([
            ("id", .string(publication.id)), ("network", .string(publication.group)), ("netns", .string(publication.namespacePath)),
            ("ip", .optional(publication.address?.description)), ("ip6", .optional(publication.ipv6Address?.description)),
            ("created", .int(publication.created)), ("ports", .array(publication.ports.map(port))), ("publication", .bool(true)),
        ])
    }

    static func port(_ port: PortMappingRecord) -> JSON {
        .object([("protocol", .string(port.key.proto.rawValue)), ("hostIP", .string("\(port.key.hostAddress)")),
                 ("hostPort", .int(port.key.hostPort)), ("containerPort", .int(port.containerPort))])
    }
}
