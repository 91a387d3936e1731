public import BerthCore

/// A CNI error: what the plugin prints on stdout (`{"cniVersion", "code", "msg", "details"}`)
/// before it exits non-zero.
public struct CNIError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The specification's error code (1–99 are the specification's, 100 and up the plugin's).
    public var code: Code
    /// One line naming the problem and the value at fault.
    public var message: String
    /// How to fix it, and the cause, when known.
    public var details: String

    /// An error with `code`, a one-line `message`, and `details` (empty when none).
    public init(_ code: Code, _ message: String, details: String = "") {
        self.code = code
        self.message = message
        self.details = details
    }

    public var description: String { details.isEmpty ? "\(message) (code \(code.rawValue))" : "\(message): \(details) (code \(code.rawValue))" }

    /// The error object, in the order the specification lists its fields.
    public func rendered(version: String) -> JSONValue {
        var members: [(String, JSONValue)] = [("cniVersion", .string(version)), ("code", .integer(Int64(code.rawValue))), ("msg", .string(message))]
        if !details.isEmpty { members.append(("details", .string(details))) }
        return .object(members)
    }

    /// Error codes: the specification's (below 100) and Berth's own (100 and up, stable).
    public struct Code: RawRepresentable, Sendable, Hashable {
        public var rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        // The specification's codes.
        /// The config's `cniVersion` is not one the plugin speaks, or too old for the command.
        public static let incompatibleVersion = Code(rawValue: 1)
        /// A field of the config is not supported.
        public static let unsupportedField = Code(rawValue: 2)
        /// CHECK (or another command) names a container the plugin knows nothing of.
        public static let unknownContainer = Code(rawValue: 3)
        /// A `CNI_*` environment variable is missing or malformed.
        public static let invalidEnvironment = Code(rawValue: 4)
        /// Reading stdin or writing stdout failed.
        public static let ioFailure = Code(rawValue: 5)
        /// stdin is not a JSON document the plugin accepts (too large, too deep, malformed).
        public static let decodingFailure = Code(rawValue: 6)
        /// The network configuration is invalid.
        public static let invalidConfig = Code(rawValue: 7)
        /// A transient failure: the runtime may retry.
        public static let tryAgainLater = Code(rawValue: 11)
        /// STATUS: the plugin cannot serve ADD now.
        public static let pluginNotAvailable = Code(rawValue: 50)
        /// STATUS: the plugin cannot serve ADD now, and existing containers may have limited
        /// connectivity (Berth says 50; a delegated IPAM plugin's 51 is passed on).
        public static let pluginNotAvailableLimitedConnectivity = Code(rawValue: 51)

        // Berth's own codes, one per class of BerthError (see docs/cni.md).
        /// A resource is held by someone else: a host port (the message names the owner), an
        /// address, a bridge name, a subnet.
        public static let conflict = Code(rawValue: 100)
        /// A named object does not exist.
        public static let notFound = Code(rawValue: 101)
        /// An object to be created already exists (the interface name in the namespace, the attachment).
        public static let alreadyExists = Code(rawValue: 102)
        /// The plugin lacks a privilege (CAP_NET_ADMIN, CAP_SYS_ADMIN).
        public static let permissionDenied = Code(rawValue: 103)
        /// The kernel lacks a feature Berth needs.
        public static let unsupported = Code(rawValue: 104)
        /// The kernel refused an operation for another reason.
        public static let kernel = Code(rawValue: 105)
        /// Berth's state is unreadable or inconsistent.
        public static let state = Code(rawValue: 106)
        /// A system call outside networking failed (files, mounts, processes).
        public static let system = Code(rawValue: 107)
        /// A bug in Berth.
        public static let internalError = Code(rawValue: 108)
        /// CHECK found the attachment incomplete: the message lists what is missing.
        public static let attachmentIncomplete = Code(rawValue: 110)
        /// The delegated IPAM plugin could not be run or printed no usable result.
        public static let ipamFailure = Code(rawValue: 111)
    }
}

extension CNIError {
    /// A library error in CNI terms: the code from its class (an invalid value is the
    /// config's fault, code 7; waiting too long for the state lock is code 11), the message
    /// as the library words it, and details worded here: the remedy in CNI terms (else the
    /// library's hint, which names no command or flag), the configuration key or variable
    /// at fault when the remedy does not name it, and the cause.
    public init(_ error: BerthError) {
        let code: Code = switch error.code {
        case .invalidArgument: .invalidConfig
        case .notFound: .notFound
        case .alreadyExists: .alreadyExists
        case .conflict: Self.isLockTimeout(error) ? .tryAgainLater : .conflict
        case .permissionDenied: .permissionDenied
        case .unsupported: .unsupported
        case .kernel: .kernel
        case .state: .state
        case .system: .system
        case .internalError: .internalError
        }
        var details: [String] = []
        if let remedy = error.remedy {
            details.append(Self.advice(remedy))
        } else if let hint = error.hint {
            details.append(hint)
        }
        if let parameter = error.parameter {
            if case .chooseAnother(let named) = error.remedy, named == parameter {} else {
                details.append("set by \(Self.configName(of: parameter))")
            }
        }
        if let cause = error.cause { details.append("cause: \(cause)") }
        self.init(code, error.message, details: details.joined(separator: "; "))
    }

    /// The state lock is held by another process for longer than the store waits.
    private static func isLockTimeout(_ error: BerthError) -> Bool {
        error.object?.kind == .state || error.message.containsBytes(of: "waiting for the state lock")
    }

    /// A remedy in the words of someone writing a CNI network configuration.
    static func advice(_ remedy: BerthError.Remedy) -> String {
        switch remedy {
        case .collectGarbage: "leftovers of a crash are in the way: the runtime's CNI GC (or a DEL of that attachment) removes them"
        case .reconcile: "the kernel lost objects Berth recorded: DEL and ADD the attachment again to re-create them"
        case .detachEndpoints: "DEL the attachments of this network first"
        case .remove(let object): "remove \(object) first"
        case .stop(let object): "stop \(object) first"
        case .chooseAnother(let parameter): "choose another \(configName(of: parameter))"
        case .privilege(let capability): "run the plugin as root or with \(capability)"
        case .listExisting(let kind): "list the existing \(kind.rawValue)s with 'berth' on the host"
        case .give(let parameter): "give \(configName(of: parameter))"
        case .leaveOut(let parameter): "leave \(configName(of: parameter)) out"
        }
    }

    /// Where a library request field comes from in CNI terms.
    static func configName(of parameter: String) -> String {
        switch parameter {
        case "interfaceName": "CNI_IFNAME"
        case "namespace": "CNI_NETNS"
        case "id": "CNI_CONTAINERID (or CNI_IFNAME)"
        case "address": "address (runtimeConfig.ips, IP in CNI_ARGS, or the IPAM range)"
        case "ipv6Address": "IPv6 address (runtimeConfig.ips, IP in CNI_ARGS, or the IPAM range)"
        case "mac": "MAC (runtimeConfig.mac or MAC in CNI_ARGS)"
        case "ports", "hostPort", "port": "hostPort in runtimeConfig.portMappings"
        case "subnet": "\"subnet\" in the network configuration"
        case "gateway": "\"gateway\" in the network configuration"
        case "ipv6Subnet": "\"ipv6Subnet\" in the network configuration"
        case "ipv6Gateway": "\"ipv6Gateway\" in the network configuration"
        case "bridge": "\"bridge\" in the network configuration"
        case "mtu": "\"mtu\" in the network configuration"
        case "name", "network": "network \"name\""
        default: parameter
        }
    }
}
