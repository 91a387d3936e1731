import ArgumentParser
import Berth

/// `berth netns add|del|ls`: named network namespaces, shared with `ip netns`.
struct NetnsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netns",
        abstract: "Create, delete and list named network namespaces (/run/netns, shared with ip netns).",
        subcommands: [Add.self, Delete.self, List.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a named network namespace.")
        @Argument(help: "The namespace name.") var name: String

        func run() throws {
            _ = try NetworkNamespace.create(named: name)
        }
    }

    /// Refused while recorded endpoints use the namespace: deleting it would strand them
    /// (their records and published ports stay, `berth ps` lists them, and their veth pairs
    /// live on in whatever still holds the namespace). `--force` detaches them first.
    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "del", abstract: "Delete a named network namespace.",
            discussion: "Refused while Berth endpoints are attached in it: detach them first, or add --force to detach them and delete it.",
            aliases: ["delete", "rm"])
        @Argument(help: "The namespace name.") var name: String
        @Flag(help: "Detach the Berth endpoints attached in the namespace first (a running container's are still refused).") var force = false
        @OptionGroup var state: StateOption

        func run() throws {
            let manager = try state.manager()
            let users = try Self.endpoints(in: name, manager: manager)
            if !users.isEmpty {
                let ids = users.map { EndpointShortID.display($0.id) }.joined(separator: " ")
                guard force else {
                    throw BerthError(.conflict, "namespace \(name) has \(users.count == 1 ? "endpoint" : "endpoints") \(ids) attached",
                                     hint: "detach \(users.count == 1 ? "it" : "them") first with 'berth detach \(ids)', or add --force to detach \(users.count == 1 ? "it" : "them") and delete it",
                                     object: .namespace(name))
                }
                // All or nothing: a running container's endpoint refuses before any other is
                // detached, so a refusal leaves the namespace as it was. Each detach checks
                // again in its own transaction (a container started meanwhile).
                try manager.store.read { tx throws(BerthError) in
                    for endpoint in users { try Container.refuseDetachingActive(tx, argument: endpoint.id, endpoint: endpoint) }
                }
                for endpoint in users {
                    try manager.detach(id: endpoint.id) { tx, argument, found throws(BerthError) in
                        try Container.refuseDetachingActive(tx, argument: argument, endpoint: found)
                    }
                }
            }
            try NetworkNamespace.delete(named: name)
        }

        /// The recorded endpoints in namespace `name`: the same kernel namespace, or, when it
        /// cannot be opened, the same path.
        static func endpoints(in name: String, manager: NetworkManager) throws(BerthError) -> [EndpointRecord] {
            try NetworkNamespace.validate(name: name)
            let path = NetworkNamespace.runDirectory + "/" + name
            let identity = try? NetworkNamespace.open(named: name).identity
            return try manager.endpoints().filter { $0.namespaceIdentity == identity || $0.namespacePath == path }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List named network namespaces.", aliases: ["list"])
        @OptionGroup var output: JSONOption

        func run() throws {
            let names = try NetworkNamespace.list()
            if output.json {
                Output.json(.array(names.map { .object([("name", .string($0))]) }))
            } else {
                for name in names { print(name) }
            }
        }
    }
}
