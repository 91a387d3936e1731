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
        if let prevResult = config.prevResult { return try addChained(prevResult) }
        let ports = try portSpecs()
        let ifname: InterfaceName
        do { ifname = try InterfaceName(env.ifname) } catch { throw CNIError(.invalidEnvironment, "CNI_IFNAME: \(error.message)") }
        let mac = try requestedMAC()
        let namespace = try checkedNamespace()
        let backend = try backend()
        Trace.mark("cni: state opened")

        var ipamResult: CNIResult?
        var address = try requestedAddress()
        var options = networkOptions()
        let ipam = try ipamPlugin()
        if let ipam {
            let result = try ipam.add(stdin: stdin, environment: environment, fallbackStdin: ipamFallbackStdin())
            guard let ip = result.ips.first(where: { $0.address.family == .ipv4 }), case .v4(let leased) = ip.address.address else {
                try? releaseIPAM(ipam)
                throw CNIError(.ipamFailure, "IPAM plugin \(ipam.type) returned no IPv4 address", details: "Berth's networks are IPv4; give the plugin an IPv4 range")
            }
            ipamResult = result
            address = leased
            options = networkOptions(subnet: ip.address.network, gateway: ip.gateway?.ipv4)
        }
        do throws(CNIError) {
            _ = try backend.ensureNetwork(options)
            Trace.mark("cni: network ready")
            let description: EndpointDescription
            do throws(BerthError) {
                description = try backend.attach(network: config.name, namespace: namespace, id: attachmentID,
                                                 address: address, mac: mac, ifname: ifname, ports: ports,
                                                     aliases: config.aliases)
            } catch {
                throw CNIError(error)
            }
            defer { Trace.mark("cni: result built") }
            return try result(description, ipamResult: ipamResult).rendered(version: config.cniVersion)
        } catch {
            if let ipam { try? releaseIPAM(ipam) }
            throw error
        }
    }

    /// The result of a main-plugin ADD: the bridge, the host veth and the container's
    /// interface; its address with the gateway; the default route Berth installed; DNS
    /// from the configuration, else from the IPAM plugin.
    func result(_ description: EndpointDescription, ipamResult: CNIResult?) throws(CNIError) -> CNIResult {
        let endpoint = description.endpoint, network = description.network
        let cidr: CIDR
        let defaultRoute: CIDR
        do throws(BerthError) {
            cidr = try description.addressCIDR
            defaultRoute = try CIDR(parsing: "0.0.0.0/0")
        } catch {
            throw CNIError(error)
        }
        return CNIResult(
            interfaces: [
                .init(name: network.bridge.rawValue, mac: description.bridgeMAC?.description),
                .init(name: endpoint.hostVeth.rawValue, mac: description.hostVethMAC?.description),
                .init(name: endpoint.interfaceName.rawValue, mac: endpoint.mac.description, sandbox: env.netns),
            ],
            ips: [.init(address: cidr, gateway: .v4(network.gateway), interface: 2)],
            routes: [.init(destination: defaultRoute, gateway: .v4(network.gateway))],
            dns: config.dns ?? ipamResult?.dns ?? resolverDNS(network))
    }

    /// On a network with DNS on, the resolver on the gateway, with the host's search
    /// domains; `{}` otherwise.
    private func resolverDNS(_ network: NetworkRecord) -> JSONValue {
        guard network.dns else { return .object([]) }
        var members: [(String, JSONValue)] = [("nameservers", .array([.string(network.gateway.description)]))]
        var search: [JSONValue] = []
        let fd = open("/etc/resolv.conf", O_RDONLY | O_CLOEXEC)
        if fd >= 0, let bytes = try? CNIInput.read(fd: fd, limit: 64 * 1024) {
            let text = String(decoding: bytes, as: UTF8.self)
            for line in text.split(separator: "\n") where line.hasPrefix("search ") {
                search += line.split(separator: " ").dropFirst().map { .string(String($0)) }
            }
        }
        if fd >= 0 { close(fd) }
        if !search.isEmpty { members.append(("search", .array(search))) }
        return .object(members)
    }

    /// Chained ADD: publish the ports to the address the previous plugin gave the container.
    private func addChained(_ prevResult: JSONValue) throws(CNIError) -> JSONValue {
        let previous = try CNIResult.parse(prevResult, path: "prevResult")
        let ports = try portSpecs()
        guard !ports.isEmpty else { return prevResult }
        guard let (ip, _) = previous.containerAddress(ifname: env.ifname), case .v4(let address) = ip.address.address else {
            throw CNIError(.invalidConfig, "prevResult has no IPv4 address for \(env.ifname) to publish ports to",
                           details: "berth-cni publishes to IPv4 addresses; chain it after a plugin that gives the container one")
        }
        let hostLink = previous.firstHostInterface.flatMap { try? InterfaceName($0.name) }
        let namespace = try checkedNamespace()
        let backend = try backend()
        Trace.mark("cni: state opened")
        do throws(BerthError) {
            try backend.publish(id: attachmentID, group: config.name, address: address, namespace: namespace, hostLink: hostLink, ports: ports)
        } catch {
            throw CNIError(error)
        }
        return prevResult
    }

    /// `CNI_NETNS`, opened and checked to be a network namespace other than the plugin's
    /// own: a missing path, a regular file or the host's namespace is code 4. The library
    /// is handed the namespace opened here, so it cannot be swapped in between.
    func checkedNamespace() throws(CNIError) -> NamespaceReference {
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
        return .open(namespace)
    }

    /// runtimeConfig.portMappings as `-p` specs (code 7 for ones Berth cannot publish).
    func portSpecs() throws(CNIError) -> [PortSpec] {
        var specs: [PortSpec] = []
        for mapping in config.portMappings {
            do throws(BerthError) { specs.append(try mapping.portSpec()) } catch { throw CNIError(error) }
        }
        return specs
    }

    /// The address asked for: `runtimeConfig.ips` (the `ips` capability), else `IP` in CNI_ARGS.
    func requestedAddress() throws(CNIError) -> IPv4Address? {
        if let address = config.requestedAddress { return address }
        guard let text = env.arg("IP") else { return nil }
        guard let address = IPv4Address(text) ?? CIDR(text).flatMap({ $0.address.ipv4 }) else {
            throw CNIError(.invalidEnvironment, "IP=\(text) in CNI_ARGS is not an IPv4 address")
        }
        return address
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
        _ = try ipam.run(.del, stdin: stdin, environment: environment, overrides: overrides, fallbackStdin: ipamFallbackStdin())
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
