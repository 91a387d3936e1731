import ArgumentParser
import Berth

/// `berth kill`: a signal to running containers' commands, SIGKILL unless told, as `docker kill`.
struct KillCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kill", abstract: "Send a signal to running containers (SIGKILL by default).",
        discussion: """
            No grace period, unlike 'berth stop'. The end that follows is not restarted by the restart policy. \
            With SIGKILL it returns once the container has stopped; any other signal is only sent: PID 1 ignores a signal it has no handler for.
            """)
    @OptionGroup var names: ContainerNames
    var containers: [String] { names.containers }
    @Option(name: [.customShort("s", allowingJoined: true), .long], help: ArgumentHelp("The signal: a name (KILL, SIGTERM, HUP, RTMIN+1) or a number.", valueName: "SIGNAL"))
    var signal = "KILL"
    @OptionGroup var state: StateOption

    func validate() throws {
        do {
            _ = try ContainerSignal.number(parsing: signal)
        } catch {
            throw ValidationError(error.hint.map { "\(error.message) (\($0))" } ?? error.message)
        }
    }

    func run() throws {
        let number = try ContainerSignal.number(parsing: signal)
        let manager = try state.manager()
        EachContainer.run(containers) { name throws(BerthError) in
            _ = try Container.kill(name, signal: number, manager: manager)
            print(name)
        }
    }
}

/// `berth wait`: blocks until containers stop and prints each one's exit status, as `docker wait`.
struct WaitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait", abstract: "Wait until containers stop, then print their exit statuses.",
        discussion: "One line a container, in the order given; a stopped container's status prints at once.")
    @OptionGroup var names: ContainerNames
    var containers: [String] { names.containers }
    @OptionGroup var state: StateOption


    func run() throws {
        let manager = try state.manager()
        EachContainer.run(containers) { name throws(BerthError) in
            // Written at once, not buffered: each status as its container stops.
            Output.line(String(try Container.wait(name, manager: manager)))
        }
    }
}
