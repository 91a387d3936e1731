/// A port to publish, as written for `docker run -p`:
/// `[HOSTIP:][HOSTPORT[-END]:]CONTAINERPORT[-END][/tcp|udp|sctp]`.
///
/// Accepted like Docker's `nat.ParsePortSpec`: `80`, `8080:80`, `8080:80/udp`,
/// `127.0.0.1:8080:80`, `127.0.0.1::80`, `8000-8009:9000-9009`, `8000-8010:80`,
/// `[::1]:8080:80`, `:80` and `::80` (an empty host address or port is left out), `0:80` and
/// `127.0.0.1:0:80` (host port 0 is any free port, as Docker reads it), and the protocol in
/// any case. Deliberately stricter than Docker, so that a typo is not silently read as
/// something else:
/// - a container port of 0, and 0 inside a host port range, are refused;
/// - an IPv6 host address must be in brackets (Docker reads `::1:8080:80` by splitting on
///   the last two colons);
/// - `80/` (empty protocol) and `80/tcp/x` are refused (Docker reads both as `80/tcp`);
/// - `1-2-3` is refused (Docker reads it as `1-2`).
///
/// The spec is what the user asked for; `expand()` turns it into concrete `PortMapping`s.
public struct PortSpec: Sendable, Hashable, LosslessStringCodable, CustomStringConvertible, LosslessStringConvertible {
    /// The host address to bind; nil for every address of both families.
    public let hostAddress: IPAddress?
    /// The host ports: nil to pick a free port for each container port; the same length as
    /// `containerPorts` to map pairwise; or a range for a single container port, to pick one
    /// free port from.
    public let hostPorts: PortRange?
    /// The container ports.
    public let containerPorts: PortRange
    /// The transport protocol.
    public let `protocol`: TransportProtocol

    /// A spec from its parts; throws if `hostPorts` and `containerPorts` differ in length and `containerPorts` is not one port.
    public init(hostAddress: IPAddress? = nil, hostPorts: PortRange? = nil, containerPorts: PortRange, protocol: TransportProtocol = .tcp) throws(BerthError) {
        if let hostPorts, hostPorts.count != containerPorts.count, !containerPorts.isSinglePort {
            throw .invalid(
                "invalid port mapping: host ports \(hostPorts) and container ports \(containerPorts) differ in length (\(hostPorts.count) and \(containerPorts.count))",
                hint: "give host and container ranges of the same length, like 8000-8009:9000-9009, or a host range for one container port, like 8000-8010:80"
            )
        }
        self.hostAddress = hostAddress
        self.hostPorts = hostPorts
        self.containerPorts = containerPorts
        self.protocol = `protocol`
    }

    /// Parses the `docker run -p` syntax, and its long form `published=8080,target=80,protocol=udp`
    /// (`init(keyValues:)`).
    public init(parsing text: String) throws(BerthError) {
        if text.contains("=") {
            self = try PortSpec(keyValues: text)
            return
        }
        let usage = "write CONTAINERPORT, HOSTPORT:CONTAINERPORT or HOSTIP:HOSTPORT:CONTAINERPORT, like 8080:80 or 127.0.0.1:8080:80/udp"
        func fail(_ problem: String, hint: String = usage) -> BerthError {
            .invalid("invalid port mapping \"\(text)\": \(problem)", hint: hint)
        }
        guard !text.isEmpty else {
            throw .invalid("empty port mapping", hint: usage)
        }

        // Split off the host address: bracketed, or everything before the last two colons.
        var address: IPAddress?
        var ports: [Substring]
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw fail("'[' without a closing ']'", hint: "write an IPv6 host address in brackets, like [::1]:8080:80")
            }
            let inside = text[text.index(after: text.startIndex)..<close]
            guard let parsed = IPAddress(String(inside)) else {
                throw fail("host address \"\(inside)\" is not an IP address", hint: "write an IP address without zone or prefix, like [fd00::1]:8080:80")
            }
            address = parsed
            let rest = text[text.index(after: close)...]
            guard rest.first == ":" else {
                throw fail("expected ':' after \"[\(inside)]\"", hint: "write [\(inside)]:HOSTPORT:CONTAINERPORT, like [\(inside)]:8080:80")
            }
            ports = rest.dropFirst().split(separator: ":", omittingEmptySubsequences: false)
            guard ports.count == 2 else {
                throw fail("expected HOSTPORT:CONTAINERPORT after \"[\(inside)]:\"", hint: "write [\(inside)]:8080:80, or [\(inside)]::80 for any free host port")
            }
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count > 3 {
                let head = parts[..<(parts.count - 2)].joined(separator: ":")
                if IPv6Address(head) != nil {
                    throw fail("IPv6 host address \"\(head)\" must be in brackets", hint: "write [\(head)]:\(parts[parts.count - 2]):\(parts[parts.count - 1])")
                }
                throw fail("too many ':' (\(parts.count - 1))", hint: usage)
            }
            if parts.count == 3, !parts[0].isEmpty {
                guard let parsed = IPAddress(String(parts[0])) else {
                    throw fail("host address \"\(parts[0])\" is not an IP address", hint: "write an IPv4 address like 127.0.0.1, or an IPv6 address in brackets like [::1]")
                }
                address = parsed
            }
            ports = Array(parts.dropFirst(max(0, parts.count - 2)))
        }

        // Container side: PORT[-END][/PROTOCOL].
        let containerPart = ports[ports.count - 1]
        let slashParts = containerPart.split(separator: "/", omittingEmptySubsequences: false)
        guard slashParts.count <= 2 else {
            throw fail("\"\(containerPart)\" has more than one '/'", hint: "write one protocol, like 80/udp")
        }
        var proto = TransportProtocol.tcp
        if slashParts.count == 2 {
            guard !slashParts[1].isEmpty else {
                throw fail("no protocol after '/'", hint: "write \(slashParts[0])/tcp, \(slashParts[0])/udp or \(slashParts[0])/sctp, or leave out the '/' for tcp")
            }
            guard let parsed = TransportProtocol(rawValue: slashParts[1].lowercased()) else {
                throw fail("unknown protocol \"\(slashParts[1])\"", hint: "use tcp, udp or sctp")
            }
            proto = parsed
        }
        guard !slashParts[0].isEmpty else {
            throw fail("no container port", hint: usage)
        }
        let containerPorts = try PortRange(parsing: slashParts[0], role: "container port", in: text)

        // Host ports; an empty field means "any free port", as in 127.0.0.1::80, and so does
        // a host port of 0, as Docker reads 0:80 (a range with 0 in it stays refused). Host
        // port 0 with a container range is a host range of one port for several container
        // ports, which Docker refuses too ("invalid ranges specified for container and host
        // ports"): an empty host port (`::80-82`, or `80-82`) is how to ask for free ones.
        var hostPorts: PortRange?
        if ports.count == 2, !ports[0].isEmpty, ports[0].allSatisfy({ $0 == "0" }), !containerPorts.isSinglePort {
            throw fail("invalid ranges specified for container and host ports: host port \(ports[0]) with container ports \(containerPorts)",
                       hint: "leave the host port out for a free one each, like \(containerPorts), or give a host range of \(containerPorts.count) ports, "
                           + "like HOSTPORT-END:\(containerPorts)")
        }
        if ports.count == 2, !ports[0].isEmpty, !ports[0].allSatisfy({ $0 == "0" }) {
            if ports[0].contains("."), IPAddress(String(ports[0])) != nil {
                throw fail("\"\(ports[0])\" is an address where a host port belongs", hint: "write \(ports[0])::\(containerPart) for any free host port, or \(ports[0]):HOSTPORT:\(containerPart)")
            }
            hostPorts = try PortRange(parsing: ports[0], role: "host port", in: text)
        }

        do {
            try self.init(hostAddress: address, hostPorts: hostPorts, containerPorts: containerPorts, protocol: proto)
        } catch {
            throw fail("host ports \(hostPorts?.description ?? "") and container ports \(containerPorts) differ in length (\(hostPorts?.count ?? 0) and \(containerPorts.count))",
                       hint: error.hint ?? usage)
        }
    }

    /// Docker's key=value form of `-p`, `published=8080,target=80,protocol=udp`: as docker/cli
    /// reads it (`convertToStandardNotation`: any value with '=' is comma-separated
    /// `name=value` pairs, rewritten to `published:target/protocol`, protocol tcp unless
    /// given; a pair without '=' is refused), then parsed as that. Stricter than Docker, which
    /// ignores any other key: `host_ip` (Docker would publish on every address, not the one
    /// asked for) and unknown keys are refused, as are a key given twice, a missing or empty
    /// `target`, and a `published` or `target` that is more than a port or a range. An
    /// empty or absent `published` (or 0) is any free host port.
    public init(keyValues text: String) throws(BerthError) {
        let usage = "write published=HOSTPORT,target=CONTAINERPORT[,protocol=tcp|udp|sctp], like published=8080,target=80"
        func fail(_ problem: String, hint: String = usage) -> BerthError {
            .invalid("invalid port mapping \"\(text)\": \(problem)", hint: hint)
        }
        var values: [(key: Substring, value: Substring)] = []
        for pair in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw fail("invalid publish opts format (should be name=value but got '\(pair)')")
            }
            let key = pair[..<equals]
            let value = pair[pair.index(after: equals)...]
            switch key {
            case "published", "target", "protocol":
                guard !values.contains(where: { $0.key == key }) else { throw fail("\(key) given twice") }
                values.append((key, value))
            case "host_ip":
                throw fail("host_ip is not supported in the key=value form (Docker ignores it and publishes on every address)",
                           hint: "write HOSTIP:HOSTPORT:CONTAINERPORT, like 127.0.0.1:8080:80, to publish on one address")
            default:
                throw fail("unknown key \"\(key)\"", hint: "use published, target and protocol: " + usage.dropFirst("write ".count))
            }
        }
        func value(_ key: String) -> Substring? { values.first { $0.key == key }?.value }
        let published = value("published") ?? ""
        guard let target = value("target"), !target.isEmpty else { throw fail("no target (the container port)") }
        let proto = value("protocol") ?? "tcp"
        guard !proto.isEmpty else { throw fail("protocol= has no value", hint: "write protocol=tcp, protocol=udp or protocol=sctp, or leave it out for tcp") }
        for (key, part) in [("published", published), ("target", target), ("protocol", proto)] where part.contains(where: { ":/[]".contains($0) }) {
            throw fail("\(key) \"\(part)\" is more than \(key == "protocol" ? "a protocol" : "a port or a range")",
                       hint: key == "published" ? "write HOSTIP:HOSTPORT:CONTAINERPORT, like 127.0.0.1:8080:80, to publish on one address" : usage)
        }
        do {
            self = try PortSpec(parsing: "\(published):\(target)/\(proto)")
        } catch {
            throw BerthError(error.code, "\(error.message) (from \"\(text)\")", hint: error.hint, parameter: error.parameter)
        }
    }

    /// Parses the `docker run -p` form; nil if malformed.
    public init?(_ text: String) {
        guard let parsed = try? PortSpec(parsing: text) else { return nil }
        self = parsed
    }

    /// Whether some host port is left for a later layer to choose: no host port was given,
    /// or a host range was given for a single container port.
    public var needsHostPortChoice: Bool {
        guard let hostPorts else { return true }
        return hostPorts.count != containerPorts.count
    }

    /// The concrete mappings, when every host port is fixed (ranges map pairwise, in order);
    /// nil when a host port is left to choose (see `needsHostPortChoice`).
    public func expand() -> [PortMapping]? {
        guard let hostPorts, !needsHostPortChoice else { return nil }
        return zip(hostPorts.ports, containerPorts.ports).map { host, container in
            PortMapping(checked: `protocol`, hostAddress, host, container)
        }
    }

    /// The concrete mappings, asking `choose` for each host port the spec leaves open.
    ///
    /// `choose` gets the container port and the host ports to choose from: nil for any free
    /// port, or the range given for a single container port. Fixed host ports are used as
    /// given without asking. A chosen port outside the candidates is refused.
    public func expand(
        choosingHostPort choose: (_ containerPort: UInt16, _ candidates: PortRange?) throws(BerthError) -> UInt16
    ) throws(BerthError) -> [PortMapping] {
        if let fixed = expand() { return fixed }
        var mappings: [PortMapping] = []
        mappings.reserveCapacity(containerPorts.count)
        for container in containerPorts.ports {
            let host = try choose(container, hostPorts)
            guard host != 0, hostPorts?.contains(host) ?? true else {
                throw BerthError(.internalError, "host port \(host) chosen for \(self) is outside \(hostPorts?.description ?? "1-65535")")
            }
            mappings.append(PortMapping(checked: `protocol`, hostAddress, host, container))
        }
        return mappings
    }

    /// The spec in `docker run -p` syntax, protocol always written: `127.0.0.1::80/tcp`,
    /// `[::1]:8080:80/udp`, `8000-8009:9000-9009/tcp`, `80/tcp`.
    public var description: String {
        var text = ""
        switch hostAddress {
        case nil: break
        case .v4(let address)?: text = "\(address):"
        case .v6(let address)?: text = "[\(address)]:"
        }
        if let hostPorts {
            text += "\(hostPorts):"
        } else if hostAddress != nil {
            text += ":"
        }
        return text + "\(containerPorts)/\(`protocol`)"
    }
}

extension PortMapping {
    /// For ports taken from a valid `PortRange`, which are never 0.
    init(checked proto: TransportProtocol, _ hostAddress: IPAddress?, _ hostPort: UInt16, _ containerPort: UInt16) {
        self.protocol = proto
        self.hostAddress = hostAddress
        self.hostPort = hostPort
        self.containerPort = containerPort
    }
}
