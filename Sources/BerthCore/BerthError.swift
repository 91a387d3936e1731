/// The one error type Berth's API throws: a code to branch on, a message that names the
/// problem and the value at fault, what it is about (object, operation, parameter), a
/// remedy in the library's own terms, and the underlying cause.
///
/// Modeled on errors that a person reads first and a program inspects second:
/// `description` is the library's own wording; `code`, `object`, `operation`, `parameter`
/// and `remedy` are what callers switch over. A front end (the CLI, the CNI plugin, the OCI
/// hook) words its own advice from those fields — the library never names a command or a
/// command-line flag, because an embedding runtime has neither.
public struct BerthError: Error, Sendable, CustomStringConvertible {
    /// Broad classes of failure, stable for programs to match on.
    public enum Code: String, Sendable, Hashable, Codable {
        /// A value given by the caller is malformed or out of range.
        case invalidArgument
        /// A named object (namespace, link, network, endpoint) does not exist.
        case notFound
        /// An object to be created already exists.
        case alreadyExists
        /// A resource is held by someone else (a port, an address, a name).
        case conflict
        /// The caller lacks a privilege (usually CAP_NET_ADMIN or CAP_SYS_ADMIN).
        case permissionDenied
        /// The kernel lacks a feature Berth needs (a module, a link type, an expression).
        case unsupported
        /// The kernel refused an operation for another reason.
        case kernel
        /// Berth's recorded state is unreadable or inconsistent.
        case state
        /// A system call failed outside the kernel's networking code (files, mounts, threads).
        case system
        /// A bug in Berth: an invariant did not hold.
        case internalError
    }

    /// What kind of failure this is.
    public let code: Code
    /// What went wrong, naming the value or object at fault.
    public let message: String
    /// How to fix it, in the library's terms (never a command or a flag), when there is
    /// something the caller can do.
    public let hint: String?
    /// The object the error is about, when there is one.
    public let object: Object?
    /// The operation that failed, when the error comes from one.
    public let operation: Operation?
    /// The request field at fault (`AttachOptions.interfaceName` is "interfaceName"), so a
    /// front end can name its own flag or key for it.
    public let parameter: String?
    /// A structured fix that front ends word in their own terms.
    public let remedy: Remedy?
    /// The lower-level error this one wraps, if any.
    public let cause: (any Error & Sendable)?

    /// An error of `code` with `message`, and whatever else is known about it.
    public init(_ code: Code, _ message: String, hint: String? = nil, object: Object? = nil, operation: Operation? = nil,
                parameter: String? = nil, remedy: Remedy? = nil, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.object = object
        self.operation = operation
        self.parameter = parameter
        self.remedy = remedy
        self.cause = cause
    }

    /// The message, then the cause's words after a colon, then the hint (else the remedy's
    /// library wording) in parentheses: what a program that does not word its own advice shows.
    public var description: String {
        var text = message
        if let cause { text += ": \(cause)" }
        if let advice = hint ?? remedy?.description { text += " (\(advice))" }
        return text
    }

    /// The same error with what the caller knows added: fields already set are kept.
    public func with(object: Object? = nil, operation: Operation? = nil, parameter: String? = nil, remedy: Remedy? = nil) -> BerthError {
        BerthError(code, message, hint: hint, object: self.object ?? object, operation: self.operation ?? operation,
                   parameter: self.parameter ?? parameter, remedy: self.remedy ?? remedy, cause: cause)
    }

    /// Shorthand for the most common failure: a bad value given by the caller.
    public static func invalid(_ message: String, hint: String? = nil, parameter: String? = nil, object: Object? = nil) -> BerthError {
        BerthError(.invalidArgument, message, hint: hint, object: object, parameter: parameter)
    }
}

extension BerthError {
    /// What an error is about: a kind of object and its name as the user knows it.
    public struct Object: Sendable, Hashable, CustomStringConvertible {
        /// The kind of object: "network", "endpoint", "link", "namespace", "port", ….
        public var kind: Kind
        /// Its name, id, path or value.
        public var name: String
        /// The network namespace it lives in (a name or path, as the caller gave it), when
        /// that is not the caller's own: a front end points its advice there.
        public var namespace: String?

        /// An object of `kind` named `name`, in `namespace` when that is not the caller's own.
        public init(_ kind: Kind, _ name: String, namespace: String? = nil) {
            self.kind = kind
            self.name = name
            self.namespace = namespace
        }

        /// "KIND NAME", as messages name it (`network web`).
        public var description: String { "\(kind.rawValue) \(name)" }

        /// Object kinds; an open set, so each target can add its own.
        public struct Kind: RawRepresentable, Sendable, Hashable {
            /// The kind's name as messages show it ("network", "endpoint", …).
            public var rawValue: String
            /// The kind named `rawValue`: one of the kinds below, or a target's own.
            public init(rawValue: String) { self.rawValue = rawValue }

            /// A Berth network, by its name.
            public static let network = Kind(rawValue: "network")
            /// A container's attachment to a network, by endpoint id.
            public static let endpoint = Kind(rawValue: "endpoint")
            /// A set of ports published together, by its id.
            public static let publication = Kind(rawValue: "publication")
            /// A container, by name or id.
            public static let container = Kind(rawValue: "container")
            /// A network namespace, by path or name.
            public static let namespace = Kind(rawValue: "namespace")
            /// A network interface, by name.
            public static let link = Kind(rawValue: "link")
            /// A network's bridge interface, by name.
            public static let bridge = Kind(rawValue: "bridge")
            /// An interface address, as `ADDRESS/PREFIX`.
            public static let address = Kind(rawValue: "address")
            /// An IP prefix, as `ADDRESS/PREFIX`.
            public static let subnet = Kind(rawValue: "subnet")
            /// A route, by its destination.
            public static let route = Kind(rawValue: "route")
            /// A host port, by its protocol, address and port.
            public static let port = Kind(rawValue: "port")
            /// An nftables table, chain, set or rule.
            public static let nftables = Kind(rawValue: "nftables")
            /// Berth's state store, by its path.
            public static let state = Kind(rawValue: "state")
            /// A file, by its path.
            public static let file = Kind(rawValue: "file")
            /// A process, by its pid.
            public static let process = Kind(rawValue: "process")
        }

        /// The network named `name`.
        public static func network(_ name: String) -> Object { Object(.network, name) }
        /// The endpoint with id `id`.
        public static func endpoint(_ id: String) -> Object { Object(.endpoint, id) }
        /// The publication with id `id`.
        public static func publication(_ id: String) -> Object { Object(.publication, id) }
        /// The container named `name`.
        public static func container(_ name: String) -> Object { Object(.container, name) }
        /// The network namespace at `path`.
        public static func namespace(_ path: String) -> Object { Object(.namespace, path) }
        /// The interface `name`, in `namespace` when not the caller's own.
        public static func link(_ name: String, namespace: String? = nil) -> Object { Object(.link, name, namespace: namespace) }
        /// The bridge `name`.
        public static func bridge(_ name: String) -> Object { Object(.bridge, name) }
        /// The host port `key`.
        public static func port(_ key: String) -> Object { Object(.port, key) }
        /// The state store at `path`.
        public static func state(_ path: String) -> Object { Object(.state, path) }
        /// The file at `path`.
        public static func file(_ path: String) -> Object { Object(.file, path) }
    }

    /// Operations, named as the library's API names them; an open set.
    public struct Operation: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The operation's name as messages show it ("attach", "create network", …).
        public var rawValue: String
        /// The operation named `rawValue`: one of those below, or a target's own.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The operation's name, `rawValue`.
        public var description: String { rawValue }

        /// Creating a network.
        public static let createNetwork = Operation(rawValue: "create network")
        /// Removing a network.
        public static let removeNetwork = Operation(rawValue: "remove network")
        /// Attaching a container to a network.
        public static let attach = Operation(rawValue: "attach")
        /// Detaching a container from a network.
        public static let detach = Operation(rawValue: "detach")
        /// Publishing ports.
        public static let publish = Operation(rawValue: "publish")
        /// Withdrawing published ports.
        public static let unpublish = Operation(rawValue: "unpublish")
        /// Removing a network's endpoints other than those to keep.
        public static let prune = Operation(rawValue: "prune")
        /// Checking recorded state against the kernel.
        public static let check = Operation(rawValue: "check")
        /// Garbage collection of leftovers.
        public static let gc = Operation(rawValue: "gc")
        /// Bringing the kernel back in line with recorded state.
        public static let reconcile = Operation(rawValue: "reconcile")
        /// Running a container.
        public static let run = Operation(rawValue: "run")
        /// Stopping a container.
        public static let stop = Operation(rawValue: "stop")
        /// Running a process in a container.
        public static let exec = Operation(rawValue: "exec")
        /// Opening the state store.
        public static let openState = Operation(rawValue: "open state")
    }

    /// A fix a front end can offer in its own words. `description` is the library's wording.
    public enum Remedy: Sendable, Hashable, CustomStringConvertible {
        /// Leftovers of a crash are in the way: garbage collection removes them.
        case collectGarbage
        /// The kernel lost objects the state records: reconciling restores them.
        case reconcile
        /// The object has endpoints attached that must be detached first.
        case detachEndpoints
        /// Remove or stop the named object first.
        case remove(Object)
        /// Stop the named object (a running container) first.
        case stop(Object)
        /// Give another value for `parameter`.
        case chooseAnother(parameter: String)
        /// More privilege is needed (root, or the named capability).
        case privilege(String)
        /// Look the object up among those that exist (its kind).
        case listExisting(Object.Kind)
        /// Give `parameter`, which the request left out.
        case give(parameter: String)
        /// Leave `parameter` out: the rest of the request rules it out.
        case leaveOut(parameter: String)

        /// The fix in the library's words, never a command or a flag.
        public var description: String {
            switch self {
            case .collectGarbage: "remove leftovers with garbage collection"
            case .reconcile: "reconcile to restore what the kernel lost"
            case .detachEndpoints: "detach its endpoints first"
            case .remove(let object): "remove \(object) first"
            case .stop(let object): "stop \(object) first"
            case .chooseAnother(let parameter): "choose another \(parameter)"
            case .privilege(let capability): "run as root or with \(capability)"
            case .listExisting(let kind): "list the existing \(kind.rawValue)\(kind.rawValue.hasSuffix("s") ? "es" : "s")"
            case .give(let parameter): "give \(parameter)"
            case .leaveOut(let parameter): "leave \(parameter) out"
            }
        }
    }
}
