import ArgumentParser
import Berth

/// `berth stop`: SIGTERM, then SIGKILL after a grace period; returns once cleaned up.
struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "Stop running containers.",
        discussion: "The command is PID 1 of its container and ignores SIGTERM unless it handles it: after --time seconds it gets SIGKILL.")
    @Argument(help: "Container names (or unique id prefixes).") var containers: [String]
    @Option(name: [.customShort("t"), .long], help: ArgumentHelp("Seconds to wait after SIGTERM before SIGKILL.", valueName: "S")) var time = 10
    @OptionGroup var state: StateOption

    func validate() throws {
        guard !containers.isEmpty else { throw ValidationError("name at least one container") }
        guard time >= 0 else { throw ValidationError("--time must be 0 or more seconds") }
    }

    func run() throws {
        let manager = try state.manager()
        for container in containers {
            let stopped = try Container.stop(container, timeout: .seconds(time), manager: manager)
            print(stopped.name)
        }
    }
}
