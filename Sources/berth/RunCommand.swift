#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
/// read(2) under a name no member here shadows, from Glibc or Musl alike.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
import ArgumentParser
import Berth

/// `berth run`: a command in its own namespaces, wired to a network before it runs.
///
/// In the foreground berth is the container's supervisor: its stdio is attached (a terminal
/// with `-t`), signals go to the command, berth exits with its status. With `-d` a detached
/// supervisor (berth again, entered through the hidden `_supervise`; see `HotPath`) does the
/// same with no terminal, and berth prints the container's name once it runs. Both are
/// BerthRun's `Supervisor`; this command only parses, prints and exits.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a command as a container attached to a network.",
        discussion: """
            The command runs in new network, UTS, IPC, PID and mount namespaces; its network is ready before it starts. \
            The container stays, exited, when its command ends (see 'berth ps -a') until 'berth rm' removes it, unless --rm.
            """,
        // `-h` is --hostname's short form, as in docker run and podman run: help is --help alone.
        helpNames: [.long])

    @OptionGroup var arguments: RunArguments
    @Flag(name: [.customShort("d"), .long], help: "Run in the background and print the container's name.") var detach = false
    @OptionGroup var state: StateOption

    /// The hidden command that enters `Supervisor.main()` in the detached supervisor.
    static let superviseCommand = HotPath.superviseCommand

    /// The command is captured verbatim, so `berth run --help` would otherwise try to run
    /// a program called "--help", and a mistyped option (`--netwrok web`) a program of that
    /// name: an option-like first word is an unknown option, as docker's "unknown flag"
    /// (exit 125), unless it came after '--'. (`-h` is `--hostname`, as docker's: argument-parser
    /// reads it, and a `-h` with no value is its usage error.)
    func validate() throws {
        if let first = arguments.command.first {
            if first == "--help" {
                throw CleanExit.helpRequest(self)
            }
            // The capture keeps a '--' that came first (the options drop it): after it, any name.
            // docker's -P publishes every port an image EXPOSEs; berth has no images.
            if first == "-P" || first == "--publish-all" || first.hasPrefix("--publish-all=") {
                throw ValidationError("publishing all ports (\(first)) is not supported: a root filesystem declares no ports to publish "
                                      + "(publish each with -p, as -p 8080:80, or -p 80 for a free host port)")
            }
            if first.hasPrefix("-"), first != "--", first != "-" {
                throw ValidationError("unknown option '\(first)' (a command whose name starts with '-' goes after '--')")
            }
        }
        try arguments.validateStop()
    }

    func run() throws {
        let options = try arguments.options()
        do throws(BerthError) {
            if detach {
                let started = try Supervisor.start(options, stateDirectory: state.stateDir, entry: Self.entry)
                Self.warn(started.hostWarnings)
                print(started.name)
            } else {
                let exit = try Supervisor.run(options, manager: state.manager(), warned: Self.warn)
                Output.terminate(status: exit.code)
            }
        } catch {
            let bareName = arguments.commandLine.first.map { !$0.contains("/") } ?? false
            throw arguments.rootfs == nil && bareName ? Self.noImages(error) : error
        }
    }

    /// `berth run ubuntu bash`, as a docker user types it: without --rootfs the command is
    /// looked for on the host, and "ubuntu" is not found there. The lookup's failure (a
    /// name without '/' that no directory of PATH holds) gets the advice that berth runs no
    /// images; any other error is returned as it is.
    static func noImages(_ error: BerthError) -> BerthError {
        guard error.code == .notFound, error.parameter == "command", error.message.hasSuffix("not found") else { return error }
        return BerthError(error.code, error.message, hint: "berth runs no images: the first word is the command; give --rootfs DIR to run it in another root filesystem",
                          object: error.object, operation: error.operation, parameter: error.parameter, remedy: error.remedy, cause: error.cause)
    }

    /// What making the default network on first use changed for the host, on stderr as
    /// `berth network create` says it.
    static func warn(_ warnings: [HostWarning]) {
        for warning in warnings { Output.error(CLIHints.warningLine(warning)) }
    }

    /// How BerthRun starts a detached supervisor: the lean `berth` beside this program
    /// (`LeanBerth`), not this one.
    static let entry = LeanBerth.supervisorEntry()

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
    @Option(name: .customLong("network"), help: ArgumentHelp("The network: a network's name, 'none' (only loopback) or 'host' (the host's own); 'bridge' and 'default' are the default network (default: berth).",
                               valueName: "NAME"))
    var networks: [String] = []
    /// `--net`, docker's and podman's older spelling of `--network`, kept out of the help.
    @Option(name: .customLong("net"), help: .hidden) var nets: [String] = []
    /// The one network given. Both options take every value, so that one given twice is a
    /// usage error (`validateStop`) rather than the last silently winning.
    var network: String? { networks.last ?? nets.last }
    @Option(name: [.customShort("p", allowingJoined: true), .customLong("publish")],
            help: ArgumentHelp("Publish a container port on the host: [HOSTIP:][HOSTPORT[-END]:]CONTAINERPORT[-END][/tcp|udp|sctp], or published=HOSTPORT,target=CONTAINERPORT[,protocol=udp].", valueName: "SPEC"))
    var publish: [String] = []
    @Option(help: "The container's name (default: berth- and 12 hex digits of its id); on a network with DNS on, other containers resolve it.") var name: String?
    @Option(name: [.customLong("network-alias"), .customLong("alias")], help: ArgumentHelp("Another name for the container on its network's resolver; repeatable.", valueName: "NAME"))
    var networkAlias: [String] = []
    @Option(name: [.customShort("h", allowingJoined: true), .long], help: "The hostname inside (default: 12 hex digits of its id).") var hostname: String?
    @Option(help: ArgumentHelp("A static address in the network's subnet.", valueName: "IP")) var ip: String?
    @Option(help: ArgumentHelp("A static IPv6 address in a dual-stack network's IPv6 subnet.", valueName: "IPV6")) var ip6: String?
    @Option(name: .customLong("mac-address"),
            help: ArgumentHelp("The container's MAC address (default: 02:42 and the four octets of its IP).", valueName: "MAC")) var macAddress: String?
    @Option(help: ArgumentHelp("A directory to use as the root filesystem (default: the host's files, with a fresh /proc).", valueName: "DIR"))
    var rootfs: String?
    @Option(name: [.customShort("e", allowingJoined: true), .long], help: ArgumentHelp("Set an environment variable (a name alone takes it from berth's environment).", valueName: "K=V"))
    var env: [String] = []
    @Option(name: .customLong("env-file"), help: ArgumentHelp("Read environment variables from a file, one K=V a line ('#' comments).", valueName: "FILE"))
    var envFile: [String] = []
    @Option(name: [.customShort("w", allowingJoined: true), .long], help: ArgumentHelp("The working directory inside.", valueName: "DIR")) var workdir: String?
    @Option(name: [.customShort("u", allowingJoined: true), .long], help: ArgumentHelp("The user inside: a name or uid, optionally :group or :gid.", valueName: "USER[:GROUP]"))
    var user: String?
    @Option(name: [.customShort("v", allowingJoined: true), .long], help: ArgumentHelp("Bind a host directory or file into the container, read-only with :ro.", valueName: "SRC:DST[:ro]"))
    var volume: [String] = []
    @Flag(name: .customLong("read-only"), help: "Mount the root filesystem read-only.") var readOnly = false
    @Flag(name: [.customShort("i"), .long], help: "Keep stdin open (the caller's in the foreground).") var interactive = false
    @Flag(name: [.customShort("t"), .long], help: "Give the command a terminal (with -i, berth's terminal is attached to it).") var tty = false
    @Option(help: ArgumentHelp("Restart the command when it ends: no, on-failure[:N] (0: no maximum), always or unless-stopped (as always: a stop ends every policy).", valueName: "POLICY")) var restart = "no"
    @Flag(help: "Remove the container when its command ends.") var rm = false
    @Flag(name: .customLong("init"), help: "Run an init inside the container that forwards signals and reaps processes.") var runInit = false
    @Option(name: .customLong("stop-signal"), help: ArgumentHelp("The signal 'berth stop' sends first: a name (SIGQUIT, INT, RTMIN+1) or a number (default: SIGTERM).", valueName: "SIGNAL"))
    var stopSignal: String?
    // Unconditional, so that `--stop-timeout -1` is a value, not an option.
    @Option(name: .customLong("stop-timeout"), parsing: .unconditional,
            help: ArgumentHelp("Seconds 'berth stop' waits after the stop signal before SIGKILL (default: 10; -1: no SIGKILL).", valueName: "S"))
    var stopTimeout: Int?
    @Flag(help: "Keep all capabilities and an unmasked /proc and /sys, as docker run --privileged.") var privileged = false
    @OptionGroup(title: "Limits and confinement") var confine: ConfinementArguments
    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("The command and its arguments (after '--').", valueName: "COMMAND"))
    var command: [String] = []

    /// The command without the `--` that may precede it.
    var commandLine: [String] { command.first == "--" ? Array(command.dropFirst()) : command }

    func options() throws(BerthError) -> RunOptions {
        var process = ContainerSpec(
            command: commandLine, hostname: hostname,
            rootfs: try rootfs.map { path throws(BerthError) in try RunCommand.absolute(path, what: "root filesystem") },
            environment: try environment(), workingDirectory: workdir, privileged: privileged)
        process.user = user
        process.mounts = try volume.map { text throws(BerthError) in try Self.volume(text) }
        process.readOnlyRootfs = readOnly
        process.terminal = tty
        process.initProcess = runInit
        process.confinement = try confine.confinement()
        process.ulimits = try confine.ulimits()
        var options = RunOptions(
            process: process, name: name, network: try ContainerNetwork(parsing: network ?? ContainerNetwork.defaultName),
            ports: try publish.map { text throws(BerthError) in try PortSpec(parsing: text) },
            address: try ip.map { text throws(BerthError) in try IPv4Address(parsing: text) },
            interactive: interactive, restart: try RestartPolicy(parsing: restart), autoRemove: rm, limits: try confine.limits())
        options.networkAliases = networkAlias
        options.stopSignal = try stopSignalNumber()
        options.stopTimeout = stopTimeout
        options.ipv6Address = try ip6.map { text throws(BerthError) in try IPv6Address(parsing: text) }
        options.mac = try macAddress.map { text throws(BerthError) in
            do throws(BerthError) { return try MACAddress(parsing: text) } catch { throw error.with(parameter: "mac") }
        }
        return options
    }

    /// `--stop-signal`'s number; nil when not given (SIGTERM), so `inspect` shows it only when set, as Docker.
    func stopSignalNumber() throws(BerthError) -> Int32? {
        try stopSignal.map { text throws(BerthError) in
            do throws(BerthError) { return try ContainerSignal.number(parsing: text) } catch { throw error.with(parameter: "stopSignal") }
        }
    }

    /// The usage errors of `--stop-signal`, `--stop-timeout` and `--ulimit` (and of `--net`
    /// with `--network`), for `validate()`.
    func validateStop() throws {
        if !networks.isEmpty, !nets.isEmpty {
            throw ValidationError("--net and --network are one option (--net is its older spelling): give one of them")
        }
        if let second = Self.secondNetwork(networks.isEmpty ? nets : networks, flag: networks.isEmpty ? "--net" : "--network") {
            throw ValidationError(second)
        }
        do {
            _ = try stopSignalNumber()
        } catch {
            throw ValidationError("--stop-signal: " + (error.hint.map { "\(error.message) (\($0))" } ?? error.message))
        }
        if let stopTimeout, stopTimeout < -1 {
            throw ValidationError("--stop-timeout must be 0 or more seconds, or -1 for no SIGKILL, not \(stopTimeout)")
        }
        do {
            _ = try confine.ulimits()
        } catch {
            throw ValidationError("--ulimit: " + (error.hint.map { "\(error.message) (\($0))" } ?? error.message))
        }
    }

    /// The refusal of a network option given more than once: a container joins one network
    /// as it starts (Docker's `run` too takes one, and `docker network connect` adds
    /// more); another one is attached to its namespace once it runs. Nil for one value.
    static func secondNetwork(_ values: [String], flag: String) -> String? {
        guard values.count > 1 else { return nil }
        return "berth run joins one network, but \(flag) is given \(values.count) times (\(values.joined(separator: ", "))): give it once "
            + "(to join another network too, attach the running container's namespace: "
            + "'berth attach NETWORK --netns /proc/PID/ns/net --ifname eth1', PID as 'berth inspect NAME' shows it in State.Pid)"
    }

    /// `--env-file` entries first, then `-e`, so `-e` wins, as in Docker; a name alone takes
    /// berth's own value, and is dropped when berth has none.
    func environment() throws(BerthError) -> [String] {
        var entries: [String] = []
        for path in envFile {
            let bytes = try InputFile.read(path, limit: EnvironmentFile.limit, what: "environment file")
            entries += try EnvironmentFile.parse(bytes: bytes, source: path, lookup: EnvironmentEntries.lookup)
        }
        return entries + EnvironmentEntries.resolve(env)
    }

    /// `-v`: a source starting with '.' is a path relative to the current directory, as the
    /// docker CLI reads it; anything else not absolute would be a named volume (refused by
    /// the library).
    static func volume(_ text: String) throws(BerthError) -> BindMount {
        var mount = try BindMount(parsing: text)
        if mount.source.hasPrefix(".") { mount.source = try RunCommand.absolute(mount.source, what: "volume source") }
        return mount
    }
}

/// Reading a small file named on the command line.
enum InputFile {
    /// The file's bytes, as they are: the caller decides what invalid UTF-8 means.
    static func read(_ path: String, limit: Int, what: String) throws(BerthError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let error = Errno(errno)
            if error.code == ENOENT {
                throw BerthError(.notFound, "\(what) \(path) does not exist", object: .file(path), parameter: "environment", cause: error)
            }
            throw BerthError.system("open \(what) \(path)", error).with(object: .file(path), parameter: "environment")
        }
        defer { close(fd) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let n = systemRead(fd, &buffer, buffer.count)
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw BerthError.system("read \(what) \(path)", Errno(errno)).with(object: .file(path)) }
            if n == 0 { break }
            data += buffer[..<n]
            guard data.count <= limit else {
                throw .invalid("\(what) \(path) is larger than \(limit >> 10) KiB", parameter: "environment")
            }
        }
        return data
    }
}
