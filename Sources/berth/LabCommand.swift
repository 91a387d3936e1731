import ArgumentParser
import BerthCommandLine

/// `berth lab`: listed in `berth --help`; `HotPath.run` hands `berth lab …` to `LabLauncher`
/// before parsing, so this runs only when options come before `lab`.
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Declarative network labs from YAML files: up, down, ls, inspect, exec, graph, impair (runs berth-lab)."
    )
    @Argument(parsing: .allUnrecognized) var arguments: [String] = []

    func run() throws {
        LabLauncher.exec(arguments)
    }
}
