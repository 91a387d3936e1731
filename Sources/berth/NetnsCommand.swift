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

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "del", abstract: "Delete a named network namespace.", aliases: ["delete", "rm"])
        @Argument(help: "The namespace name.") var name: String

        func run() throws {
            try NetworkNamespace.delete(named: name)
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
