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
/// SIGTERM go to the command, berth exits with its status and cleans up. With `-d` berth
/// re-executes itself as a detached `berth _supervise` that does the same with no terminal,
/// and returns once that supervisor reports the container running (or its error).
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a command as a container attached to a network.",
        discussion: "The command runs in new network, UTS, IPC, PID and mount namespaces; its network is ready before it starts.")

    @OptionGroup var arguments: RunArguments
    @Flag(name: [.customShort("d"), .long], help: "Run in the background and print the container's name.") var detach = false
    @Flag(help: "Accepted for docker compatibility: a container is always removed when its command ends.") var rm = false
    @OptionGroup var state: StateOption

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
            try options.validate()
            try Self.startSupervisor(arguments.argv(), stateDirectory: state.stateDir)
        } else {
            let container = try Container.run(options, manager: state.manager())
            SignalForwarding.forward(to: container.process)
            let exit = try container.wait()
            SignalForwarding.stop()
            Output.terminate(status: exit.code)
        }
    }

    /// Starts `berth _supervise` detached and relays its first report: the container's name,
    /// or the error that left nothing behind.
    static func startSupervisor(_ runArguments: [String], stateDirectory: String?) throws(BerthError) {
        let stateDir = try absolute(StateStore.resolveDirectory(stateDirectory), what: "state directory")
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw .system("create a pipe", Errno(errno)) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard null >= 0 else { throw .system("open /dev/null", Errno(errno)) }
        // The supervisor is berth itself, reporting on its stdout; it is no container (no
        // namespaces of its own) and keeps berth's privileges.
        let spec = ContainerSpec(command: ["/proc/self/exe", SuperviseCommand.name, "--state-dir", stateDir] + runArguments,
                                 namespaces: [], stdin: null, stdout: fds[1], stderr: null, privileged: true)
        let supervisor: ContainerProcess
        do {
            supervisor = try ContainerProcess.spawn(spec)
            close(fds[1])
            close(null)
            try supervisor.start()
        } catch {
            close(fds[0])
            throw error
        }
        let report = readAll(fds[0])
        close(fds[0])
        if report.hasPrefix("ok "), let name = report.dropFirst(3).split(separator: "\n").first {
            print(name)
            return
        }
        let status = try supervisor.wait()
        if report.hasPrefix("error ") {
            Output.error(String(report.dropFirst(6).prefix { $0 != "\n" }))
            Output.terminate(status: 1)
        }
        throw BerthError(.internalError, "the container's supervisor ended (\(status)) without a report")
    }

    static func readAll(_ fd: Int32) -> String {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            data += buffer[..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func absolute(_ path: String, what: String) throws(BerthError) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { throw .system("find the current directory for \(what) \(path)", Errno(errno)) }
        let cwd = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (cwd.hasSuffix("/") ? cwd : cwd + "/") + path
    }
}

/// `berth _supervise`: the detached supervisor of `berth run -d` (hidden). It runs the
/// container, reports `ok NAME` or `error MESSAGE` on its stdout (a pipe to `berth run`),
/// then waits for the command and cleans up.
struct SuperviseCommand: ParsableCommand {
    static let name = "_supervise"
    static let configuration = CommandConfiguration(commandName: name, shouldDisplay: false)

    @OptionGroup var arguments: RunArguments
    @OptionGroup var state: StateOption

    func run() throws {
        // Out of berth run's session: a hangup or Ctrl-C on its terminal is not for us.
        _ = setsid()
        // A berth run killed before reading the report must not take the supervisor with it.
        _ = signal(SIGPIPE, SIG_IGN)
        let report = fcntl(1, F_DUPFD_CLOEXEC, 3)
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        if null >= 0 { _ = dup2(null, 1) }
        func send(_ line: String) {
            let bytes = Array((line + "\n").utf8)
            _ = bytes.withUnsafeBytes { write(report, $0.baseAddress, $0.count) }
            close(report)
        }
        let container: RunningContainer
        do {
            container = try Container.run(try arguments.options(), manager: state.manager())
        } catch {
            send("error " + error.description.split(separator: "\n").joined(separator: " "))
            Output.terminate(status: 1)
        }
        SignalForwarding.forward(to: container.process)
        send("ok " + container.name)
        let exit = try container.wait()
        Output.terminate(status: exit.code)
    }
}

/// The options `berth run` and `berth _supervise` share.
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

    /// The same options as arguments again, for the supervisor (paths made absolute).
    func argv() throws(BerthError) -> [String] {
        var argv = ["--network", network]
        for spec in publish { argv += ["--publish", spec] }
        if let name { argv += ["--name", name] }
        if let hostname { argv += ["--hostname", hostname] }
        if let ip { argv += ["--ip", ip] }
        if let rootfs { argv += ["--rootfs", try RunCommand.absolute(rootfs, what: "root filesystem")] }
        for entry in env { argv += ["--env", entry] }
        if let workdir { argv += ["--workdir", workdir] }
        if privileged { argv.append("--privileged") }
        return argv + ["--"] + commandLine
    }
}
