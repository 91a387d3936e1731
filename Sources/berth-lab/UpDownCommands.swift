import ArgumentParser
import BerthCore
import BerthLab
import BerthLabFile

struct UpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Bring a lab up from its file, or converge a running lab to its edited file.",
        discussion: "All or nothing: a failure removes what this run made. A second up of an unchanged file changes nothing."
    )
    @Argument(help: "The lab file (YAML).") var file: String
    @Flag(name: .long, help: "Print what would change and change nothing.") var dryRun = false
    @Flag(name: .shortAndLong, help: "Print each change made.") var verbose = false
    @OptionGroup var state: StateOptions

    func run() throws {
        let (spec, text) = try LabFileParser.parse(path: file)
        let actions = try state.manager().up(spec, text: text, dryRun: dryRun)
        if dryRun || verbose { for action in actions { say(action.description) } }
        if !dryRun {
            say(actions.isEmpty ? "lab \(spec.name) is up to date (\(spec.nodes.count) nodes, \(spec.links.count) links)"
                                : "lab \(spec.name) is up: \(spec.nodes.count) nodes, \(spec.links.count) links, \(actions.count) changes")
        }
    }
}

struct DownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Take a lab down: delete every namespace and link it made, and its record.",
        discussion: "Also cleans up after an up that crashed half-way."
    )
    @Argument(help: "The lab's name or file.") var lab: String
    @OptionGroup var state: StateOptions

    func run() throws {
        let name = try LabArgument.name(lab)
        let deleted = try state.manager().down(name)
        say("lab \(name) is down (\(deleted.count) namespaces deleted)")
    }
}

struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove what crashed labs left: tagged namespaces no lab records, half-made labs."
    )
    @OptionGroup var state: StateOptions

    func run() throws {
        let report = try state.manager().collectGarbage()
        for namespace in report.namespaces { say("removed namespace \(namespace)") }
        for record in report.records { say("removed lab \(record)") }
        if report.namespaces.isEmpty && report.records.isEmpty { say("nothing to collect") }
    }
}
