#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthNamespace
import BerthNetwork

extension CNIRequest {
    /// ADD. With a `prevResult` (another main plugin ran first) Berth only publishes the
    /// ports to the container's address from it and prints it unchanged; otherwise Berth is
    /// the main plugin: it leases an address (its own IPAM or the delegated plugin's),
    /// creates the network on first use, attaches `CNI_NETNS` and publishes the ports.
    func add() throws(CNIError) -> JSONValue {
        if let prevResult = config.prevResult {
            // A main plugin's keys behind another plugin: the list is out of order. Chained,
            // it would publish at most, and the container would have no Berth network the
            // configuration asks for (and CHECK, which goes by those keys, none to find).
            let keys = config.mainKeys
            guard keys.isEmpty else {
                throw CNIError(.invalidConfig, "berth-cni with \(keys.map { "\"\($0)\"" }.joined(separator: ", ")) is a main plugin, "
                               + "but it got a prevResult: another plugin ran before it",
                               details: "put it first in the plugin list; a chained berth-cni (after another main plugin) takes only the portMappings capability")
            }
            return try addChained(prevResult)
        }
        let ports = try portSpecs()
        let ifname: InterfaceName
        do { ifname = try InterfaceName(env.ifname) } catch { throw CNIError(.invalidEnvironment, "CNI_IFNAME: \(error.message)") }
        let mac = try requestedMAC()
        let namespace = try checkedNamespace()
        let backend = try backend()
        Trace.mark("cni: state opened")

        var ipamResult: CNIResult?
        var routes: [AttachOptions.Route] = []
        var (address, address6) = try requestedAddresses()
        var options = networkOptions()
        let ipam = try ipamPlugin()
        if let ipam {
            let result = try ipam.add(stdin: stdin, environment: environment.dictionary, fallbackStdin: ipamFallbackStdin())
            // As the reference bridge plugin: the container gets the addresses of both
            // families from the IPAM result (the first of each), the network their subnets.
            // An IPv6-only network ("ipv4": false) takes the IPv6 address alone.
            let ip = result.ips.first { $0.address.family == .ipv4 }
            let ip6 = result.ips.first { $0.address.family == .ipv6 }
            if config.ipv4 {
                guard let ip, case .v4(let leased) = ip.address.address else {
                    try? releaseIPAM(ipam)
                    throw CNIError(.ipamFailure, "IPAM plugin \(ipam.type) returned no IPv4 address",
                                   details: "Berth's networks have IPv4 unless \"ipv4\" is false; give the plugin an IPv4 range")
                }
                address = leased
            } else {
                guard ip == nil, ip6 != nil else {
                    try? releaseIPAM(ipam)
                    throw CNIError(.ipamFailure, "IPAM plugin \(ipam.type) returned \(ip == nil ? "no IPv6 address" : "an IPv4 address") for IPv6-only network \(config.name)",
                                   details: "give the plugin only an IPv6 range for an IPv6-only network (\"ipv4\": false)")
                }
            }
            ipamResult = result
            address6 = ip6?.address.address.ipv6
            do throws(CNIError) {
                routes = try ipamRoutes(result, ipv4: config.ipv4 ? ip : nil, ipv6: ip6)
            } catch {
                try? releaseIPAM(ipam)
                throw error
            }
            options = networkOptions(subnet: ip?.address.network, gateway: ip?.gateway?.ipv4,
                                     ipv6Subnet: ip6?.address.network, ipv6Gateway: ip6?.gateway?.ipv6)
        }
        do throws(CNIError) {
            // The network is checked (or, on its first ADD, created) by the attach itself.
            let description = try backend.attach(network: options, log: log, namespace: namespace, id: attachmentID,
                                                 address: address, ipv6Address: address6, mac: mac, ifname: ifname, ports: ports,
                                                 aliases: config.aliases, routes: routes)
            defer { Trace.mark("cni: result built") }
            return try result(description, ipamResult: ipamResult, routes: routes).rendered(version: config.cniVersion)
        } catch {
            throw failedAdd(error, backend: backend, ipam: ipam)
        }
    }

    /// After a failed main-plugin ADD: gives the delegated lease back only when Berth keeps
    /// no record of the id on this network, and words a refusal of an id in use in the
    /// runtime's terms. A record that stays means the address may be live: an attachment
    /// that existed before (the id was refused), or the attach's own record, kept marked
    /// because its undo failed or a step's outcome is unknown (its veth, address or
    /// elements may be in the kernel). Its lease goes back when the runtime's DEL (or GC)
    /// finishes it. When the state cannot be read, the lease is kept too: a lease given
    /// back too early could go to a second container while the first still has it.
    private func failedAdd(_ failure: CNIError, backend: BerthBackend, ipam: IPAMPlugin?) -> CNIError {
        let holder: AttachmentHolder?
        do throws(BerthError) {
            holder = try backend.holder(of: attachmentID)
        } catch {
            if let ipam { log.write("ADD \(attachmentID): kept the \(ipam.type) lease: Berth's state could not be read: \(CNIError(error))") }
            return failure
        }
        if let ipam {
            if let holder, holder.network == config.name {
                log.write("ADD \(attachmentID): kept the \(ipam.type) lease: Berth still records the attachment")
            } else {
                try? releaseIPAM(ipam)
            }
        }
        if failure.code == .alreadyExists, let holder, !holder.isMarked { return attachmentExists(holder) }
        return failure
    }

    /// An ADD of an attachment Berth already has (CNI_CONTAINERID and CNI_IFNAME name one):
    /// the library's remedy (another id) is not the runtime user's to take.
    func attachmentExists(_ holder: AttachmentHolder) -> CNIError {
        let what = holder.isPublication ? "has ports published by berth-cni in chained mode on network" : "is already attached to network"
        return CNIError(.alreadyExists, "container \(env.containerID) interface \(env.ifname) \(what) \(holder.network)",
                        details: "the runtime must DEL that attachment before adding it again: restarting the container or pod does, "
                            + "and with podman so does 'podman network disconnect'")
    }

    /// The routes of a delegated IPAM result other than default routes (Berth installs the
    /// default route via the network's gateway), to install on the container's interface as
    /// the reference bridge plugin does: one without `gw` goes via the gateway of its
    /// family's address in the result, or on the link when that has none. A route of a
    /// family the container gets no address of is code 7 naming it.
    func ipamRoutes(_ result: CNIResult, ipv4: CNIResult.IPConfig?, ipv6: CNIResult.IPConfig?) throws(CNIError) -> [AttachOptions.Route] {
        var routes: [AttachOptions.Route] = []
        for route in result.routes where route.destination.prefixLength > 0 {
            let family = route.destination.family
            guard let ip = family == .ipv4 ? ipv4 : ipv6 else {
                throw CNIError(.invalidConfig, "IPAM plugin \(config.ipamType ?? "") returned route \(route.destination), and the container gets no \(family.label) address",
                               details: "give the plugin a \(family.label) range, or remove the route from its configuration")
            }
            routes.append(AttachOptions.Route(destination: route.destination, gateway: route.gateway ?? ip.gateway))
        }
        return routes
    }

    /// The result of a main-plugin ADD: the bridge, the host veth and the container's
    /// interface; its addresses (IPv4, then IPv6 on a dual-stack network) with their
    /// gateways; the default routes Berth installed, then the IPAM plugin's other routes
    /// (`routes`, as installed); DNS from the configuration, else from the IPAM plugin.
    func result(_ description: EndpointDescription, ipamResult: CNIResult?, routes extra: [AttachOptions.Route] = []) throws(CNIError) -> CNIResult {
        let endpoint = description.endpoint, network = description.network
        var ips: [CNIResult.IPConfig] = []
        var routes: [CNIResult.Route] = []
        do throws(BerthError) {
            // Neither on an IPv6-only network.
            if let cidr = try description.addressCIDR, let gateway = network.gateway {
                ips.append(.init(address: cidr, gateway: .v4(gateway), interface: 2))
                routes.append(.init(destination: try CIDR(parsing: "0.0.0.0/0"), gateway: .v4(gateway)))
            }
            if let cidr6 = try description.ipv6AddressCIDR, let gateway6 = network.ipv6Gateway {
                ips.append(.init(address: cidr6, gateway: .v6(gateway6), interface: 2))
                routes.append(.init(destination: try CIDR(parsing: "::/0"), gateway: .v6(gateway6)))
            }
        } catch {
            throw CNIError(error)
        }
        routes += extra.map { CNIResult.Route(destination: $0.destination, gateway: $0.gateway) }
        return CNIResult(
            interfaces: [
                .init(name: network.bridge.rawValue, mac: description.bridgeMAC?.description),
                .init(name: endpoint.hostVeth.rawValue, mac: description.hostVethMAC?.description),
                .init(name: endpoint.interfaceName.rawValue, mac: endpoint.mac.description, sandbox: env.netns),
            ],
            ips: ips, routes: routes,
            dns: config.dnsIfSet ?? CNIConfig.setting(ipamResult?.dns) ?? resolverDNS(network))
    }

    /// On a network with DNS on, the resolver on the gateway, with the host's search
    /// domains; `{}` otherwise.
    private func resolverDNS(_ network: NetworkRecord) -> JSONValue {
        guard let nameserver = network.nameserver else { return .object([]) }
        var members: [(String, JSONValue)] = [("nameservers", .array([.string(nameserver.description)]))]
        let fd = open(ResolvConf.hostPath, O_RDONLY | O_CLOEXEC)
        if fd >= 0, let bytes = try? CNIInput.read(fd: fd, limit: ResolvConf.maxFileSize) {
            let search = ResolvConf(parsing: String(decoding: bytes, as: UTF8.self)).searchDomains
            if !search.isEmpty { members.append(("search", .array(search.map { .string($0) }))) }
        }
        if fd >= 0 { close(fd) }
        return .object(members)
    }

    /// Chained ADD: publish the ports to the addresses the previous plugin gave the
    /// container on CNI_IFNAME, as the reference portmap plugin does behind a dual-stack
    /// bridge: the first of each family, each mapping on both families — or, when it names
    /// a hostIP, on that hostIP's family only. When every mapping is skipped (see
    /// `chainedAddresses`), nothing is published and prevResult is printed as is.
    private func addChained(_ prevResult: JSONValue) throws(CNIError) -> JSONValue {
        let previous = try CNIResult.parse(prevResult, path: "prevResult")
        let specs = try portSpecs()
        guard !specs.isEmpty else { return prevResult }
        let (address, address6, ports) = try chainedAddresses(previous, ports: specs)
        guard !ports.isEmpty else { return prevResult }
        let hostLink = previous.firstHostInterface.flatMap { try? InterfaceName($0.name) }
        let namespace = try checkedNamespace()
        let backend = try backend()
        Trace.mark("cni: state opened")
        do throws(BerthError) {
            try backend.publish(id: attachmentID, group: config.name, address: address, ipv6Address: address6, namespace: namespace,
                                hostLink: hostLink, ports: ports)
        } catch where error.code == .alreadyExists && error.parameter == "id" {
            guard let holder = try? backend.holder(of: attachmentID) else { throw CNIError(error) }
            throw attachmentExists(holder)
        } catch {
            throw CNIError(error)
        }
        return prevResult
    }

    /// The addresses chained mode publishes `ports` to — the first IPv4 and the first IPv6
    /// address of CNI_IFNAME in prevResult — and the ports it publishes. None at all is
    /// code 7. A wildcard hostIP (`0.0.0.0`, `::`) of a family the container has no address
    /// of is skipped for that mapping, as portmap skips it (runtimes such as nerdctl fill in
    /// `0.0.0.0` for every mapping). A specific hostIP of such a family is code 7 naming
    /// both: its DNAT would have nowhere to go (portmap skips that too, silently; Berth
    /// refuses it, as the library's `publish` refuses any hostIP of a family the publication
    /// lacks — the wildcards skipped here never reach it).
    func chainedAddresses(_ previous: CNIResult, ports: [PortSpec]) throws(CNIError) -> (IPv4Address?, IPv6Address?, [PortSpec]) {
        let address = previous.containerAddress(ifname: env.ifname, family: .ipv4)?.ip.address.address.ipv4
        let address6 = previous.containerAddress(ifname: env.ifname, family: .ipv6)?.ip.address.address.ipv6
        guard address != nil || address6 != nil else {
            throw CNIError(.invalidConfig, "prevResult has no IPv4 or IPv6 address for \(env.ifname) to publish ports to",
                           details: "berth-cni publishes to the container's addresses from prevResult; chain it after a plugin that gives \(env.ifname) one")
        }
        let has = address.map { "only IPv4 address \($0)" } ?? address6.map { "only IPv6 address \($0)" } ?? ""
        var kept: [PortSpec] = []
        kept.reserveCapacity(ports.count)
        for spec in ports {
            guard let hostIP = spec.hostAddress, hostIP.family == .ipv6 ? address6 == nil : address == nil else {
                kept.append(spec)
                continue
            }
            if hostIP.isUnspecified { continue }
            let family = hostIP.family.label
            throw CNIError(.invalidConfig, "hostIP \(hostIP) in runtimeConfig.portMappings is \(family), and prevResult has no \(family) address for \(env.ifname) (\(has))",
                           details: "leave hostIP out to publish on every address of each family the container has, or give a hostIP of the container's family")
        }
        return (address, address6, kept)
    }

    /// `CNI_NETNS`, opened and checked to be a network namespace other than the plugin's
    /// own: a missing path, a regular file or the host's namespace is code 4. The library
    /// is handed the namespace opened here, so it cannot be swapped in between.
    func checkedNamespace() throws(CNIError) -> NamespaceReference {
        .open(try openedNamespace())
    }

    /// `CNI_NETNS` opened and checked as `checkedNamespace` says (code 4 otherwise).
    func openedNamespace() throws(CNIError) -> NetworkNamespace {
        let path = env.netns
        guard path.hasPrefix("/") else {
            throw CNIError(.invalidEnvironment, "CNI_NETNS \"\(path)\" is not an absolute path", details: "give the path of the container's network namespace")
        }
        let namespace: NetworkNamespace
        let isOwn: Bool
        do throws(BerthError) {
            namespace = try NetworkNamespace.open(path: path)
            isOwn = namespace == (try NetworkNamespace.current())
        } catch where error.code == .notFound {
            throw CNIError(.invalidEnvironment, "CNI_NETNS \(path) does not exist", details: "the container's network namespace is gone or was never made")
        } catch where error.code == .invalidArgument {
            throw CNIError(.invalidEnvironment, "CNI_NETNS \(path) is not a network namespace", details: error.message)
        } catch {
            throw CNIError(error)
        }
        if isOwn {
            throw CNIError(.invalidEnvironment, "CNI_NETNS \(path) is the plugin's own network namespace",
                           details: "the runtime must give the container's namespace, never the host's")
        }
        return namespace
    }

    /// runtimeConfig.portMappings as `-p` specs (code 7 for ones Berth cannot publish).
    func portSpecs() throws(CNIError) -> [PortSpec] {
        var specs: [PortSpec] = []
        for mapping in config.portMappings {
            do throws(BerthError) { specs.append(try mapping.portSpec()) } catch { throw CNIError(error) }
        }
        return specs
    }

    /// The addresses asked for, one per family: `runtimeConfig.ips` (the `ips`
    /// capability), else `IP` in CNI_ARGS (comma-separated, as host-local reads it).
    func requestedAddresses() throws(CNIError) -> (IPv4Address?, IPv6Address?) {
        if config.requestedAddress != nil || config.requestedIPv6Address != nil {
            return (config.requestedAddress, config.requestedIPv6Address)
        }
        guard let text = env.arg("IP") else { return (nil, nil) }
        var v4: IPv4Address?, v6: IPv6Address?
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let part = String(item)
            guard let address = IPAddress(part) ?? CIDR(part)?.address else {
                throw CNIError(.invalidEnvironment, "IP=\(text) in CNI_ARGS is not a list of IP addresses",
                               details: "give one address per family, comma-separated, such as IP=10.88.0.5,fd00:88::5")
            }
            switch address {
            case .v4(let a): if v4 == nil { v4 = a }
            case .v6(let a): if v6 == nil { v6 = a }
            }
        }
        return (v4, v6)
    }

    /// The MAC asked for: `runtimeConfig.mac` (the `mac` capability), else `MAC` in CNI_ARGS.
    func requestedMAC() throws(CNIError) -> MACAddress? {
        if let mac = config.requestedMAC { return mac }
        guard let text = env.arg("MAC") else { return nil }
        guard let mac = MACAddress(text) else { throw CNIError(.invalidEnvironment, "MAC=\(text) in CNI_ARGS is not a MAC address") }
        return mac
    }

    /// Gives a delegated lease back (DEL with the same configuration).
    func releaseIPAM(_ ipam: IPAMPlugin, overrides: [String: String] = [:]) throws(CNIError) {
        _ = try ipam.run(.del, stdin: stdin, environment: environment.dictionary, overrides: overrides, fallbackStdin: ipamFallbackStdin())
    }

    /// The configuration at 1.0.0 for a delegated plugin that predates a 1.1.0 one (results
    /// of both versions share one format); nil when the configuration is 1.0.0 or older.
    func ipamFallbackStdin() -> [UInt8]? {
        guard config.cniVersion > CNIVersion(1, 0, 0), let json = try? CNIInput.parse(stdin), let members = json.objectValue else { return nil }
        func downgrade(_ members: [(String, JSONValue)]) -> [(String, JSONValue)] {
            members.map { key, value in
                if key == "cniVersion" { return (key, .string("1.0.0")) }
                if key == "prevResult", let inner = value.objectValue { return (key, .object(downgrade(inner))) }
                return (key, value)
            }
        }
        return Array(JSONValue.object(downgrade(members)).render().utf8)
    }
}
