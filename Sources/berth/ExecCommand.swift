import ArgumentParser
import Berth

/// `berth exec`: a command inside a running container's namespaces; exits with its status.
struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exec", abstract: "Run a command in a running container.")
    @Option(name: [.customShort("e"), .long], help: ArgumentHelp("Set an environment variable.", valueName: "K=V")) var env: [String] = []
    @Option(name: [.customShort("w"), .long], help: ArgumentHelp("The working directory inside.", valueName: "DIR")) var workdir: String?
    @Flag(help: "Keep all capabilities.") var privileged = false
    @OptionGroup var state: StateOption
    @Argument(help: "The container's name (or a unique id prefix).") var container: String
    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("The command and its arguments (after '--').", valueName: "COMMAND"))
    var command: [String] = []

    func run() throws {
        let argv = command.first == "--" ? Array(command.dropFirst()) : command
        let process = try Container.exec(container, command: argv, environment: env, workingDirectory: workdir,
                                         privileged: privileged, manager: state.manager())
        SignalForwarding.forward(to: process)
        let exit = try process.wait()
        SignalForwarding.stop()
        Output.terminate(status: exit.code)
    }
}
