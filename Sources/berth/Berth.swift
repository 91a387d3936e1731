import ArgumentParser
import Berth

/// `berth`: the command-line face of Berth. Each command group lives in its own file.
@main
struct Berth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "Container networking for Linux: networks, endpoints, namespaces, links, addresses and routes.",
        version: berthVersion,
        subcommands: [
            NetworkCommand.self, AttachCommand.self, DetachCommand.self, PsCommand.self, PortCommand.self, CheckCommand.self, GCCommand.self, ReconcileCommand.self,
            NetnsCommand.self, LinkCommand.self, AddrCommand.self, RouteCommand.self, NFTCommand.self,
            RunCommand.self, StartCommand.self, StopCommand.self, RestartCommand.self, RmCommand.self, LogsCommand.self, ExecCommand.self,
            HookCommand.self, LabCommand.self,
        ]
    )

    /// Parses and runs a command. A BerthError prints as `berth: <what went wrong> (<fix>)`,
    /// worded by `CLIHints`, and exits 1; usage errors keep argument-parser's message and exit
    /// code.
    static func main() {
        do {
            Trace.mark("main")
            let arguments = Array(CommandLine.arguments.dropFirst())
            if try HotPath.run(arguments) {
                Trace.mark("done")
                return
            }
            if let message = NetworkCommand.dashedName(in: arguments) {
                Output.error(message)
                Output.terminate(status: 64)
            }
            var command = try parseAsRoot()
            Trace.mark("parsed")
            try command.run()
            Trace.mark("done")
        } catch let error as BerthError {
            Output.error(CLIHints.message(for: error))
            Output.terminate(status: 1)
        } catch {
            exit(withError: error)
        }
    }
}

/// The version `berth --version` prints.
let berthVersion = "0.1.0-dev"
