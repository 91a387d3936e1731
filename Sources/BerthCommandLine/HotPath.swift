import BerthCore
import BerthNamespace
import BerthNetlink
import BerthNetwork
import BerthRun

/// `berth attach`, `berth detach`, the detached supervisor's entry and the hand-over of
/// `berth lab …` to `berth-lab`, without argument-parser.
///
/// A runtime runs attach and detach once per container start and stop, and `berth run -d`
/// waits for its supervisor's start-up; argument-parser's cold start (reflecting on the
/// command's properties) costs about 1.5 ms — as much as the kernel work of an attach — and
/// linking it (with FoundationEssentials) makes every start-up slower. The lean `berth`
/// binary runs these commands itself and execs `berth-cli` for everything else
/// (`FullCLI`). This parser accepts exactly the well-formed spellings of the two commands'
/// options; anything else — help, an unknown, repeated or malformed option, a value that
/// looks like an option, `--` — is left to argument-parser, so usage text and usage errors
/// stay the same. `HotPathParityTests` holds it to argument-parser's reading of every
/// spelling it accepts.
package enum HotPath {
    /// The hidden command that enters `Supervisor.main()` in the detached supervisor.
    package static let superviseCommand = "_supervise"

    /// Runs a hot command and returns true, or returns false to hand `arguments` on.
    package static func run(_ arguments: [String]) throws(BerthError) -> Bool {
        guard let name = arguments.first else { return false }
        switch name {
        case "attach":
            guard let attach = attach(arguments.dropFirst()) else { return false }
            SystemKernel.processRunsOneCommand()
            try attach.perform()
            // The lean binary exits right after a hot command: its teardown is a child's.
            SystemKernel.lingerPastExit()
            return true
        case "detach":
            guard let detach = detach(arguments.dropFirst()) else { return false }
            SystemKernel.processRunsOneCommand()
            try detach.perform()
            SystemKernel.lingerPastExit()
            return true
        case superviseCommand where arguments.count == 1:
            Supervisor.main()
        case CheckpointLauncher.command where arguments.count == 2:
            // Started by an attach or detach that deferred its WAL checkpoint.
            try StateStore.checkpoint(directory: arguments[1])
            return true
        case "lab":
            // Labs parse YAML in their own program; `berth lab …` is that program, whatever follows.
            LabLauncher.exec(Array(arguments.dropFirst()))
        default:
            return false
        }
    }

    /// `berth attach`'s values, defaults applied.
    package struct Attach: Equatable {
        package var network: String
        package var netns: String
        package var id: String?
        package var ip: String?
        package var ip6: String?
        package var mac: String?
        package var ifname: String
        package var publish: [String]
        package var stateDir: String?
        package var name: String?
        package var aliases: [String]

        package init(network: String, netns: String, id: String?, ip: String?, ip6: String? = nil, mac: String?, ifname: String, publish: [String],
                     stateDir: String?, name: String? = nil, aliases: [String] = []) {
            self.ip6 = ip6
            self.name = name
            self.aliases = aliases
            self.network = network
            self.netns = netns
            self.id = id
            self.ip = ip
            self.mac = mac
            self.ifname = ifname
            self.publish = publish
            self.stateDir = stateDir
        }

        /// Attaches and prints the endpoint id: the command itself, whichever parser read it.
        package func perform() throws(BerthError) {
            let options = try AttachOptions(
                network: network, namespace: NamespaceReference(nameOrPath: netns), id: id,
                address: try ip.map { text throws(BerthError) in try IPv4Address(parsing: text) },
                mac: try mac.map { text throws(BerthError) in try MACAddress(parsing: text) },
                interfaceName: try InterfaceName(ifname),
                ports: try publish.map { text throws(BerthError) in try PortSpec(parsing: text) },
                ipv6Address: try ip6.map { text throws(BerthError) in try IPv6Address(parsing: text) },
                name: name, aliases: aliases)
            StateStore.allocateForOneCommand()
            let manager = try NetworkManager(stateDirectory: stateDir)
            HotPath.keepUntilExit(manager)
            // The command's process exits once attached: a due checkpoint runs elsewhere.
            manager.store.deferCheckpoints()
            defer { CheckpointLauncher.startIfDue(manager.store, startPath: true) }
            let endpoint = try manager.attachDescribed(options, checkNetwork: options.checkAliasesServed).endpoint
            Output.line(endpoint.id)
        }
    }

    /// `berth detach`'s values.
    package struct Detach: Equatable {
        package var ids: [String]
        package var stateDir: String?

        package init(ids: [String], stateDir: String?) {
            self.ids = ids
            self.stateDir = stateDir
        }

        /// Detaches every id (an unknown one is already detached): the command itself. An id
        /// no endpoint has that is the short form `berth ps` shows of a generated id
        /// (`EndpointShortID`: twelve or more of its hex digits, the start of exactly one)
        /// detaches that endpoint, as docker takes an id's prefix; a prefix of several is
        /// refused, naming them. An id that matches nothing is reported on stderr and
        /// succeeds, so a retry stays safe: only a generated id is ever reached by a prefix,
        /// so a short custom id ("c1") retried after its detach never reaches another ("c10").
        /// The endpoint of a running `berth run` container (named by its endpoint id or the
        /// container's name) is refused, naming the container: its stop detaches it. All of
        /// it in one write transaction per id.
        package func perform() throws(BerthError) {
            StateStore.allocateForOneCommand()
            let manager = try NetworkManager(stateDirectory: stateDir)
            HotPath.keepUntilExit(manager)
            // The command's process exits once the ids are detached: deletions and a due
            // checkpoint run elsewhere.
            SystemKernel.processExitsAfterDetach()
            manager.store.deferCheckpoints()
            defer { CheckpointLauncher.startIfDue(manager.store) }
            for id in ids {
                let recorded = try manager.detach(id: id, acceptingShortID: true) { tx, argument, endpoint throws(BerthError) in
                    try Container.refuseDetachingActive(tx, argument: argument, endpoint: endpoint)
                }
                if !recorded { Output.error("no endpoint \(id): nothing to detach") }
            }
        }
    }

    /// Keeps `manager` alive until the process ends: a command's process exits right after
    /// it, and leaving the state database and the sockets to the kernel's cleanup at exit
    /// spares the deinitialisers (finalising statements, freeing SQLite's caches, closing
    /// each socket), about 0.1 ms of an attach. Closing would leave the same files: the
    /// store never checkpoints on close (Sources/CSQLite/shim.h).
    static func keepUntilExit(_ manager: NetworkManager) {
        _ = Unmanaged.passRetained(manager)
    }

    package static func attach(_ arguments: ArraySlice<String>) -> Attach? {
        let single = ["--netns", "--id", "--ip", "--ip6", "--mac", "--ifname", "--state-dir", "--name"]
        guard let parsed = parse(arguments, single: single, repeated: ["--publish", "--alias"]),
              parsed.positionals.count == 1, let netns = parsed.value("--netns") else { return nil }
        return Attach(network: parsed.positionals[0], netns: netns, id: parsed.value("--id"), ip: parsed.value("--ip"), ip6: parsed.value("--ip6"),
                      mac: parsed.value("--mac"), ifname: parsed.value("--ifname") ?? "eth0",
                      publish: parsed.list("--publish"), stateDir: parsed.value("--state-dir"),
                      name: parsed.value("--name"), aliases: parsed.list("--alias"))
    }

    package static func detach(_ arguments: ArraySlice<String>) -> Detach? {
        guard let parsed = parse(arguments, single: ["--state-dir"], repeated: []), !parsed.positionals.isEmpty else { return nil }
        return Detach(ids: parsed.positionals, stateDir: parsed.value("--state-dir"))
    }

    /// The words read, in arrays rather than `Set`s and `Dictionary`s: a process's first
    /// `String: Hashable` use costs a scan of every conformance record in the binary
    /// (≈ 0.13 M instructions), and a command line has a handful of options. Options are
    /// one array of a named type, not tuples: each distinct tuple type (and the array of
    /// it) is generic metadata the runtime builds at its first use (docs/performance.md, perf7).
    struct Parsed {
        /// An option by its long spelling, with every value given, in order.
        struct Option {
            var name: String
            var values: [String]
        }

        var positionals: [String] = []
        var options: [Option] = []

        func value(_ option: String) -> String? { options.first { $0.name == option }?.values.first }
        func list(_ option: String) -> [String] { options.first { $0.name == option }?.values ?? [] }
    }

    /// `-p` is `--publish`'s short spelling; every other option has one spelling.
    static func longSpelling(_ word: String) -> String { word == "-p" ? "--publish" : word }

    /// `--name VALUE`, `--name=VALUE`, `-p VALUE`, `-pVALUE` (joined, as docker's and
    /// argument-parser's `allowingJoined`), positionals; nil for anything else.
    /// `single` options take one value, `repeated` ones (long spellings) collect theirs.
    static func parse(_ arguments: ArraySlice<String>, single: [String], repeated: [String]) -> Parsed? {
        var parsed = Parsed()
        var index = arguments.startIndex
        while index < arguments.endIndex {
            var word = arguments[index]
            var value: String?
            if word.hasPrefix("--"), let equals = word.firstIndex(of: "=") {
                value = String(word[word.index(after: equals)...])
                word = String(word[..<equals])
                // argument-parser refuses `--name=` with nothing after it.
                guard value?.isEmpty == false else { return nil }
            } else if word.hasPrefix("-p"), word.utf8.count > 2 {
                // `-pVALUE`, and `-p=VALUE` read as pflag reads it (the full CLI splits it so
                // too: JoinedValues); `-p=` with nothing after it is left to argument-parser.
                value = String(word.dropFirst(word.dropFirst(2).hasPrefix("=") ? 3 : 2))
                word = "-p"
                guard value?.isEmpty == false else { return nil }
            }
            if word.hasPrefix("-") {
                let name = longSpelling(word)
                let isList = repeated.contains(name)
                guard isList || single.contains(name) else { return nil }
                if value == nil {
                    index += 1
                    // argument-parser reads a next word that starts with '-' as an option.
                    guard index < arguments.endIndex, !arguments[index].hasPrefix("-") else { return nil }
                    value = arguments[index]
                }
                guard let value else { return nil }
                if let at = parsed.options.firstIndex(where: { $0.name == name }) {
                    // A single option given twice is argument-parser's to refuse.
                    guard isList else { return nil }
                    parsed.options[at].values.append(value)
                } else {
                    parsed.options.append(Parsed.Option(name: name, values: [value]))
                }
            } else {
                parsed.positionals.append(word)
            }
            index += 1
        }
        return parsed
    }
}
