import ArgumentParser
import Berth
import BerthLab

/// `berth attach`: joins a network namespace to a network and prints the endpoint id.
struct AttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "attach", abstract: "Attach a network namespace to a network.")
    @Argument(help: "The network.") var network: String
    @Option(help: ArgumentHelp("The namespace: a name from /run/netns or a path such as /proc/PID/ns/net.", valueName: "NS")) var netns: String
    @Option(help: "The endpoint id (default: 64 random hex digits).") var id: String?
    @Option(help: ArgumentHelp("A static address in the network's subnet, inside its --ip-range or not, never one of its --aux-address (default: the lowest free one of its --ip-range, else of its subnet).", valueName: "IP")) var ip: String?
    @Option(help: ArgumentHelp("A static IPv6 address in a dual-stack network's IPv6 subnet (default: the lowest free one of its IPv6 --ip-range, else of its IPv6 subnet).", valueName: "IP")) var ip6: String?
    @Option(help: "The interface's MAC address (default: 02:42 and the four octets of its IP).") var mac: String?
    @Option(help: "The interface name inside the namespace.") var ifname = "eth0"
    @Option(name: [.customShort("p", allowingJoined: true), .customLong("publish")],
            help: ArgumentHelp("Publish a container port on the host, as docker run -p: [HOSTIP:][HOSTPORT[-END]:]CONTAINERPORT[-END][/tcp|udp|sctp], or published=HOSTPORT,target=CONTAINERPORT[,protocol=udp].", valueName: "SPEC"))
    var publish: [String] = []
    @Option(help: "The endpoint's name, which the network's other endpoints resolve (networks with DNS on).") var name: String?
    @Option(help: "Another name for the endpoint; repeatable.") var alias: [String] = []
    @OptionGroup var state: StateOption

    func run() throws {
        try HotPath.Attach(network: network, netns: netns, id: id, ip: ip, ip6: ip6, mac: mac, ifname: ifname, publish: publish,
                           stateDir: state.stateDir, name: name, aliases: alias).perform()
    }
}

/// `berth detach`: undoes an attach. Idempotent.
struct DetachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detach", abstract: "Detach an endpoint (succeeds if it is already gone).",
        discussion: "An endpoint is named by its id, or a generated id by 12 or more of its first hex digits (as 'berth ps' shows it). A running container's endpoint is refused: 'berth stop' detaches it.")
    @Argument(help: "Endpoint ids (or a generated id's first 12 or more hex digits).") var ids: [String]
    @OptionGroup var state: StateOption

    func run() throws {
        try HotPath.Detach(ids: ids, stateDir: state.stateDir).perform()
    }
}

/// `berth ps`: the running containers (all with `-a`), then the endpoints that belong to no
/// container and the publications (ports Berth forwards to an address another program
/// wired: berth-cni's chained mode).
struct PsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List containers and endpoints.")
    @Flag(name: [.customShort("a"), .customLong("all")], help: "Show every container, stopped ones too (by default only running ones).")
    var everyContainer = false
    @Flag(name: [.customShort("q"), .customLong("quiet")], help: "Print only container ids (every container's with -a), one a line, as 'docker ps -q'.")
    var quiet = false
    @Option(help: "Only containers and endpoints of this network, or the publications of this group (berth-cni's chained network).") var network: String?
    @OptionGroup var output: JSONOption
    @OptionGroup var state: StateOption

    func validate() throws {
        if quiet && output.json { throw ValidationError("--quiet and --json exclude each other") }
    }

    func run() throws {
        // Nothing recorded yet (a fresh machine): the empty list; a --network names no
        // network then, said as the state's own lookup says it.
        guard let manager = try state.recordedManager() else {
            if let network {
                throw BerthError(.notFound, "no network named \"\(network)\"", object: .network(network), remedy: .listExisting(.network))
            }
            if quiet { return }
            if output.json { Output.json(.array([])) } else { ContainerTable.print([], endpoints: [:]) }
            return
        }
        let publications = try manager.publications(group: network)
        // An unknown network is an error, not an empty list; a publication group, which
        // the NETWORK column shows too, is known (berth-cni's chained network).
        if let network, publications.isEmpty { _ = try manager.network(named: network) }
        let all = try manager.endpoints(network: network)
        let containers = try Container.list(manager: manager).filter { container in
            (network == nil || container.network == network)
                && (everyContainer || container.status == .running || container.status == .restarting || (container.status != .exited && !container.isSupervised))
        }
        let byID = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        // A lab node's container owns its node's endpoint too: its ports show on its row.
        let owned = Set(containers.compactMap { ContainerTable.endpoint(of: $0, in: byID)?.id })
        let endpoints = all.filter { !owned.contains($0.id) }
        if quiet {
            // Docker's short ids, so that `berth rm -f $(berth ps -aq)` reads them back.
            for container in containers { print(container.id.prefix(12)) }
        } else if output.json {
            // Each row says what it is: "kind" is "container", "endpoint" or "publication".
            Output.json(.array(containers.map { ContainerTable.json($0, endpoint: ContainerTable.endpoint(of: $0, in: byID)) }
                               + endpoints.map { Self.kind("endpoint", NetworkJSON.endpoint($0)) }
                               + publications.map { Self.kind("publication", NetworkJSON.publication($0)) }))
        } else {
            // With nothing at all, Docker's container header; endpoints of other tools after.
            let others = endpoints.count + publications.count
            if !containers.isEmpty || others == 0 { ContainerTable.print(containers, endpoints: byID) }
            if !containers.isEmpty, others > 0 { print("") }
            if others > 0 { EndpointTable.print(endpoints, publications: publications) }
        }
    }

    /// `row` with `"kind": kind` first, as a container's row has it.
    static func kind(_ kind: String, _ row: JSON) -> JSON {
        guard case .object(let members) = row else { return row }
        return .object([("kind", .string(kind))] + members)
    }
}

enum EndpointTable {
    /// Publications are rows too, their group as the network: a chained berth-cni
    /// attachment shows its addresses (both families) and ports as an endpoint does.
    static func print(_ endpoints: [EndpointRecord], publications: [PublicationRecord] = []) {
        // A dual-stack endpoint shows both addresses, IPv4 first, comma-separated.
        Output.table(["ID", "NETWORK", "NETNS", "IP", "PORTS"], endpoints.map {
            [EndpointShortID.display($0.id), $0.network, $0.namespacePath, $0.addresses.map(\.description).joined(separator: ","), ports($0)]
        } + publications.map {
            [EndpointShortID.display($0.id), $0.group, $0.namespacePath, $0.addresses.map(\.description).joined(separator: ","), PortsColumn.text($0.ports)]
        })
    }

    /// Docker's PORTS column: `0.0.0.0:8080->80/tcp, 127.0.0.1:8000-8009->8000-8009/tcp`.
    static func ports(_ endpoint: EndpointRecord) -> String {
        PortsColumn.text(endpoint.ports)
    }
}

/// `berth port NAME|ID`: a container's or an endpoint's published ports, as `docker port`
/// lists them. A container's name comes first, then an endpoint's full id, then a
/// container's id or id prefix (as rm, stop and logs take it), then a generated endpoint id's
/// first 12 or more hex digits. A container that is not running has no endpoint, and no
/// ports to list. With `PRIVATE_PORT[/PROTO]` (tcp unless said), as `docker port`: only the
/// host addresses that port is published on, and an error when it is published on none.
struct PortCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "port", abstract: "List a container's or an endpoint's published ports.")
    @Argument(help: "A container name or id, or an endpoint id (a generated one by its first 12 or more hex digits).") var id: String
    @Argument(help: ArgumentHelp("Only this container port, such as 80 or 53/udp (tcp unless said); prints its host addresses alone.",
                                 valueName: "PRIVATE_PORT[/PROTO]"))
    var privatePort: String?
    @OptionGroup var output: JSONOption
    @OptionGroup var state: StateOption

    func validate() throws {
        if let privatePort, Self.filter(privatePort) == nil {
            throw ValidationError("invalid port \"\(privatePort)\": give PORT or PORT/PROTO, such as 80 or 53/udp (PROTO: tcp, udp or sctp)")
        }
    }

    func run() throws {
        var ports = try Self.ports(of: id, manager: state.existingManager())
        if let privatePort, let wanted = Self.filter(privatePort) {
            let (port, proto) = wanted
            ports = ports.filter { $0.containerPort == port && $0.key.proto == proto }
            guard !ports.isEmpty else {
                throw BerthError(.notFound, "no public port '\(port)/\(proto)' published for \(id)",
                                 hint: "see 'berth port \(id)' for the ports it publishes", object: .port("\(port)/\(proto)"))
            }
        }
        if output.json {
            Output.json(.array(ports.map(NetworkJSON.port)))
        } else if privatePort != nil {
            for port in ports { print(port.hostEndpoint) }
        } else {
            for port in ports { print("\(port.containerPort)/\(port.key.proto) -> \(port.hostEndpoint)") }
        }
    }

    /// `80` or `80/udp`: a container port (1-65535) and its protocol, tcp unless said.
    static func filter(_ text: String) -> (port: UInt16, proto: TransportProtocol)? {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let port = UInt16(parts[0]), port > 0 else { return nil }
        guard parts.count == 2 else { return (port, .tcp) }
        guard let proto = TransportProtocol(rawValue: String(parts[1]).lowercased()) else { return nil }
        return (port, proto)
    }

    static func ports(of name: String, manager: NetworkManager) throws(BerthError) -> [PortMappingRecord] {
        let containers = try Container.list(manager: manager)
        let endpoint = { (id: String) throws(BerthError) -> EndpointRecord? in try manager.endpoint(id: id) }
        var container = containers.first { $0.name == name }
        if container == nil, let exact = try endpoint(name) { return PortOrder.sorted(exact.ports, specs: []) }
        if container == nil {
            do throws(BerthError) {
                container = try Container.find(name, manager: manager)
            } catch where error.code == .notFound {
                // Not a container: an endpoint's short id, or nothing.
            }
        }
        if let container { return PortOrder.sorted(try container.endpointID.flatMap(endpoint)?.ports ?? [], specs: container.options?.ports ?? []) }
        do throws(BerthError) {
            return PortOrder.sorted(try manager.endpoint(name, acceptingShortID: true).ports, specs: [])
        } catch where error.code == .notFound {
            throw BerthError(.notFound, "no container or endpoint \"\(name)\"", object: .endpoint(name), remedy: .listExisting(.container))
        }
    }
}

/// `berth check [ID]`: every recorded object exists in the kernel.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check", abstract: "Check that recorded networks, endpoints and labs exist in the kernel.")
    @Argument(help: "Only this endpoint.") var id: String?
    @OptionGroup var state: StateOption

    func run() throws {
        // Nothing recorded yet (a fresh machine): nothing to find wrong.
        guard let manager = id == nil ? try state.recordedManager() : try state.existingManager() else {
            print("ok")
            return
        }
        let problems = try manager.check(id: id, acceptingShortID: true)
        // Labs too (BerthLab, no YAML): crashed ups, missing nodes, tagged leftovers.
        let labProblems = id == nil ? try LabManager(manager: manager).check() : []
        // Running containers whose endpoint is gone (detached behind berth's back): cut off.
        let cutOff = id == nil ? try Self.containersWithoutEndpoint(manager: manager) : []
        // Containers whose supervisor died (`ps` says Orphaned): gc reaps them.
        let orphans = id == nil ? Self.orphaned(try Container.list(manager: manager)) : []
        if problems.isEmpty, labProblems.isEmpty, cutOff.isEmpty, orphans.isEmpty {
            print("ok")
            return
        }
        // Each network problem with the command that repairs it; lab problems name theirs.
        for problem in problems { Output.error("\(problem) (\(CLIHints.repair(problem)))") }
        for problem in labProblems { Output.error(problem.description) }
        for container in cutOff {
            Output.error("container \(container.name) runs without its endpoint \(EndpointShortID.display(container.endpointID ?? "")): it is cut off from network \(container.network) (restart it with 'berth restart \(container.name)')")
        }
        for container in orphans { Output.error(Self.orphanLine(container)) }
        var advice: [String] = []
        if labProblems.contains(where: \.collectable) { advice.append("'berth gc' removes lab leftovers and finishes crashed labs") }
        if labProblems.contains(where: { !$0.collectable }) { advice.append("'berth lab up FILE' restores a lab") }
        let count = problems.count + labProblems.count + cutOff.count + orphans.count
        let total = Counted.text(count, "problem") + " found"
        Output.error(advice.isEmpty ? total : "\(total) (\(advice.joined(separator: "; ")))")
        Output.terminate(status: 1)
    }
}

extension CheckCommand {
    /// The containers `ps` shows as Orphaned: not exited, and their supervisor is gone, so
    /// nothing reaps the command or releases the endpoint until `gc` (or a stop, start or
    /// removal of the container) does.
    static func orphaned(_ containers: [ContainerRecord]) -> [ContainerRecord] {
        containers.filter { $0.status != .exited && !$0.isSupervised }
    }

    /// `check`'s line for an orphaned container, with the command that reaps it.
    static func orphanLine(_ container: ContainerRecord) -> String {
        let supervisor = container.supervisor.map { " (process \($0.pid))" } ?? ""
        return "container \(container.name) is orphaned: its supervisor\(supervisor) is gone, so nothing reaps its command or releases its network "
            + (container.options?.autoRemove == true ? "(run 'berth gc' to stop it; it was run with --rm, so that removes it)"
                : "(run 'berth gc' to stop it; it is kept, exited, for 'berth rm')")
    }

    /// Running containers (under a live supervisor) whose recorded endpoint the state no longer has.
    static func containersWithoutEndpoint(manager: NetworkManager) throws(BerthError) -> [ContainerRecord] {
        let containers = try Container.list(manager: manager).filter { $0.status == .running && $0.endpointID != nil && $0.isSupervised }
        guard !containers.isEmpty else { return [] }
        let endpoints = Set(try manager.endpoints().map(\.id))
        return containers.filter { !endpoints.contains($0.endpointID ?? "") }
    }
}

/// `berth gc`: removes leftovers of crashes and vanished containers.
struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gc", abstract: "Remove endpoints whose namespace is gone, Berth objects the state does not know, and what crashed labs left.")
    @OptionGroup var state: StateOption

    /// The line for a lab garbage collection that failed, worded as every other error.
    static func labFailure(_ error: any Error) -> String {
        "lab garbage collection failed: " + ((error as? BerthError).map { CLIHints.message(for: $0) } ?? "\(error)")
    }

    /// The line for an orphaned container (or its cgroup) that could not be released.
    static func containerFailure(_ failure: Container.OrphanFailure) -> String {
        let what = failure.container.map { "could not release orphaned container \($0)" } ?? "could not release orphaned containers"
        return what + ": " + CLIHints.message(for: failure.error) + " (kept; 'berth gc' tries again)"
    }

    func run() throws {
        let manager = try state.manager()
        // Containers first: their supervisor's death leaves a command to kill and an endpoint to
        // detach. One that cannot be released is reported, and the rest of gc still runs.
        let orphans = Container.collectOrphans(manager: manager)
        let containers = orphans.handled
        for container in containers { print("stopped orphaned container \(container.name)") }
        for failure in orphans.failures { Output.error(Self.containerFailure(failure)) }
        // Then labs (BerthLab, no YAML): crashed ups finished, tagged leftovers removed. A
        // crashed converge may restart a run node's container, under berth's own supervisor.
        // A lab gc that fails (its lock, its tables) is reported, and the rest of gc still runs.
        var labs = LabGarbageReport()
        var labFailure = false
        do {
            labs = try LabManager(manager: manager, supervisor: RunCommand.entry).collectGarbage()
        } catch {
            Output.error(Self.labFailure(error))
            labFailure = true
        }
        for line in labs.lines { print(line) }
        let report = try manager.gc()
        for id in report.endpoints { print("removed endpoint \(id)") }
        for network in report.networks { print("removed network \(network) (its create or removal had been interrupted)") }
        for link in report.links { print("removed link \(link)") }
        for object in report.firewallObjects { print("removed \(object)") }
        if let resolver = report.resolver { print("stopped \(resolver)") }
        // Kept: not known to be gone (no permission to open the namespace, a resource limit).
        for unchecked in report.unchecked { Output.error(CLIHints.kept(unchecked)) }
        // Kept: a step of their teardown failed; the rest was collected all the same.
        for failure in report.failed { Output.error("could not remove \(failure) (kept; 'berth check' shows what is left of it, and 'berth gc' tries again)") }
        if report.isEmpty, report.failed.isEmpty, containers.isEmpty, orphans.failures.isEmpty, labs.isEmpty, !labFailure { print("nothing to remove") }
        // A crashed lab up that could not be finished stays for 'berth lab check' and the next gc.
        if labFailure || labs.hasFailures || !orphans.failures.isEmpty || !report.unchecked.isEmpty || !report.failed.isEmpty { throw ExitCode(1) }
    }
}

/// `berth reconcile`: restores Berth's kernel objects from the state.
struct ReconcileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconcile",
        abstract: "Re-apply bridges, guards, masquerade rules and published ports from the state (after 'nft flush ruleset' or a firewall reload).")
    @OptionGroup var state: StateOption

    func run() throws {
        let report = try state.manager().reconcile()
        for problem in report.restored {
            // "restored network web: bridge br0", "fixed endpoint e1: veth vb…: not on bridge br0",
            // "removed network lan: rule '…' in chain guard" (a rule the layout no longer calls for)
            let text = problem.description
            if text.hasSuffix(": missing") {
                print("restored " + text.dropLast(": missing".count))
            } else if text.hasSuffix(": stale") {
                print("removed " + text.dropLast(": stale".count))
            } else {
                print("fixed " + text)
            }
        }
        for problem in report.retagged { print("tagged \(problem.description.dropLast(": untagged".count)) with this state's instance") }
        for problem in report.remaining { Output.error("not restored: \(problem) (\(CLIHints.repair(problem)))") }
        for warning in report.warnings { Output.error(CLIHints.warningLine(warning)) }
        if report.isEmpty {
            print("nothing was missing")
        } else if !report.restored.isEmpty {
            print("\(Counted.text(report.restored.count, "object")) restored")
        }
        if !report.remaining.isEmpty { Output.terminate(status: 1) }
    }
}
