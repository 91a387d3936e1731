#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import BerthCore

/// `berth-lab`, run as `berth lab …`: declarative topologies from lab files. A program of
/// its own so that YAML parsing (Yams) and Foundation never load in the `berth` binary that
/// runtimes start per container.
@main
struct BerthLabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth lab",
        abstract: "Declarative network labs: namespaces joined by veth links, from a YAML file.",
        discussion: """
        Nodes are network namespaces named LAB-NODE (visible to ip netns); links are veth pairs born in their namespaces. \
        A node can join a Berth network (publishing ports) and run a container (berth run, named LAB-NODE).
        """,
        subcommands: [UpCommand.self, DownCommand.self, ListCommand.self, InspectCommand.self, ExecCommand.self,
                      GraphCommand.self, ImpairCommand.self, GCCommand.self, CheckCommand.self]
    )

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as BerthError {
            let line = Array("berth lab: \(LabHints.message(for: error))\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            terminate(1)
        } catch {
            exit(withError: error)
        }
    }
}
