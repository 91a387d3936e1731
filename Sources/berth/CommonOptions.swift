import ArgumentParser
import Berth

/// `--netns NS`: a name from /run/netns or a path such as /proc/PID/ns/net. Without it a
/// command works in berth's own network namespace.
struct NamespaceOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Work in this network namespace: a name from /run/netns or a path such as /proc/PID/ns/net.",
                                            valueName: "NS"))
    var netns: String?

    /// The namespace named, if any.
    func namespace() throws(BerthError) -> NetworkNamespace? {
        CLIHints.commandNamespace.withLock { $0 = netns }
        return try netns.map { name throws(BerthError) in try NetworkNamespace.open(nameOrPath: name) }
    }

    /// An rtnetlink handle in the namespace named (or berth's own).
    func netlink() throws(BerthError) -> RouteNetlink {
        try RouteNetlink(namespace: namespace())
    }
}

/// `--json`: print JSON instead of columns.
struct JSONOption: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of columns.")
    var json = false
}

/// Parses a value given on the command line into a BerthError that names it.
enum Parse {
    static func name(_ text: String) throws(BerthError) -> InterfaceName { try InterfaceName(text) }
    static func link(_ text: String) throws(BerthError) -> LinkReference { .name(try InterfaceName(text)) }
    static func cidr(_ text: String) throws(BerthError) -> CIDR { try CIDR(parsing: text) }
    static func address(_ text: String) throws(BerthError) -> IPAddress { try IPAddress(parsing: text) }
    static func mac(_ text: String) throws(BerthError) -> MACAddress { try MACAddress(parsing: text) }

    /// `default` (or `default4`-style spellings are not accepted) or a CIDR.
    static func destination(_ text: String) throws(BerthError) -> CIDR? {
        text == "default" ? nil : try CIDR(parsing: text)
    }
}
