#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import Berth

/// `berth run`: a command in its own namespaces, wired to a network before it runs.
///
/// In the foreground berth is the container's supervisor: stdio passes through, SIGINT and
/// SIGTERM go to the command, berth exits with its status. With `-d` a detached supervisor
/// (berth again, entered through the hidden `_supervise`; see `HotPath`) does the same with
/// no terminal, and berth prints the container's name once it runs. Both are BerthRun's
/// `Supervisor`; this command only parses, prints and exits.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a command as a container attached to a network.",
        discussion: "The command runs in new network, UTS, IPC, PID and mount namespaces; its network is ready before it starts.")

    @OptionGroup var arguments: RunArguments
    @Flag(name: [.customShort("d"), .long], help: "Run in the background and print the container's name.") var detach = false
    @Flag(help: "Accepted for docker compatibility: a container is always removed when its command ends.") var rm = false
    @OptionGroup var state: StateOption

    /// The hidden command that enters `Supervisor.main()` in the detached supervisor.
    static let superviseCommand = "_supervise"

    /// The command is captured verbatim, so `berth run --help` would otherwise try to run
    /// a program called "--help".
    func validate() throws {
        if let first = arguments.command.first, first == "-h" || first == "--help" {
            throw CleanExit.helpRequest(self)
        }
    }

    func run() throws {
        let options = try arguments.options()
        if detach {
            let started = try Supervisor.start(options, stateDirectory: state.stateDir, entry: Supervisor.Entry(arguments: [Self.superviseCommand]))
            print(started.name)
        } else {
            let exit = try Supervisor.run(options, manager: state.manager())
            Output.terminate(status: exit.code)
        }
    }

    /// `path` made absolute against the current directory.
    static func absolute(_ path: String, what: String) throws(BerthError) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { throw .system("find the current directory for \(what) \(path)", Errno(errno)) }
        let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (cwd.hasSuffix("/") ? cwd : cwd + "/") + path
    }
}

/// The options of `berth run`.
struct RunArguments: ParsableArguments {
    @Option(help: ArgumentHelp("The network: a network's name, 'none' (only loopback) or 'host' (the host's own).", valueName: "NAME"))
    var network = ContainerNetwork.defaultName
    @Option(name: [.customShort("p"), .customLong("publish")],
            help: ArgumentHelp("Publish a container port on the host: [HOSTIP:][HOSTPORT[-END]:]CONTAINERPORT[-END][/tcp|udp|sctp].", valueName: "SPEC"))
    var publish: [String] = []
    @Option(help: "The container's name (default: berth- and 12 hex digits of its id).") var name: String?
    @Option(help: "The hostname inside (default: 12 hex digits of its id).") var hostname: String?
    @Option(help: ArgumentHelp("A static address in the network's subnet.", valueName: "IP")) var ip: String?
    @Option(help: ArgumentHelp("A directory to use as the root filesystem (default: the host's files, with a fresh /proc).", valueName: "DIR"))
    var rootfs: String?
    @Option(name: [.customShort("e"), .long], help: ArgumentHelp("Set an environment variable.", valueName: "K=V")) var env: [String] = []
    @Option(name: [.customShort("w"), .long], help: ArgumentHelp("The working directory inside.", valueName: "DIR")) var workdir: String?
    @Flag(help: "Keep all capabilities and an unmasked /proc and /sys, as docker run --privileged.") var privileged = false
    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("The command and its arguments (after '--').", valueName: "COMMAND"))
    var command: [String] = []

    /// The command without the `--` that may precede it.
    var commandLine: [String] { command.first == "--" ? Array(command.dropFirst()) : command }

    func options() throws(BerthError) -> RunOptions {
        let process = ContainerSpec(
            command: commandLine, hostname: hostname,
            rootfs: try rootfs.map { path throws(BerthError) in try RunCommand.absolute(path, what: "root filesystem") },
            environment: env, workingDirectory: workdir, privileged: privileged)
        return RunOptions(
            process: process, name: name, network: try ContainerNetwork(parsing: network),
            ports: try publish.map { text throws(BerthError) in try PortSpec(parsing: text) },
            address: try ip.map { text throws(BerthError) in try IPv4Address(parsing: text) })
    }
}
