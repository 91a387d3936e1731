import BerthCore

/// Turns `-p` specs into concrete mappings for one endpoint, inside the attach's state
/// transaction: picks free host ports where the spec leaves a choice, and refuses keys that
/// another endpoint, a publication or a host process holds.
///
/// The state check gives the friendly error; the kernel's refusal of a duplicate map
/// element (the elements are *created*, not added) is what makes the check race-free.
struct PortAllocator {
    let transaction: StateTransaction
    let endpointID: String
    /// Where host listeners, local addresses and the ephemeral port range are read.
    let host: HostHandle
    /// Host listeners, read once per protocol and only if some spec needs them (a TCP-only
    /// attach never pays for the UDP dump). A list, not a dictionary: the first dictionary
    /// keyed by a type costs a process a scan of every conformance in the binary.
    private var listeners: [HostListeners] = []
    /// Keys claimed so far in this request, the text of the spec each is for (for
    /// messages), and which protocol, family and port triples those are (the clash check
    /// looks at the keys only when the bit is set).
    private var chosenKeys: [PortKey] = []
    private var chosenSpecs: [String] = []
    private var chosenPorts = PortBitmap()
    /// For a spec of several fixed host ports: the recorded mappings of its protocol in its
    /// host-port range and the publication ports there, each read with one query and sorted by
    /// port, instead of two queries a port.
    private var prefetched: (proto: TransportProtocol, ports: ClosedRange<UInt16>, mappings: [PortMappingRecord],
                             publications: [PortMappingRecord])?

    init(transaction: StateTransaction, endpointID: String, host: HostHandle) {
        self.transaction = transaction
        self.endpointID = endpointID
        self.host = host
    }

    /// Resolves every spec; the result is in spec order, and for a spec published on both
    /// families each IPv4 mapping comes before its IPv6 twin.
    ///
    /// The families follow `destination` (an endpoint's network, or a publication's
    /// addresses): a spec without a host address is published on every address of each
    /// family it has (`0.0.0.0` and, dual-stack, `::`), one with a host address on that
    /// family only — `0.0.0.0:8080:80` stays IPv4, as in Docker.
    /// `localAddresses` gives the host's addresses of a family, asked only for a spec that
    /// names a host address (other than a wildcard or 127.0.0.1).
    ///
    /// Ports are claimed in passes, as Docker sorts exact host ports before ranges: first
    /// every fixed host port (`8000:81`), then one port of each host range (`8000-8010:80`),
    /// then the ephemeral ones (`80`), so that a choice never takes a port that a spec of the
    /// same request names, whatever the order of the specs.
    mutating func resolve(_ specs: [PortSpec], to destination: Destination,
                          localAddresses: (IPFamily) throws(BerthError) -> Set<IPAddress>) throws(BerthError) -> [PortMappingRecord] {
        let specs = Self.mergingDuplicates(specs)
        // A list, not a dictionary keyed by the family (see `listeners`).
        var checkedLocal: [(family: IPFamily, addresses: Set<IPAddress>)] = []
        var addressesOf: [[IPAddress]] = []
        addressesOf.reserveCapacity(specs.count)
        for spec in specs {
            let addresses = try Self.hostAddresses(of: spec, to: destination)
            for address in addresses where !address.isUnspecified && !address.isLoopback {
                let local: Set<IPAddress>
                if let known = checkedLocal.first(where: { $0.family == address.family }) {
                    local = known.addresses
                } else {
                    local = try localAddresses(address.family)
                    checkedLocal.append((address.family, local))
                }
                guard local.contains(address) else {
                    throw .invalid("host address \(address) in published port \(spec) is not an address of this host",
                                   hint: "publish on an address the host has, or leave the address out for every address", parameter: "ports")
                }
            }
            addressesOf.append(addresses)
        }
        // The mappings of each spec, by its index: claimed out of order, returned in order.
        var results = [[PortMappingRecord]](repeating: [], count: specs.count)
        // Pass 1: the fixed host ports.
        for (index, spec) in specs.enumerated() {
            guard let mappings = spec.expand() else { continue }
            let addresses = addressesOf[index]
            let specText = spec.description
            results[index].reserveCapacity(mappings.count * addresses.count)
            chosenKeys.reserveCapacity(chosenKeys.count + mappings.count * addresses.count)
            chosenSpecs.reserveCapacity(chosenKeys.capacity)
            if mappings.count > 1, let low = mappings.map(\.hostPort).min(), let high = mappings.map(\.hostPort).max() {
                prefetched = (spec.protocol, low...high, try transaction.portMappings(proto: spec.protocol, hostPorts: low...high),
                              try transaction.publicationPorts(proto: spec.protocol, hostPorts: low...high))
            }
            for mapping in mappings {
                for address in addresses {
                    results[index].append(try claim(PortKey(proto: mapping.protocol, hostAddress: address, hostPort: mapping.hostPort),
                                                    containerPort: mapping.containerPort, spec: specText))
                }
            }
            prefetched = nil
        }
        // Pass 2: a host port from the range given for one container port (`8080-8081:80`),
        // the first free one, before any ephemeral choice could take a port of the range.
        for (index, spec) in specs.enumerated() where spec.needsHostPortChoice {
            guard let candidates = spec.hostPorts else { continue }
            let range = UInt32(candidates.start)...UInt32(candidates.end)
            guard let port = try firstFree(spec.protocol, addressesOf[index], in: range, randomStart: false) else {
                throw BerthError(.conflict, "no free host port for published port \(spec) in \(range.lowerBound)-\(range.upperBound)",
                                 hint: "free a port in that range or widen it", parameter: "ports")
            }
            let specText = spec.description
            for address in addressesOf[index] {
                results[index].append(try claim(PortKey(proto: spec.protocol, hostAddress: address, hostPort: port),
                                                containerPort: spec.containerPorts.start, spec: specText))
            }
        }
        // Pass 3, as Docker does: a free port of the ephemeral range for each container port
        // of a spec without host ports (`80`, `9000-9002`, `127.0.0.1::53-54/udp`); the same
        // for every family of a container port, and for every address of specs that publish
        // the same container port (`127.0.0.1::80` and `192.0.2.5::80`: one port, free on
        // both; see `SharedChoice`). Each is claimed before the next is chosen, so it is held
        // (`requested(_:)`) and not chosen again.
        let grouped = SharedChoice.groups(specs, addressesOf)
        var shared = grouped.groups
        let groupOf = grouped.of
        var ephemeral: ClosedRange<UInt32>?
        for (index, spec) in specs.enumerated() where spec.hostPorts == nil {
            for (offset, containerPort) in spec.containerPorts.ports.enumerated() {
                let group = groupOf[index][offset]
                // Chosen already, for an earlier member.
                guard !shared[group].claimed else { continue }
                let range = ephemeral ?? ephemeralRange()
                ephemeral = range
                let members = shared[group].members
                guard let port = try firstFree(spec.protocol, shared[group].addresses, in: range, randomStart: true) else {
                    let together = members.count > 1 ? " (one port free on every address of \(members.map { specs[$0].description }.joined(separator: ", ")))" : ""
                    throw BerthError(.conflict, "no free host port for published port \(spec) in \(range.lowerBound)-\(range.upperBound)\(together)",
                                     hint: "free a port in that range or widen it", parameter: "ports")
                }
                for member in members {
                    let memberText = specs[member].description
                    for address in addressesOf[member] {
                        results[member].append(try claim(PortKey(proto: spec.protocol, hostAddress: address, hostPort: port),
                                                         containerPort: containerPort, spec: memberText))
                    }
                }
                shared[group].claimed = true
            }
        }
        // A spec sharing its choices with an earlier one got them in the order of that one's
        // container ports: put each spec's back in its own (each port's families stay in order).
        for index in specs.indices where specs[index].hostPorts == nil && results[index].count > 1 {
            results[index] = results[index].enumerated().sorted { a, b in
                (a.element.containerPort, a.offset) < (b.element.containerPort, b.offset)
            }.map(\.element)
        }
        return results.flatMap { $0 }
    }

    /// The host addresses a spec is published on, one per family (see `resolve`); refuses a
    /// host address no DNAT can serve at `destination` — a wildcard one too: berth-cni's
    /// chained mode skips a wildcard hostIP of a family the container lacks before it
    /// publishes (as portmap does) and refuses a specific one as this does
    /// (`CNIRequest.chainedAddresses`).
    static func hostAddresses(of spec: PortSpec, to destination: Destination) throws(BerthError) -> [IPAddress] {
        let (hasIPv4, hasIPv6) = destination.families
        guard let address = spec.hostAddress else {
            return (hasIPv4 ? [.v4(.any)] : []) + (hasIPv6 ? [.v6(.any)] : [])
        }
        let hostPorts = spec.hostPorts?.description ?? ""
        // The container side of the spec the hints suggest, its protocol kept: a UDP
        // publication suggested without /udp would be a TCP one.
        let target = spec.protocol == .tcp ? spec.containerPorts.description : "\(spec.containerPorts)/\(spec.protocol)"
        guard case .v6(let v6) = address else {
            if !hasIPv4 {
                guard case .network(let network) = destination else {
                    throw .invalid("published port \(spec): IPv4 host address \(address) for a publication to \(destination) only, which has no IPv4 address",
                                   hint: "publish on an IPv6 address of the host, or leave the address out for every IPv6 address", parameter: "ports")
                }
                throw .invalid("published port \(spec): IPv4 host address \(address) on network \(network.name), which is IPv6-only",
                               hint: "publish on an IPv6 address of the host, or leave the address out for every IPv6 address, as in \(hostPorts.isEmpty ? "" : hostPorts + ":")\(target)",
                               parameter: "ports", object: .network(network.name))
            }
            if case .v4(let v4) = address, v4.isLoopback, case .network(let network) = destination, network.bridgeAdopted {
                // The DNATed connection leaves with source 127.0.0.1, which the kernel routes
                // out of a link only with route_localnet, and Berth sets it only on bridges it
                // made: on a LAN bridge it would let the LAN reach the host's loopback services
                // whenever Berth's guard is gone (a flushed ruleset).
                throw .invalid("published port \(spec): \(address) cannot be published on network \(network.name): its bridge \(network.bridge) is not Berth's, and a connection from the host's loopback reaches a container only through a bridge with route_localnet, which Berth sets only on the bridges it makes",
                               hint: "publish on another address of the host, or leave the address out, as in \(hostPorts.isEmpty ? "" : hostPorts + ":")\(target), which answers on the host's addresses (not on 127.0.0.1 on this network)",
                               parameter: "ports", object: .network(network.name))
            }
            if case .v4(let v4) = address, v4.isLoopback, case .publication(let options) = destination, options.hostLink == nil {
                // Same reason: the DNATed connection from 127.0.0.1 leaves only through a link
                // with route_localnet, which a publish sets on its host link, and none is known.
                throw .invalid("published port \(spec): \(address) cannot be published for a publication without a host link: a connection from the host's loopback reaches the container only through a link with route_localnet, which Berth sets on the publication's host link",
                               hint: "name the host-side link the container's address is reached through, or publish on another address of the host, or leave the address out, as in \(hostPorts.isEmpty ? "" : hostPorts + ":")\(target)",
                               parameter: "ports")
            }
            return [address]
        }
        guard hasIPv6 else {
            if v6.isLoopback {
                throw .invalid("published port \(spec): [::1] cannot reach an IPv4-only container",
                               hint: "publish on 127.0.0.1 instead, as in 127.0.0.1:\(hostPorts):\(target)", parameter: "ports")
            }
            guard case .network(let network) = destination else {
                throw .invalid("published port \(spec): IPv6 host address \(address) for a publication to \(destination) only, which has no IPv6 address",
                               hint: "publish on an IPv4 address, or leave the address out; or give the container an IPv6 address", parameter: "ports")
            }
            throw .invalid("published port \(spec): IPv6 host address \(address) on network \(network.name), which is IPv4-only",
                           hint: "publish on an IPv4 address, or leave the address out; or attach to a network with IPv6", parameter: "ports",
                           object: .network(network.name))
        }
        if v6.isLoopback {
            // scripts/facts/ipv6/03-loopback-linklocal.sh: the DNATed packet leaves with
            // source ::1, which the container drops; IPv6 has no route_localnet to allow it.
            throw .invalid("published port \(spec): [::1] cannot be published: the kernel cannot DNAT a connection from ::1 to a container (IPv6 has no route_localnet)",
                           hint: "publish on 127.0.0.1, on an IPv6 address of the host, or on [::] for every IPv6 address, as in [::]:\(hostPorts):\(target)",
                           parameter: "ports")
        }
        if v6.isLinkLocal {
            // A DNATed packet keeps its link-local source, which the kernel never forwards.
            throw .invalid("published port \(spec): link-local address \(address) cannot be published: a connection to it keeps its link-local source, which the kernel never forwards to a container",
                           hint: "publish on a global or unique local IPv6 address of the host, or on [::] for every IPv6 address", parameter: "ports")
        }
        return [address]
    }

    /// `specs` without the exact repeats of an earlier one with fixed host ports (`-p
    /// 8080:80 -p 8080:80`: same host address, host ports, container ports and protocol),
    /// which Docker takes as one. A spec that leaves the host port to choose (`-p 80`,
    /// `0:80`, `8000-8010:80`) asks for a port each time it is given, and specs that differ
    /// in anything but are still refused by `claim` when their keys clash.
    static func mergingDuplicates(_ specs: [PortSpec]) -> [PortSpec] {
        guard specs.count > 1 else { return specs }
        var seen: [PortSpec] = []
        var result: [PortSpec] = []
        result.reserveCapacity(specs.count)
        for spec in specs {
            let fixed = spec.hostPorts.map { $0.start != 0 && $0.count == spec.containerPorts.count } ?? false
            if fixed {
                if seen.contains(spec) { continue }
                seen.append(spec)
            }
            result.append(spec)
        }
        return result
    }

    /// Takes `key` for this endpoint unless another spec of the request, an endpoint or a
    /// host socket holds it, and returns its mapping. `spec` is the request's text, for
    /// messages. (Passing the `PortSpec` value itself here made the 6.3.1 compiler emit an
    /// aligned SSE load of it from an unaligned stack slot in debug builds: a SIGSEGV.)
    private mutating func claim(_ key: PortKey, containerPort: UInt16, spec: String) throws(BerthError) -> PortMappingRecord {
        if let index = requested(key) {
            let other = chosenKeys[index], otherSpec = chosenSpecs[index]
            let clash = other == key
                ? "is also asked for by published port \(otherSpec) of the same request"
                : "clashes with port \(other) of published port \(otherSpec) of the same request (a wildcard address takes the port on every address of its family)"
            throw BerthError(.conflict, "port \(key) of published port \(spec) \(clash)",
                             hint: "publish each host port once per address: give one of them another host port or host address",
                             object: .port(key.description), parameter: "ports", remedy: .chooseAnother(parameter: "ports"))
        }
        if let holder = try holder(of: key) {
            throw BerthError(.conflict, "port \(key) of published port \(spec) is already published by \(holder)",
                             hint: "choose another host port, or detach \(holder) first", object: .port(key.description),
                             parameter: "ports", remedy: .chooseAnother(parameter: "ports"))
        }
        if let process = try listener(on: key) {
            throw BerthError(.conflict, "port \(key) of published port \(spec) is in use on the host by \(process)",
                             hint: "choose another host port, or stop that process", object: .port(key.description),
                             parameter: "ports", remedy: .chooseAnother(parameter: "ports"))
        }
        chosenKeys.append(key)
        chosenSpecs.append(spec)
        chosenPorts.insert(key)
        return PortMappingRecord(endpointID: endpointID, key: key, containerPort: containerPort)
    }

    /// The index in `chosenKeys` of a key of this request that clashes with `key`.
    private func requested(_ key: PortKey) -> Int? {
        guard chosenPorts.contains(key) else { return nil }
        return chosenKeys.firstIndex { $0.clashes(with: key) }
    }

    /// Which endpoint or publication holds a key that clashes with `key`
    /// (`PortKey.clashes(with:)`).
    private func holder(of key: PortKey) throws(BerthError) -> String? {
        let recorded: ArraySlice<PortMappingRecord>
        let published: ArraySlice<PortMappingRecord>
        if let prefetched, prefetched.proto == key.proto, prefetched.ports.contains(key.hostPort) {
            recorded = Self.mappings(of: key.hostPort, in: prefetched.mappings)
            published = Self.mappings(of: key.hostPort, in: prefetched.publications)
        } else {
            let holders = try transaction.portHolders(proto: key.proto, hostPort: key.hostPort)
            recorded = holders.mappings[...]
            published = holders.publications[...]
        }
        if let mapping = recorded.first(where: { $0.key.clashes(with: key) }) {
            // As `berth ps` shows it: a generated id by its first 12 digits (`berth detach` takes them).
            return "endpoint \(EndpointShortID.display(mapping.endpointID))"
        }
        return published.first { $0.key.clashes(with: key) }.map { "publication \($0.endpointID)" }
    }

    /// The mappings of host port `port` in `sorted`, which is in ascending host-port order.
    static func mappings(of port: UInt16, in sorted: [PortMappingRecord]) -> ArraySlice<PortMappingRecord> {
        var low = 0, high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle].key.hostPort < port { low = middle + 1 } else { high = middle }
        }
        var end = low
        while end < sorted.count, sorted[end].key.hostPort == port { end += 1 }
        return sorted[low..<end]
    }

    private mutating func listener(on key: PortKey) throws(BerthError) -> String? {
        // /proc/net lists no SCTP sockets here; SCTP clashes surface when the host binds.
        guard key.proto != .sctp else { return nil }
        let listeners: HostListeners
        if let cached = self.listeners.first(where: { $0.proto == key.proto }) {
            listeners = cached
        } else {
            listeners = try HostListeners.read(from: host, proto: key.proto)
            self.listeners.append(listeners)
        }
        guard let hit = listeners.conflict(proto: key.proto, address: key.hostAddress, port: key.hostPort) else { return nil }
        return host.socketOwner(inode: hit.inode) ?? "a process (socket inode \(hit.inode))"
    }

    /// The first port of `range` free for every address of `addresses`.
    private mutating func firstFree(_ proto: TransportProtocol, _ addresses: [IPAddress], in range: ClosedRange<UInt32>,
                                    randomStart: Bool) throws(BerthError) -> UInt16? {
        let count = range.upperBound - range.lowerBound + 1
        let start = randomStart ? UInt32.random(in: 0..<count) : 0
        search: for step in 0..<count {
            let port = UInt16(range.lowerBound + (start + step) % count)
            for address in addresses {
                let key = PortKey(proto: proto, hostAddress: address, hostPort: port)
                if requested(key) != nil { continue search }
                if try holder(of: key) != nil { continue search }
                if try listener(on: key) != nil { continue search }
            }
            return port
        }
        return nil
    }

    /// The kernel's ephemeral port range of the host namespace, as Docker uses for `-p 80`.
    private func ephemeralRange() -> ClosedRange<UInt32> {
        let text = try? host.sysctl("net/ipv4/ip_local_port_range")
        let parts = (text ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { UInt32($0) }
        if parts.count == 2, parts[0] >= 1, parts[0] <= parts[1], parts[1] <= 65535 { return parts[0]...parts[1] }
        return 32768...60999
    }
}

extension PortAllocator {
    /// What published ports forward to: an endpoint on a network (the network's families),
    /// or a publication (the families of the addresses it forwards to).
    enum Destination: CustomStringConvertible {
        case network(NetworkRecord)
        case publication(PublicationOptions)

        /// Whether ports can be published on IPv4 and on IPv6.
        var families: (ipv4: Bool, ipv6: Bool) {
            switch self {
            case .network(let network): (network.hasIPv4, network.hasIPv6)
            case .publication(let options): (options.address != nil, options.ipv6Address != nil)
            }
        }

        /// For refusals: the network's name, or what a publication forwards to
        /// ("IPv6 address fd00::5").
        var description: String {
            switch self {
            case .network(let network): "network \(network.name)"
            case .publication(let options): options.addresses.map { "\($0.family.label) address \($0)" }.joined(separator: " and ")
            }
        }
    }
}

extension PortAllocator {
    /// Specs without a host port that publish the same container port on addresses that do
    /// not clash (`127.0.0.1::80` and `192.0.2.5::80`, or `0.0.0.0::80` and `[::]::80`): they
    /// get one host port, free on all of their addresses, as Docker gives them. Specs whose
    /// addresses clash (`80` twice) stay apart: each gets a port of its own.
    struct SharedChoice {
        let proto: TransportProtocol
        let containerPort: UInt16
        /// The specs, by index in the request.
        var members: [Int]
        /// The addresses of all members (none clashes with another).
        var addresses: [IPAddress]
        /// Whether its port has been chosen and claimed for every member.
        var claimed = false

        /// The groups of `specs` (each with its host addresses in `addressesOf`), in the order
        /// of their first member: a spec joins the first group of an earlier spec with its
        /// protocol and container port and no address that clashes with its own. Also which
        /// group each container port of each spec without a host port is in, by spec index and
        /// then in container-port order (empty for a spec with a host port).
        static func groups(_ specs: [PortSpec], _ addressesOf: [[IPAddress]]) -> (groups: [SharedChoice], of: [[Int]]) {
            var groups: [SharedChoice] = []
            var of = [[Int]](repeating: [], count: specs.count)
            for (index, spec) in specs.enumerated() where spec.hostPorts == nil {
                let addresses = addressesOf[index]
                // Only earlier specs' groups: a spec's own container ports differ.
                let earlier = groups.count
                of[index].reserveCapacity(spec.containerPorts.count)
                for containerPort in spec.containerPorts.ports {
                    let fits = groups[..<earlier].firstIndex { group in
                        group.proto == spec.protocol && group.containerPort == containerPort
                            && !group.addresses.contains { held in addresses.contains { Self.clash(held, $0) } }
                    }
                    if let fits {
                        groups[fits].members.append(index)
                        groups[fits].addresses += addresses
                        of[index].append(fits)
                    } else {
                        of[index].append(groups.count)
                        groups.append(SharedChoice(proto: spec.protocol, containerPort: containerPort, members: [index], addresses: addresses))
                    }
                }
            }
            return (groups, of)
        }

        /// Whether one port on both addresses would clash (`PortKey.clashes(with:)`).
        private static func clash(_ a: IPAddress, _ b: IPAddress) -> Bool {
            a.family == b.family && (a == b || a.isUnspecified || b.isUnspecified)
        }
    }
}
