#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
public import BerthCore
public import BerthConfine
import BerthNetwork

/// Which network a container joins.
public enum ContainerNetwork: Sendable, Hashable, CustomStringConvertible {
    /// A bridge network by name; the default network `berth` is created on first use.
    case bridge(String)
    /// Its own network namespace with only `lo`, up.
    case none
    /// The caller's network namespace: no isolation, nothing to publish.
    case host

    /// The network Docker calls `bridge` and Berth calls `berth`, with bridge `berth0`.
    public static let defaultName = KernelNames.defaultNetwork
    /// The `berth` bridge network.
    public static let `default` = ContainerNetwork.bridge(defaultName)

    /// `none`, `host`, or a network name. `bridge` and `default`, the names Docker and
    /// Podman give their default network (`NetworkOptions.reservedNames`: no network has
    /// them), are Berth's default network. `container:NAME` (another container's network
    /// namespace) is refused as unsupported: each container has a namespace of its own.
    public init(parsing text: String) throws(BerthError) {
        switch text {
        case "none": self = .none
        case "host": self = .host
        case "bridge", "default": self = .default
        case _ where text.hasPrefix("container:"):
            let name = String(text.dropFirst("container:".count))
            throw BerthError(.unsupported, "network mode \"\(text)\" is not supported: every container has a network namespace of its own",
                             hint: "run the command in that container's namespaces, or both containers on one network",
                             object: .container(name), parameter: "network")
        default:
            do {
                try NetworkOptions.validate(name: text)
            } catch {
                throw error.with(parameter: "network")
            }
            self = .bridge(text)
        }
    }

    public var description: String {
        switch self {
        case .bridge(let name): name
        case .none: "none"
        case .host: "host"
        }
    }
}

/// What `Container.run` is asked for: the process, its network, its resource limits, and
/// how its supervisor treats it (stdin, restarts, removal).
///
/// A container keeps the options it was created with (stdio descriptors aside): starting it
/// again runs the same command with the same settings, network and ports included.
public struct RunOptions: Sendable, Hashable {
    /// The process: command, hostname, root filesystem, environment, working directory,
    /// stdio, privilege and confinement (capabilities, seccomp filter, no_new_privs). Two
    /// fields are adjusted to the container:
    /// - `namespaces` gets `.network` for a bridge or the `none` network and loses it for
    ///   `host` (the network decides);
    /// - a nil `hostname` becomes 12 hex digits of the container's id (when it has its own
    ///   UTS namespace), as Docker's default; on the `host` network, the host's hostname, as
    ///   Docker gives it there.
    public var process: ContainerSpec
    /// Unique among containers; `berth-` and 12 hex digits of its id when nil.
    public var name: String?
    /// The network it joins (`berth` unless told otherwise).
    public var network: ContainerNetwork
    /// Ports to publish, as `docker run -p` takes them (bridge networks only).
    public var ports: [PortSpec]
    /// A static address in the network's subnet (bridge networks only).
    public var address: IPv4Address?
    /// A static IPv6 address in a dual-stack network's IPv6 subnet (`--ip6`); the lowest
    /// free one when nil. The attach refuses it on an IPv4-only network.
    public var ipv6Address: IPv6Address?
    /// The container's eth0 MAC address (`--mac-address`, bridge networks only); Berth's
    /// default (02:42 and the IPv4 address's octets, as Docker) when nil.
    public var mac: MACAddress?
    /// Keep the command's stdin open (`docker run -i`): under a supervisor, the caller's
    /// input in the foreground, an open pipe nobody writes to when detached. Without it the
    /// command's stdin is /dev/null.
    public var interactive: Bool
    /// Whether the supervisor starts the command again when it ends.
    public var restart: RestartPolicy
    /// Remove the container (its record and log) when its command ends (`docker run --rm`).
    public var autoRemove: Bool
    /// Memory, CPU and process limits for the container's cgroup (none by default).
    ///
    /// `Container.run` makes the container's cgroup and applies them before the command
    /// starts; a limit the machine's cgroups cannot apply is refused, never ignored.
    public var limits: ResourceLimits
    /// More names for the container on its network's resolver (`--network-alias`); its
    /// name is always one when it is a valid DNS name.
    public var networkAliases: [String] = []
    /// The signal `Container.stop` sends first (`docker run --stop-signal`), 1 to 64; nil for
    /// SIGTERM, Docker's default. `Container.kill` with it cancels the restart policy, as
    /// SIGKILL does.
    public var stopSignal: Int32?
    /// Seconds `Container.stop` waits after the stop signal before SIGKILL
    /// (`docker run --stop-timeout`) when the caller gives no timeout: nil for 10, Docker's
    /// default; -1 for no SIGKILL (it waits until the command ends, as Docker's -1).
    public var stopTimeout: Int?

    /// SIGTERM unless `stopSignal` says otherwise.
    public var effectiveStopSignal: Int32 { stopSignal ?? SIGTERM }
    /// Docker's default stop timeout.
    public static let defaultStopTimeout = 10

    /// Options for running `process`; the settings not taken here keep their defaults.
    public init(process: ContainerSpec, name: String? = nil, network: ContainerNetwork = .default, ports: [PortSpec] = [],
                address: IPv4Address? = nil, interactive: Bool = false, restart: RestartPolicy = .no, autoRemove: Bool = false,
                limits: ResourceLimits = ResourceLimits()) {
        self.process = process
        self.name = name
        self.network = network
        self.ports = ports
        self.address = address
        self.interactive = interactive
        self.restart = restart
        self.autoRemove = autoRemove
        self.limits = limits
    }

    /// The process as it runs, for a container with id `id` (see `process`).
    func spec(id: String) -> ContainerSpec {
        var spec = process
        if network == .host { spec.namespaces.remove(.network) } else { spec.namespaces.insert(.network) }
        if spec.hostname == nil, spec.namespaces.contains(.uts) {
            // As Docker: on the host's network the host's own name (its /etc/hosts, copied,
            // names it), one it would refuse as a hostname aside; otherwise the id's.
            let hostName = network == .host ? ContainerSpec.currentHostname().flatMap { name in
                (try? ContainerSpec.validate(hostname: name)).map { name }
            } : nil
            spec.hostname = hostName ?? Container.defaultHostname(id: id)
        }
        return spec
    }

    /// Checks what can be checked before anything exists.
    public func validate() throws(BerthError) {
        if let name { try Container.validate(name: name) }
        for alias in networkAliases { try EndpointNames.validate(alias, parameter: "networkAlias") }
        if !networkAliases.isEmpty, case .bridge = network {} else if !networkAliases.isEmpty {
            throw .invalid("network \(network) has no resolver, so network aliases cannot be used",
                           hint: "give no alias, or use a bridge network", parameter: "networkAlias")
        }
        if autoRemove, restart != .no {
            throw .invalid("a container removed when its command ends cannot restart (restart policy \(restart))",
                           hint: "choose automatic removal or a restart policy, not both", parameter: "restart")
        }
        switch network {
        case .bridge: break
        case .none, .host:
            if !ports.isEmpty {
                throw .invalid("network \(network) has no bridge to publish ports on",
                               hint: "publish no ports, or use a bridge network such as the default '\(ContainerNetwork.defaultName)'", parameter: "ports")
            }
            if let address {
                throw .invalid("network \(network) gives no address, so address \(address) cannot be used",
                               hint: "give no address, or use a bridge network", parameter: "address")
            }
            if let ipv6Address {
                throw .invalid("network \(network) gives no address, so IPv6 address \(ipv6Address) cannot be used",
                               hint: "give no IPv6 address, or use a dual-stack bridge network", parameter: "ipv6Address")
            }
            if let mac {
                throw .invalid("network \(network) gives the container no interface, so MAC address \(mac) cannot be used",
                               hint: "give no MAC address, or use a bridge network", parameter: "mac")
            }
        }
        if let stopSignal, !(1...ContainerSignal.highest).contains(stopSignal) {
            throw .invalid("invalid stop signal \(stopSignal): signal numbers are 1 to \(ContainerSignal.highest)",
                           hint: "give a signal such as TERM, QUIT, INT or 15", parameter: "stopSignal")
        }
        if let stopTimeout, stopTimeout < -1 {
            throw .invalid("invalid stop timeout \(stopTimeout)", hint: "give 0 or more seconds, or -1 to wait without SIGKILL", parameter: "stopTimeout")
        }
        try spec(id: String(repeating: "0", count: 64)).validate()
        try limits.validate()
    }
}
