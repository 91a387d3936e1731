#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import Berth

/// `berth inspect`: containers' settings and state as a JSON array in `docker inspect`'s
/// shape (its essentials: Id, Name, State, HostConfig, NetworkSettings, Config), from what
/// the container records and the settings it keeps for restarts.
///
/// Like `docker inspect`, a name that matches nothing is reported on stderr after the others
/// print, and the exit status is then 1.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Show containers' settings and state as JSON, as 'docker inspect' does.",
        discussion: "Networks are inspected with 'berth network inspect'.")

    @OptionGroup var names: ContainerNames
    var containers: [String] { names.containers }
    @OptionGroup var state: StateOption


    func run() throws {
        let manager = try state.existingManager()
        let endpoints = Dictionary(try manager.endpoints(network: nil).map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let networks = Dictionary(try manager.networks().map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var found: [JSON] = []
        var failures: [BerthError] = []
        for name in containers {
            do throws(BerthError) {
                let record = try Container.find(name, manager: manager)
                let endpoint = record.endpointID.flatMap { endpoints[$0] }
                found.append(ContainerInspection.json(record, endpoint: endpoint, network: endpoint.flatMap { networks[$0.network] }))
            } catch where error.code == .notFound {
                failures.append(Self.notAContainer(name, endpoints: endpoints, networks: networks) ?? error)
            } catch {
                failures.append(error)
            }
        }
        Output.json(.array(found))
        for failure in failures { Output.error(CLIHints.message(for: failure)) }
        if !failures.isEmpty { Output.terminate(status: 1) }
    }
}

extension InspectCommand {
    /// The refusal of a name that is no container but a network or an endpoint (its id, or a
    /// generated id's short form), saying where that is shown; nil when it is neither.
    /// `docker inspect` takes networks too; berth's networks and endpoints are inspected apart.
    static func notAContainer(_ name: String, endpoints: [String: EndpointRecord], networks: [String: NetworkRecord]) -> BerthError? {
        if networks[name] != nil {
            return BerthError(.notFound, "no container named \"\(name)\": \(name) is a network",
                              hint: "see 'berth network inspect \(name)'", object: .container(name))
        }
        var endpoint = endpoints[name]
        if endpoint == nil, EndpointShortID.isPrefix(name) {
            let matches = endpoints.values.filter { $0.id.hasPrefix(name) }
            if matches.count == 1 { endpoint = matches.first }
        }
        guard let endpoint else { return nil }
        return BerthError(.notFound, "no container named \"\(name)\": \(name) is an endpoint on network \(endpoint.network), not a container",
                          hint: "see 'berth ps --network \(endpoint.network)' for it, or 'berth network inspect \(endpoint.network)' for its addresses",
                          object: .container(name))
    }
}

/// One container in `docker inspect`'s shape. Unset limits are 0 (and PidsLimit null, Ulimits
/// `[]`; a ulimit's members in Docker's order, Name, Hard, Soft), as Docker shows them (MemorySwap: the effective one, twice Memory unless given); the Name has Docker's leading '/'; times are RFC 3339 in UTC, to the
/// second (what the records hold).
enum ContainerInspection {
    static func json(_ container: ContainerRecord, endpoint: EndpointRecord?, network: NetworkRecord? = nil) -> JSON {
        let command = container.command
        let running = container.status == .running
        var state: [(String, JSON)] = [
            // As Docker's: a restarting container is still Running (Pid 0 between runs).
            ("Status", .string(container.status.rawValue)), ("Running", .bool(running || container.status == .restarting)),
            ("Restarting", .bool(container.status == .restarting)), ("OOMKilled", .bool(container.oomKilled)),
            ("Orphaned", .bool(container.status != .exited && !container.isSupervised)),
            ("Pid", .int(running ? container.process?.pid ?? 0 : 0)), ("ExitCode", .int(container.exitCode ?? 0)),
        ]
        if let started = container.started { state.append(("StartedAt", .string(timestamp(started)))) }
        if let finished = container.finished { state.append(("FinishedAt", .string(timestamp(finished)))) }
        return .object([
            ("Id", .string(container.id)), ("Created", .string(timestamp(container.created))),
            ("Path", .string(command.first ?? "")), ("Args", .array(command.dropFirst().map(JSON.string))),
            ("State", .object(state)), ("Name", .string("/" + container.name)), ("RestartCount", .int(container.restartCount)),
            ("HostConfig", hostConfig(container.options)),
            ("Config", config(container)),
            ("NetworkSettings", networkSettings(container, endpoint: endpoint, network: network)),
        ])
    }

    static func hostConfig(_ options: RunOptions?) -> JSON {
        guard let options else { return .null }
        let limits = options.limits
        let process = options.process
        let capabilities = process.confinement.capabilities
        let added = capabilities.members.filter { !CapabilitySet.docker.contains($0) }
        let dropped = CapabilitySet.docker.members.filter { !capabilities.contains($0) }
        let names = { (list: [Capability]) -> JSON in list.isEmpty ? .null : .array(list.map { .string($0.description) }) }
        var security: [JSON] = []
        if process.confinement.seccomp == nil, !process.privileged { security.append(.string("seccomp=unconfined")) }
        if process.confinement.noNewPrivileges { security.append(.string("no-new-privileges")) }
        let swap: JSON = switch limits.effectiveMemorySwap {
        case nil: .int(0)
        case .unlimited: .int(-1)
        case .total(let bytes): .int(bytes)
        }
        let (policy, retries): (String, Int) = switch options.restart {
        case .no: ("no", 0)
        case .always: ("always", 0)
        case .unlessStopped: ("unless-stopped", 0)
        case .onFailure(let count): ("on-failure", count ?? 0)
        }
        var members: [(String, JSON)] = [
            ("Binds", process.mounts.isEmpty ? .null : .array(process.mounts.map { .string($0.description) })),
            ("NetworkMode", .string("\(options.network)")),
            ("PortBindings", portBindings(options.ports)),
            ("RestartPolicy", .object([("Name", .string(policy)), ("MaximumRetryCount", .int(retries))])),
            ("AutoRemove", .bool(options.autoRemove)),
            ("CapAdd", names(added)), ("CapDrop", names(dropped)),
            ("Privileged", .bool(process.privileged)), ("ReadonlyRootfs", .bool(process.readOnlyRootfs)),
            ("SecurityOpt", security.isEmpty ? .null : .array(security)),
            ("Memory", .int(limits.memory ?? 0)), ("MemorySwap", swap), ("NanoCpus", .int(limits.nanoCPUs ?? 0)),
            ("CpuShares", .int(limits.cpuShares ?? 0)), ("CpusetCpus", .string(limits.cpusetCPUs.map { "\($0)" } ?? "")),
            ("CpusetMems", .string(limits.cpusetMems.map { "\($0)" } ?? "")), ("PidsLimit", limits.pids.map { .int($0) } ?? .null),
            ("Ulimits", .array(process.ulimits.map { .object([("Name", .string($0.name)), ("Hard", .int($0.hard)), ("Soft", .int($0.soft))]) })),
        ]
        // Docker's `Init *bool` (omitempty), HostConfig's last member: true with --init, absent otherwise.
        if process.initProcess { members.append(("Init", .bool(true))) }
        return .object(members)
    }

    /// The `-p` specs as Docker's `HostConfig.PortBindings` (a `nat.PortMap`): by
    /// "PORT/PROTO", keys in byte order (as Go writes a map), each a list of
    /// `{"HostIp", "HostPort"}` — "" for every address or no host port given; a range of
    /// container ports mapped pairwise, one key each; a host range for one container port
    /// kept as "FIRST-LAST". `{}` with none.
    static func portBindings(_ specs: [PortSpec]) -> JSON {
        var bindings: [String: [JSON]] = [:]
        for spec in specs {
            let address = spec.hostAddress.map { "\($0)" } ?? ""
            for (offset, port) in spec.containerPorts.ports.enumerated() {
                let host: String = if let hosts = spec.hostPorts {
                    spec.containerPorts.isSinglePort ? "\(hosts)" : "\(Int(hosts.start) + offset)"
                } else {
                    ""
                }
                bindings["\(port)/\(spec.protocol)", default: []].append(.object([("HostIp", .string(address)), ("HostPort", .string(host))]))
            }
        }
        return .object(bindings.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { ($0, .array(bindings[$0] ?? [])) })
    }

    /// StopSignal and StopTimeout only when `run` was given them, as Docker omits them.
    static func config(_ container: ContainerRecord) -> JSON {
        let process = container.options?.process
        var members: [(String, JSON)] = [
            ("Hostname", .string(container.hostname)), ("User", .string(process?.user ?? "")),
            ("Env", .array((process?.environment ?? []).map(JSON.string))), ("Cmd", .array(container.command.map(JSON.string))),
            ("WorkingDir", .string(process?.workingDirectory ?? "")), ("Image", .string(container.image)),
            ("OpenStdin", .bool(container.options?.interactive ?? false)), ("Tty", .bool(process?.terminal ?? false)),
        ]
        if let signal = container.options?.stopSignal { members.append(("StopSignal", .string(ContainerSignal.name(of: signal)))) }
        if let timeout = container.options?.stopTimeout { members.append(("StopTimeout", .int(timeout))) }
        return .object(members)
    }

    /// The endpoint while the container has one (a stopped container has no address or
    /// ports). As Docker: the IPv6 members are empty strings and 0 when the network is
    /// IPv4-only.
    static func networkSettings(_ container: ContainerRecord, endpoint: EndpointRecord?, network: NetworkRecord? = nil) -> JSON {
        var ports: [(String, JSON)] = []
        for port in PortOrder.sorted(endpoint?.ports ?? [], specs: container.options?.ports ?? []) {
            let key = "\(port.containerPort)/\(port.proto)"
            let binding = JSON.object([("HostIp", .string("\(port.hostAddress)")), ("HostPort", .string("\(port.hostPort)"))])
            if let index = ports.firstIndex(where: { $0.0 == key }), case .array(let bindings) = ports[index].1 {
                ports[index].1 = .array(bindings + [binding])
            } else {
                ports.append((key, .array([binding])))
            }
        }
        // The network's values only while the container holds an address in it.
        let network = endpoint == nil ? nil : network
        let address6 = network?.ipv6Subnet == nil ? nil : endpoint?.ipv6Address
        return .object([
            // The endpoint it holds: "" once it stopped and released it (its record keeps the
            // id it takes again when started, which names nothing meanwhile); null on `none`.
            ("Network", .string(container.network)), ("EndpointID", container.endpointID == nil ? .optional(endpoint?.id) : .string(endpoint?.id ?? "")),
            // Empty on an IPv6-only network, as Docker's are.
            ("Gateway", .string(network?.gateway.map { "\($0)" } ?? "")),
            ("IPAddress", .string(endpoint?.address.map { "\($0)" } ?? "")), ("IPPrefixLen", .int(network?.subnet?.prefixLength ?? 0)),
            ("IPv6Gateway", .string(address6 == nil ? "" : network?.ipv6Gateway.map { "\($0)" } ?? "")),
            ("GlobalIPv6Address", .string(address6.map { "\($0)" } ?? "")),
            ("GlobalIPv6PrefixLen", .int(address6 == nil ? 0 : network?.ipv6Subnet?.prefixLength ?? 0)),
            ("MacAddress", .string(endpoint.map { "\($0.mac)" } ?? "")),
            ("Ports", .object(ports)),
        ])
    }

    /// `2026-12-01T13:25:58Z`.
    static func timestamp(_ seconds: Int64) -> String {
        var time = time_t(seconds)
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil else { return "" }
        let two = { (value: Int32) in (value < 10 ? "0" : "") + String(value) }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}
