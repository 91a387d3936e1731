import ArgumentParser
import Berth

/// `berth nft ls`: Berth's own nftables tables (names starting with `berth`), read from the
/// kernel over netlink and printed in nft syntax — no `nft` binary needed.
struct NFTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nft",
        abstract: "Show Berth's nftables rules (read over netlink, printed as nft does).",
        subcommands: [List.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "Print Berth's nftables tables in nft syntax.", aliases: ["list"])

        @Option(name: .long, help: ArgumentHelp("Work in this network namespace: a name from /run/netns or a path such as /proc/PID/ns/net.",
                                                valueName: "NS"))
        var netns: String?

        func run() throws {
            let namespace = try netns.map { name throws(BerthError) in try NetworkNamespace.open(nameOrPath: name) }
            let backend = try KernelBackend(namespace: namespace)
            print(try backend.dump(prefix: "berth"), terminator: "")
        }
    }
}
