import ArgumentParser
import BerthCore
import BerthLab
import BerthLabFile
import BerthNetlink

struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command in a node's network namespace (as ip netns exec does).",
        discussion: """
        Everything after the node is the command, options too, as with ip netns exec and berth exec \
        (a -- before it is taken and dropped); give --state-dir before the lab.
        berth lab exec triangle h1 ip -br addr
        berth lab exec triangle h1 -- ping -c1 10.0.12.2
        """
    )
    @OptionGroup var state: StateOptions
    @Argument(help: "The lab's name or file.") var lab: String
    @Argument(help: "The node.") var node: String
    // Everything after NODE, options included: `ip -br addr` must not meet berth's parser.
    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("The command and its arguments (a '--' before them is optional).", valueName: "COMMAND"))
    var command: [String] = []

    func run() throws {
        try LabExec.exec(lab: try LabArgument.name(lab, state: state), node: node, stateDirectory: state.stateDir, argv: Self.argv(command))
    }

    /// The command as given after NODE, without the `--` that may start it.
    static func argv(_ captured: [String]) -> [String] {
        captured.first == "--" ? Array(captured.dropFirst()) : captured
    }
}

struct ImpairCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "impair",
        abstract: "Change the impairment of one interface of a running lab (its egress).",
        discussion: """
        Until the next up, which converges back to the file. --rate installs a token bucket (tbf); \
        --delay, --jitter, --loss and --duplicate install netem, which some kernels lack (refused, nothing changed). \
        With no option, or --clear, the interface's impairment is removed.
        """
    )
    @Argument(help: "The lab's name or file.") var lab: String
    @Argument(help: "NODE:IFACE") var endpoint: String
    @Option(help: "Rate limit, like 10mbit or 1gbit.") var rate: String?
    @Option(help: "Delay, like 20ms.") var delay: String?
    @Option(help: "Jitter, like 2ms (needs --delay).") var jitter: String?
    @Option(help: "Loss, like 0.5%.") var loss: String?
    @Option(help: "Duplication, like 1%.") var duplicate: String?
    @Flag(help: "Remove the impairment.") var clear = false
    @OptionGroup var state: StateOptions

    func run() throws {
        let parts = endpoint.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw BerthError.invalid("\"\(endpoint)\" is not NODE:IFACE", hint: "like r1:eth1") }
        var impairment = Impairment()
        if !clear {
            if let rate { impairment.rate = TokenBucket(rate: try DataRate(parsing: rate)) }
            if delay != nil || jitter != nil || loss != nil || duplicate != nil {
                var netem = NetworkEmulation()
                if let delay { netem.delay = try TimeSpan(parsing: delay) }
                if let jitter { netem.jitter = try TimeSpan(parsing: jitter) }
                if let loss { netem.loss = try Self.percent(loss) }
                if let duplicate { netem.duplicate = try Self.percent(duplicate) }
                impairment.emulation = netem
            }
        }
        try state.manager().impair(try LabArgument.name(lab, state: state), node: parts[0], interface: try InterfaceName(parts[1]), impairment)
        say("\(endpoint): \(impairment)")
    }

    static func percent(_ text: String) throws(BerthError) -> Double {
        let digits = text.hasSuffix("%") ? String(text.dropLast()) : text
        guard let value = Double(digits), (0...100).contains(value) else { throw .invalid("\"\(text)\" is not a percentage", hint: "write 0 to 100, like 0.5%") }
        return value
    }
}
