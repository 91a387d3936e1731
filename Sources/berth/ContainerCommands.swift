#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import Berth

/// `berth stop`: the container's stop signal (SIGTERM by default), then SIGKILL after a
/// grace period; returns once cleaned up.
struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "Stop running containers.",
        discussion: """
            Each gets its stop signal ('berth run --stop-signal', SIGTERM by default). The command is PID 1 of its container and \
            ignores a signal it has no handler for: after --time seconds (default: the container's --stop-timeout, else 10) it gets SIGKILL. \
            A stopped container keeps its name and settings, but no address or ports, until 'berth start' or 'berth rm'.
            """)
    @OptionGroup var names: ContainerNames
    var containers: [String] { names.containers }
    @OptionGroup var time: StopTimeOption
    @OptionGroup var state: StateOption


    func run() throws {
        let manager = try state.manager()
        EachContainer.run(containers) { name throws(BerthError) in
            print(try Container.stop(name, timeout: time.timeout, manager: manager).name)
        }
    }
}

/// The containers a command acts on, one or more (argument-parser refuses none: "missing
/// expected argument"): `stop`, `start`, `restart`, `kill`, `wait`, `rm`, `inspect`.
struct ContainerNames: ParsableArguments {
    @Argument(help: "Container names (or unique id prefixes).") var containers: [String]
}

/// `-t/--time/--timeout` of `stop` and `restart`: when given, it wins over the container's own stop
/// timeout, as Docker's.
struct StopTimeOption: ParsableArguments {
    // Unconditional, so that `-t -1` is a value, not an option.
    // `--timeout` is docker's spelling since 25 (`--time` is deprecated there), and podman's.
    @Option(name: [.customShort("t", allowingJoined: true), .long, .customLong("timeout")], parsing: .unconditional,
            help: ArgumentHelp("Seconds to wait after the stop signal before SIGKILL (default: the container's --stop-timeout, else 10; -1: no SIGKILL).",
                               valueName: "S"))
    var time: Int?

    func validate() throws {
        if let time, time < -1 { throw ValidationError("--time must be 0 or more seconds, or -1 for no SIGKILL, not \(time)") }
    }

    /// Nil when not given: the container's own.
    var timeout: Duration? { time.map { .seconds($0) } }
}

/// `berth start`: a stopped container's command again, with the same settings, detached.
struct StartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Start stopped containers again, in the background.",
        discussion: "Each gets its network, address and published ports back (or fails, naming who took a port), and the command, environment and volumes it was created with.")
    @OptionGroup var names: ContainerNames
    var containers: [String] { names.containers }
    @OptionGroup var state: StateOption


    func run() throws {
        EachContainer.run(containers) { name throws(BerthError) in
            let started: Supervisor.Detached
            do throws(BerthError) {
                started = try Supervisor.start(existing: name, stateDirectory: state.stateDir, entry: RunCommand.entry)
            } catch where error.code == .conflict {
                // Running already (or just started by a concurrent start): what was asked
                // holds, and `docker start` of a running container succeeds too.
                guard let now = try? Container.find(name, manager: state.manager()), now.isActive else { throw error }
                print(now.name)
                return
            }
            RunCommand.warn(started.hostWarnings)
            print(started.name)
        }
    }
}

/// `berth restart`: stop (if running), then start.
struct RestartCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart", abstract: "Stop containers (if running), then start them again.",
        discussion: "The stop is 'berth stop''s: the container's stop signal, then SIGKILL after --time seconds.")
    @OptionGroup var names: ContainerNames
    var containers: [String] { names.containers }
    @OptionGroup var time: StopTimeOption
    @OptionGroup var state: StateOption


    func run() throws {
        let manager = try state.manager()
        EachContainer.run(containers) { name throws(BerthError) in
            // A restart's stop: a --rm container is kept for the start.
            let stopped = try Container.stop(name, timeout: time.timeout, restarting: true, manager: manager)
            let started = try Supervisor.start(existing: stopped.id, stateDirectory: state.stateDir, entry: RunCommand.entry)
            RunCommand.warn(started.hostWarnings)
            print(started.name)
        }
    }
}

/// `berth rm`: removes stopped containers (`-f` stops running ones first).
struct RmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove stopped containers (their record and log).")
    @OptionGroup var names: ContainerNames
    var containers: [String] { names.containers }
    @Flag(name: [.customShort("f"), .long], help: "Kill running containers (SIGKILL) and remove them; a container that does not exist is no error.")
    var force = false
    @OptionGroup var state: StateOption


    /// With `-f` a container that does not exist is a note on stderr, not a failure, as
    /// `docker rm -f` (Docker 20.10 and later): what was asked for — no such container — holds.
    func run() throws {
        let manager = try state.manager()
        EachContainer.run(containers) { name throws(BerthError) in
            do throws(BerthError) {
                print(try Container.remove(name, force: force, manager: manager).name)
            } catch where force && error.code == .notFound && error.object == .container(name) {
                Output.error("no container named \"\(name)\": nothing to remove")
            }
        }
    }
}

/// `berth logs`: what a container wrote, from its log in the state directory.
struct LogsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs", abstract: "Print a container's output.",
        discussion: """
            Its stdout goes to stdout and its stderr to stderr. The log keeps the last 10 to 20 MiB of output and goes with the container. \
            A line's time is when its first bytes were read; output logged by a berth that kept no times has none (shown as \
            0001-01-01T00:00:00.000000000Z, before any --since). --tail takes the last lines first, then --since and --until select among them, as docker does.
            """)
    @Argument(help: "The container's name (or a unique id prefix).") var container: String
    @Flag(name: [.customShort("f"), .long], help: "Follow the output until the container stops.") var follow = false
    // Unconditional, so that `-n -1` (all, as docker takes it) is a value, not an option.
    @Option(name: [.customShort("n", allowingJoined: true), .long], parsing: .unconditional,
            help: ArgumentHelp("Show only the last N lines of the output so far (default: all).", valueName: "N|all"))
    var tail = "all"
    @Flag(name: [.customShort("t"), .long], help: "Begin each line with when it was written (RFC 3339, nanoseconds, UTC).") var timestamps = false
    @Option(help: ArgumentHelp("Show lines from TIME on: a date-time (2026-12-03T07:08:00Z), a date, a unix time, or a duration before now (42m, 1h30m).",
                               valueName: "TIME"))
    var since: String?
    @Option(help: ArgumentHelp("Show lines up to TIME (forms as --since); -f stops there.", valueName: "TIME")) var until: String?
    @OptionGroup var state: StateOption

    /// `--since`, `--until` and `--timestamps`, read as docker reads them (`WallTime(dockerTime:)`);
    /// an empty value is none, and so is an `--until` of 0.
    var filter: LogFilter {
        get throws {
            let now = WallTime.now
            func time(_ option: String, _ text: String?) throws -> WallTime? {
                guard let text, !text.isEmpty, !(option == "--until" && text == "0") else { return nil }
                guard let time = WallTime(dockerTime: text, now: now, localOffset: WallTime.localOffset(at: now)) else {
                    throw ValidationError("""
                        \(option) takes an RFC 3339 date-time (2026-12-03T07:08:00Z, 2026-12-03T07:08:00.5+01:00; local time without a zone), \
                        a date (2026-12-03), a unix time (1700000000[.nnnnnnnnn]) or a duration before now (42s, 10m, 1h30m), not '\(text)'
                        """)
                }
                return time
            }
            return LogFilter(since: try time("--since", since), until: try time("--until", until), timestamps: timestamps)
        }
    }

    /// `--tail`'s lines: nil for all (`all`, or a negative number, as docker takes it).
    var lines: Int? {
        get throws {
            if tail == "all" { return nil }
            guard let count = Int(tail) else { throw ValidationError("--tail takes a number of lines or 'all', not '\(tail)'") }
            return count < 0 ? nil : count
        }
    }

    func validate() throws {
        _ = try lines
        _ = try filter
    }

    func run() throws {
        try Container.logs(container, follow: follow, tail: try lines, filter: try filter, manager: state.existingManager()) { stream, bytes in
            // The reader went away (`berth logs -f web | head -1`): nothing more to show it.
            guard Output.write(stream == .stderr ? 2 : 1, bytes) else { Output.terminate(status: 0) }
        }
    }
}

/// `berth exec`: a command inside a running container's namespaces; exits with its status.
struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "exec", abstract: "Run a command in a running container.")
    @Option(name: [.customShort("e", allowingJoined: true), .long], help: ArgumentHelp("Set an environment variable (a name alone takes it from berth's environment).", valueName: "K=V")) var env: [String] = []
    @Option(name: [.customShort("w", allowingJoined: true), .long], help: ArgumentHelp("The working directory inside.", valueName: "DIR")) var workdir: String?
    @Option(name: [.customShort("u", allowingJoined: true), .long], help: ArgumentHelp("The user inside: a name or uid, optionally :group or :gid.", valueName: "USER[:GROUP]"))
    var user: String?
    @Flag(name: [.customShort("i"), .long], help: "Keep stdin open (berth's).") var interactive = false
    @Flag(name: [.customShort("t"), .long], help: "Give the command a terminal (with -i, berth's terminal is attached to it).") var tty = false
    @Flag(help: "Keep all capabilities.") var privileged = false
    @OptionGroup var state: StateOption
    @Argument(help: "The container's name (or a unique id prefix).") var container: String
    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("The command and its arguments (after '--').", valueName: "COMMAND"))
    var command: [String] = []

    func run() throws {
        let argv = command.first == "--" ? Array(command.dropFirst()) : command
        let exit = try Container.exec(container, command: argv, environment: EnvironmentEntries.resolve(env), workingDirectory: workdir, privileged: privileged, user: user,
                                      interactive: interactive, terminal: tty, manager: state.manager())
        Output.terminate(status: exit.code)
    }
}

/// A command over several containers (or networks: `network rm`) goes on past one that
/// fails, as Docker's do: each error is printed, and berth exits 1 at the end if any failed.
enum EachContainer {
    static func run(_ names: [String], _ body: (String) throws(BerthError) -> Void) {
        var failed = false
        for name in names {
            do {
                try body(name)
            } catch {
                Output.error(CLIHints.message(for: error))
                failed = true
            }
        }
        if failed { Output.terminate(status: 1) }
    }
}
