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
            // Usage errors in berth's one-line form, as the rest of berth's commands give them
            // (argument-parser's own is `Error: …` and a usage block); help and the rest as it has them.
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            let message = message(for: error)
            let text = unknownSubcommand() ?? misplacedExecOption(message) ?? usageLine(message)
            let line = Array("berth lab: \(text)\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            terminate(ExitCode.validationFailure.rawValue)
        }
    }

    /// `berth lab frob`: the subcommands to choose from, as `berth network frob` names its own.
    static func unknownSubcommand(arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> String? {
        guard let word = arguments.first, !word.hasPrefix("-"), word != "help", subcommand(named: word) == nil else { return nil }
        let names = configuration.subcommands.filter { $0.configuration.shouldDisplay }.map { $0._commandName }
        return "unknown subcommand '\(word)' (choose one of: \(names.joined(separator: ", ")); see 'berth lab --help')"
    }

    /// `berth lab exec LAB --state-dir DIR NODE …`: everything after the lab's first word on
    /// is the lab, the node and the command, so argument-parser refuses the option there as
    /// unknown ("Did you mean '--state-dir'?"); say where it goes instead.
    static func misplacedExecOption(_ message: String, arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> String? {
        let prefix = "Unknown option '--state-dir"
        guard arguments.first == "exec", message.hasPrefix(prefix) else { return nil }
        return "--state-dir goes before the lab: berth lab exec [--state-dir DIR] LAB NODE COMMAND [ARG...] (see 'berth lab exec --help')"
    }

    private static func subcommand(named word: String) -> ParsableCommand.Type? {
        configuration.subcommands.first { $0._commandName == word || $0.configuration.aliases.contains(word) }
    }

    /// `message` lower-cased at its start, with where to look: `unknown option '-x' (see
    /// 'berth lab up --help')`; a message that ends in its own parenthesised advice gets the
    /// pointer inside it.
    static func usageLine(_ message: String, arguments: [String] = Array(CommandLine.arguments.dropFirst())) -> String {
        var text = message.first.map { $0.lowercased() + message.dropFirst() } ?? message
        var path = "berth lab"
        if let word = arguments.first, let sub = subcommand(named: word) { path += " " + sub._commandName }
        let see = "see '\(path) --help'"
        if text.hasSuffix(")") {
            text.removeLast()
            return text + "; " + see + ")"
        }
        return text + " (" + see + ")"
    }
}
