public import BerthCore
import BerthNetwork

/// Which network a container joins (`berth run --network`).
public enum ContainerNetwork: Sendable, Hashable, CustomStringConvertible {
    /// A bridge network by name; the default network `berth` is created on first use.
    case bridge(String)
    /// Its own network namespace with only `lo`, up.
    case none
    /// The caller's network namespace: no isolation, nothing to publish.
    case host

    /// The network Docker calls `bridge` and Berth calls `berth`, with bridge `berth0`.
    public static let defaultName = "berth"
    public static let `default` = ContainerNetwork.bridge(defaultName)

    /// `none`, `host`, or a network name.
    public init(parsing text: String) throws(BerthError) {
        switch text {
        case "none": self = .none
        case "host": self = .host
        default:
            try NetworkOptions.validate(name: text)
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

/// What `berth run` asks for: the process (`ContainerSpec`'s fields) and its network.
public struct RunOptions: Sendable, Hashable {
    /// The command and its arguments.
    public var command: [String]
    /// Unique among containers; `berth-` and 12 hex digits of its id when nil.
    public var name: String?
    public var network: ContainerNetwork
    /// Ports to publish, as `docker run -p` takes them (bridge networks only).
    public var ports: [PortSpec]
    /// A static address in the network's subnet (bridge networks only).
    public var address: IPv4Address?
    /// The hostname inside; 12 hex digits of the container's id when nil.
    public var hostname: String?
    /// An absolute path to use as `/`; nil keeps the host's files (with a fresh /proc).
    public var rootfs: String?
    /// `KEY=VALUE` entries.
    public var environment: [String]
    /// Absolute directory to start in; nil means `/`.
    public var workingDirectory: String?
    /// The command's stdin, stdout and stderr; nil inherits the caller's (see `ContainerSpec`).
    public var stdin: Int32?
    public var stdout: Int32?
    public var stderr: Int32?
    /// Lift Docker's default confinement (`ContainerSpec.privileged`).
    public var privileged: Bool

    public init(command: [String], name: String? = nil, network: ContainerNetwork = .default, ports: [PortSpec] = [],
                address: IPv4Address? = nil, hostname: String? = nil, rootfs: String? = nil, environment: [String] = [],
                workingDirectory: String? = nil, stdin: Int32? = nil, stdout: Int32? = nil, stderr: Int32? = nil,
                privileged: Bool = false) {
        self.command = command
        self.name = name
        self.network = network
        self.ports = ports
        self.address = address
        self.hostname = hostname
        self.rootfs = rootfs
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.privileged = privileged
    }

    /// The process half, for a container with id `id`.
    func spec(id: String) -> ContainerSpec {
        var namespaces = ContainerNamespaces.all
        if network == .host { namespaces.remove(.network) }
        return ContainerSpec(command: command, namespaces: namespaces, hostname: hostname ?? Container.defaultHostname(id: id),
                             rootfs: rootfs, environment: environment, workingDirectory: workingDirectory,
                             stdin: stdin, stdout: stdout, stderr: stderr, privileged: privileged)
    }

    /// Checks what can be checked before anything exists.
    public func validate() throws(BerthError) {
        if let name { try Container.validate(name: name) }
        switch network {
        case .bridge: break
        case .none, .host:
            if !ports.isEmpty {
                throw .invalid("--network \(network) has no network to publish ports on",
                               hint: "drop -p, or use a bridge network such as the default '\(ContainerNetwork.defaultName)'")
            }
            if let address {
                throw .invalid("--network \(network) gives no address, so --ip \(address) cannot be used", hint: "drop --ip, or use a bridge network")
            }
        }
        try spec(id: String(repeating: "0", count: 64)).validate()
    }
}
