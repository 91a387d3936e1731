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
        let (spec, _) = try LabFileParser.parse(path: file)
        // Recorded by its absolute path: `ls` says where it is, `down FILE` finds it from anywhere.
        let outcome = try state.manager().up(spec, dryRun: dryRun, file: LabFilePath.absolute(file))
        let actions = outcome.actions
        if dryRun || verbose { for action in actions { say(action.description) } }
        for namespace in outcome.leftAlone {
            printError("warning: namespace \(namespace) \(dryRun ? "would be" : "was") left alone: its node is no longer in the file, but it carries no tag of the lab "
                       + "(made by another program under the node's name?); `berth netns del \(namespace)` removes it if nothing uses it")
        }
        if !dryRun {
            say(actions.isEmpty ? "lab \(spec.name) is up to date (\(Counted.text(spec.nodes.count, "node")), \(Counted.text(spec.links.count, "link")))"
                                : "lab \(spec.name) is up: \(Counted.text(spec.nodes.count, "node")), \(Counted.text(spec.links.count, "link")), \(Counted.text(actions.count, "change"))")
        }
    }
}

struct DownCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down",
        abstract: "Take a lab down: its containers, endpoints, namespaces and links, the networks it created, and its record.",
        discussion: "Also cleans up after an up that crashed half-way."
    )
    @Argument(help: "The lab's name or file.") var lab: String
    @OptionGroup var state: StateOptions

    func run() throws {
        let name = try LabArgument.name(lab, state: state)
        let removed = try state.manager().down(name)
        say("lab \(name) is down (\(Counted.text(removed.namespaces.count, "namespace")), \(Counted.text(removed.containers.count, "container")), "
            + "\(Counted.text(removed.endpoints.count, "endpoint")), \(Counted.text(removed.networks.count, "network")) removed)")
        for network in removed.keptNetworks { say("network \(network) kept: other endpoints use it") }
        for namespace in removed.leftAlone {
            say("namespace \(namespace) left alone: it carries no tag of the lab (made by another program?) or its tag could not be read; `berth netns del \(namespace)` removes it if nothing uses it")
        }
    }
}

struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Remove what crashed labs left: half-made labs, tagged namespaces and containers no lab records."
    )
    @OptionGroup var state: StateOptions

    func run() throws {
        let report = try state.manager().collectGarbage()
        for line in report.lines { say(line) }
        if report.isEmpty { say("nothing to collect") }
        // A crashed up that could not be finished stays for 'berth lab check' and the next gc.
        if report.hasFailures { throw ExitCode(1) }
    }
}

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check every lab against the kernel, and look for leftovers of crashed labs."
    )
    @OptionGroup var state: StateOptions

    func run() throws {
        let problems = try state.manager().check()
        if problems.isEmpty { say("ok"); return }
        for problem in problems { printError(problem.description) }
        printError("\(Counted.text(problems.count, "problem")) found ('berth gc' removes leftovers and finishes crashed labs; 'berth lab up FILE' restores a lab)")
        throw ExitCode(1)
    }
}
