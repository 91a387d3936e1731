/// The `CNI_*` environment variables of one invocation, checked as the specification
/// demands for each command.
public struct CNIEnvironment: Sendable, Hashable {
    /// The operation the runtime asks for.
    public enum Command: String, Sendable, Hashable, CaseIterable {
        /// `CNI_COMMAND`'s values.
        case add = "ADD", del = "DEL", check = "CHECK", gc = "GC", status = "STATUS", version = "VERSION"

        /// A `switch`, not the synthesized initializer, which searches an array of the case
        /// names whose metadata the runtime builds at first use (perf8).
        public init?(rawValue: String) {
            switch rawValue {
            case "ADD": self = .add
            case "DEL": self = .del
            case "CHECK": self = .check
            case "GC": self = .gc
            case "STATUS": self = .status
            case "VERSION": self = .version
            default: return nil
            }
        }
    }

    /// `CNI_COMMAND`.
    public var command: Command
    /// `CNI_CONTAINERID`; empty for GC, STATUS and VERSION.
    public var containerID: String
    /// `CNI_NETNS`: a path to the container's network namespace; empty when not given (DEL may omit it).
    public var netns: String
    /// `CNI_IFNAME`: the interface to create inside the namespace.
    public var ifname: String
    /// `CNI_ARGS` as key-value pairs, in order.
    public var args: [(String, String)]
    /// `CNI_PATH`: where to look for plugins (the IPAM plugin), in order.
    public var path: [String]

    public static func == (lhs: CNIEnvironment, rhs: CNIEnvironment) -> Bool {
        lhs.command == rhs.command && lhs.containerID == rhs.containerID && lhs.netns == rhs.netns && lhs.ifname == rhs.ifname
            && lhs.path == rhs.path && lhs.args.elementsEqual(rhs.args) { $0 == $1 }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(command)
        hasher.combine(containerID)
        hasher.combine(netns)
        hasher.combine(ifname)
    }

    /// Reads and checks the variables from `environment`. Errors are code 4 (invalid
    /// environment), naming the variable and what is wrong with it.
    public init(_ environment: [String: String]) throws(CNIError) {
        try self.init(CNIVariables(environment))
    }

    /// The variables the specification passes a plugin.
    static let variables = ["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"]

    /// Reads and checks the variables from `environment` (see `init(_:)` above). One of
    /// them that is not valid UTF-8 is code 4 naming it.
    public init(_ environment: CNIVariables) throws(CNIError) {
        // Read as it is, a bad byte would be U+FFFD: another id, path or name than the runtime's.
        if let name = environment.malformedNames.first(where: { Self.variables.contains($0) }) {
            throw CNIError(.invalidEnvironment, "\(name) is not valid UTF-8", details: "the runtime must pass the CNI_* variables as UTF-8 text")
        }
        guard let commandText = environment["CNI_COMMAND"], !commandText.isEmpty else {
            throw CNIError(.invalidEnvironment, "CNI_COMMAND is not set", details: "set it to ADD, DEL, CHECK, GC, STATUS or VERSION")
        }
        guard let command = Command(rawValue: commandText) else {
            throw CNIError(.invalidEnvironment, "CNI_COMMAND \"\(commandText)\" is not a CNI command",
                           details: "use ADD, DEL, CHECK, GC, STATUS or VERSION")
        }
        self.command = command
        containerID = environment["CNI_CONTAINERID"] ?? ""
        netns = environment["CNI_NETNS"] ?? ""
        ifname = environment["CNI_IFNAME"] ?? ""
        path = Self.splitPath(environment["CNI_PATH"] ?? "")
        args = []
        guard command != .version else { return }
        args = try Self.parseArgs(environment["CNI_ARGS"] ?? "")
        switch command {
        case .add, .check:
            try Self.checkContainerID(containerID)
            guard !netns.isEmpty else {
                throw CNIError(.invalidEnvironment, "CNI_NETNS is not set", details: "\(command.rawValue) needs the path of the container's network namespace")
            }
            try Self.checkIfname(ifname)
            guard CNIAttachment.fits(containerID: containerID, ifname: ifname) else {
                let length = CNIAttachment.endpointID(containerID: containerID, ifname: ifname).utf8.count
                throw CNIError(.invalidEnvironment, "CNI_CONTAINERID (\(containerID.utf8.count) bytes) and CNI_IFNAME make an attachment id of \(length) bytes",
                               details: "berth-cni records an attachment as CONTAINERID-IFNAME in at most \(CNIAttachment.maxIDLength) bytes "
                                   + "(an interface name's bytes other than letters, digits, '.' and '-' take three): use a shorter container id or interface name")
            }
        case .del:
            // No length limit: the specification sets none, and DEL must finish for an id
            // ADD refused as too long, so a delegated lease is given back (see `del`).
            try Self.checkContainerID(containerID)
            try Self.checkIfname(ifname)
        case .gc, .status, .version:
            break
        }
    }

    /// `CNI_PATH`'s directories, empty ones left out; split on the bytes, so no `[Substring]`
    /// is built (its metadata is one more first use on every command; perf8).
    static func splitPath(_ text: String) -> [String] {
        var directories: [String] = []
        let utf8 = text.utf8
        var start = utf8.startIndex
        var index = start
        while index != utf8.endIndex {
            if utf8[index] == UInt8(ascii: ":") {
                if start != index { directories.append(String(text[start..<index])) }
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        if start != utf8.endIndex { directories.append(String(text[start...])) }
        return directories
    }

    /// The value of `key` in `CNI_ARGS`, if given: its last, as the reference's `LoadArgs`
    /// sets a field once per pair, in order.
    public func arg(_ key: String) -> String? {
        args.last { $0.0 == key }?.1
    }

    /// The keys of `CNI_ARGS` Berth understands; others need `IgnoreUnknown`, as in the
    /// reference plugins.
    static let knownArgs: Set = ["IgnoreUnknown", "IP", "MAC"]

    /// `KEY=VALUE;KEY=VALUE`, read as the reference's `types.LoadArgs` reads it: split at
    /// the bytes ';' and '=' — not at Characters, where U+037E would count as ';' and an
    /// '=' followed by a combining mark would not be one — each item exactly one `=` (an
    /// empty item, as `;;` or a trailing `;` make, and `K=a=b` are refused), a key given
    /// twice taking its last value (`IgnoreUnknown=1;IgnoreUnknown=0` ignores nothing), and
    /// `IgnoreUnknown` `1`, `0`, `true` or `false` in any case. An empty key is an unknown
    /// one. What the reference returns as a plain error (which its plugins' skeleton turns
    /// into code 999) is code 4 here, the specification's for an invalid variable.
    static func parseArgs(_ text: String) throws(CNIError) -> [(String, String)] {
        guard !text.isEmpty else { return [] }
        var pairs: [(String, String)] = []
        for item in text.utf8.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false) {
            let parts = item.split(separator: UInt8(ascii: "="), maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw CNIError(.invalidEnvironment, "CNI_ARGS item \"\(String(decoding: item, as: UTF8.self))\" is not KEY=VALUE",
                               details: "separate KEY=VALUE pairs with ';', each with one '=' and no ';' at either end")
            }
            pairs.append((String(decoding: parts[0], as: UTF8.self), String(decoding: parts[1], as: UTF8.self)))
        }
        var ignoreUnknown = false
        for (key, value) in pairs where key == "IgnoreUnknown" {
            switch value.lowercased() {
            case "1", "true": ignoreUnknown = true
            case "0", "false": ignoreUnknown = false
            default:
                throw CNIError(.invalidEnvironment, "CNI_ARGS item \"IgnoreUnknown=\(value)\" is not a boolean",
                               details: "give IgnoreUnknown as 1, 0, true or false")
            }
        }
        if !ignoreUnknown, let unknown = pairs.first(where: { !knownArgs.contains($0.0) }) {
            throw CNIError(.invalidEnvironment, "CNI_ARGS has the unknown key \"\(unknown.0)\"",
                           details: "berth-cni understands IP and MAC; add IgnoreUnknown=1 to pass others")
        }
        return pairs
    }

    /// Alphanumeric first, then alphanumerics, '_', '.' and '-' (the specification's rule);
    /// the length is the attachment id's (`CNIAttachment.fits`), checked with the interface name.
    static func checkContainerID(_ id: String) throws(CNIError) {
        guard !id.isEmpty else {
            throw CNIError(.invalidEnvironment, "CNI_CONTAINERID is not set", details: "the runtime must name the container")
        }
        func isAlnum(_ b: UInt8) -> Bool { (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b) }
        let bytes = Array(id.utf8)
        guard isAlnum(bytes[0]), bytes.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }) else {
            throw CNIError(.invalidEnvironment, "CNI_CONTAINERID \"\(id)\" is invalid",
                           details: "a container id starts with a letter or digit and holds only letters, digits, '_', '.' and '-'")
        }
    }

    /// At most 15 bytes, not empty, "." or "..", and no '/', ':' or whitespace (the kernel's
    /// and the specification's rule).
    static func checkIfname(_ name: String) throws(CNIError) {
        guard !name.isEmpty else {
            throw CNIError(.invalidEnvironment, "CNI_IFNAME is not set", details: "name the interface to create, such as eth0")
        }
        guard name.utf8.count <= 15 else {
            throw CNIError(.invalidEnvironment, "CNI_IFNAME \"\(name)\" is \(name.utf8.count) bytes long", details: "interface names have at most 15 bytes")
        }
        guard name != ".", name != "..",
              !name.utf8.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 <= 0x20 || $0 == 0x7F }) else {
            throw CNIError(.invalidEnvironment, "CNI_IFNAME \"\(name)\" is not a valid interface name",
                           details: "interface names must not be '.' or '..' nor contain '/', ':' or whitespace")
        }
    }
}
