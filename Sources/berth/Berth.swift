import ArgumentParser
import Berth

/// `berth`: the command-line face of Berth. Each command group lives in its own file.
///
/// This is the full CLI, built as `berth-cli`: the lean `berth` binary (Sources/berth-lean)
/// runs attach, detach and the supervisor itself and execs this one, with the same
/// arguments, for everything else. A new command is registered here, in `subcommands`, and
/// nowhere else; only a command a runtime runs per container belongs on the hot path too
/// (`HotPath`, with a parity test).
@main
struct Berth: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "Container networking for Linux: networks, endpoints, namespaces, links, addresses and routes.",
        version: berthVersion,
        subcommands: [
            NetworkCommand.self, InspectCommand.self, AttachCommand.self, DetachCommand.self, PsCommand.self, PortCommand.self, CheckCommand.self, GCCommand.self, ReconcileCommand.self,
            NetnsCommand.self, LinkCommand.self, AddrCommand.self, RouteCommand.self, NFTCommand.self,
            RunCommand.self, StartCommand.self, StopCommand.self, RestartCommand.self, KillCommand.self, WaitCommand.self, RmCommand.self, LogsCommand.self,
            ExecCommand.self, StatsCommand.self,
            HookCommand.self, LabCommand.self, VersionCommand.self,
        ]
    )

    /// Parses and runs a command. A BerthError prints as `berth: <what went wrong> (<fix>)`,
    /// worded by `CLIHints`, and exits 1; a usage error prints in the same form
    /// (`UsageErrors`) and exits 64. `berth run` and `berth exec` exit as `docker run` does instead (`ContainerExitCode`).
    static func main() {
        // Before any output: a reader that went away makes a write fail, not the command.
        Output.ignoreBrokenPipe()
        let arguments = Array(CommandLine.arguments.dropFirst())
        let containerCommand = arguments.first == "run" || arguments.first == "exec"
        do {
            Trace.mark("main")
            // This process spawns the container (run in the foreground, exec): its binary must
            // be one the container cannot write to (CVE-2019-5736; SealedExecutable). Through
            // the lean berth it already is; run directly, it execs itself once more.
            if containerCommand { try SealedExecutable.ensure() }
            if try HotPath.run(arguments) {
                Trace.mark("done")
                return
            }
            if let message = UsageErrors.formatOption(in: arguments) ?? NetworkCommand.dashedName(in: arguments)
                ?? UsageErrors.unknownSubcommand(in: arguments) {
                Output.error(message)
                Output.terminate(status: 64)
            }
            var command = try parseAsRoot(JoinedValues.split(arguments))
            Trace.mark("parsed")
            try command.run()
            Trace.mark("done")
        } catch let error as BerthError {
            Output.error(CLIHints.message(for: error))
            Output.terminate(status: containerCommand ? ContainerExitCode.status(for: error) : 1)
        } catch {
            if exitCode(for: error) == .validationFailure {
                // One line, `berth: unknown option '-q' (see 'berth ps --help')`; a bad flag
                // of run or exec is berth's own failure: 125, as docker's.
                Output.error(UsageErrors.line(message(for: error), arguments: arguments))
                Output.terminate(status: containerCommand ? ContainerExitCode.berthFailed : ExitCode.validationFailure.rawValue)
            }
            if containerCommand, exitCode(for: error) != .success {
                let text = message(for: error)
                if !text.isEmpty { Output.error(text) }
                Output.terminate(status: ContainerExitCode.berthFailed)
            }
            exit(withError: error)
        }
    }
}
