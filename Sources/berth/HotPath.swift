import Berth

/// `berth attach`, `berth detach`, the detached supervisor's entry and the hand-over of
/// `berth lab …` to `berth-lab`, without argument-parser.
///
/// A runtime runs attach and detach once per container start and stop, and `berth run -d`
/// waits for its supervisor's start-up; argument-parser's cold start (reflecting on the
/// command's properties) costs about 1.5 ms — as much as the kernel work of an attach. This
/// parser accepts exactly the well-formed spellings of those two commands' options; anything
/// else — help, an unknown, repeated or malformed option, a value that looks like an option,
/// `--` — is left to argument-parser, so usage text and usage errors stay the same.
/// `HotPathParityTests` holds it to argument-parser's reading of every spelling it accepts.
enum HotPath {
    /// Runs a hot command and returns true, or returns false to hand `arguments` on.
    static func run(_ arguments: [String]) throws(BerthError) -> Bool {
        guard let name = arguments.first else { return false }
        switch name {
        case "attach":
            guard let attach = attach(arguments.dropFirst()) else { return false }
            try AttachCommand.perform(network: attach.network, netns: attach.netns, id: attach.id, ip: attach.ip, mac: attach.mac,
                                      ifname: attach.ifname, publish: attach.publish, stateDir: attach.stateDir)
            return true
        case "detach":
            guard let detach = detach(arguments.dropFirst()) else { return false }
            try DetachCommand.perform(ids: detach.ids, stateDir: detach.stateDir)
            return true
        case RunCommand.superviseCommand where arguments.count == 1:
            Supervisor.main()
        case "lab":
            // Labs parse YAML in their own program; `berth lab …` is that program, whatever follows.
            LabLauncher.exec(Array(arguments.dropFirst()))
        default:
            return false
        }
    }

    /// `berth attach`'s values, defaults applied.
    struct Attach: Equatable {
        var network: String
        var netns: String
        var id: String?
        var ip: String?
        var mac: String?
        var ifname: String
        var publish: [String]
        var stateDir: String?
    }

    /// `berth detach`'s values.
    struct Detach: Equatable {
        var ids: [String]
        var stateDir: String?
    }

    static func attach(_ arguments: ArraySlice<String>) -> Attach? {
        let single: Set = ["--netns", "--id", "--ip", "--mac", "--ifname", "--state-dir"]
        guard let parsed = parse(arguments, single: single, repeated: ["-p": "--publish", "--publish": "--publish"]),
              parsed.positionals.count == 1, let netns = parsed.values["--netns"] else { return nil }
        return Attach(network: parsed.positionals[0], netns: netns, id: parsed.values["--id"], ip: parsed.values["--ip"],
                      mac: parsed.values["--mac"], ifname: parsed.values["--ifname"] ?? "eth0",
                      publish: parsed.lists["--publish"] ?? [], stateDir: parsed.values["--state-dir"])
    }

    static func detach(_ arguments: ArraySlice<String>) -> Detach? {
        guard let parsed = parse(arguments, single: ["--state-dir"], repeated: [:]), !parsed.positionals.isEmpty else { return nil }
        return Detach(ids: parsed.positionals, stateDir: parsed.values["--state-dir"])
    }

    struct Parsed {
        var positionals: [String] = []
        var values: [String: String] = [:]
        var lists: [String: [String]] = [:]
    }

    /// `--name VALUE`, `--name=VALUE`, `-p VALUE`, positionals; nil for anything else.
    static func parse(_ arguments: ArraySlice<String>, single: Set<String>, repeated: [String: String]) -> Parsed? {
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
            }
            if word.hasPrefix("-") {
                guard single.contains(word) || repeated[word] != nil else { return nil }
                if value == nil {
                    index += 1
                    // argument-parser reads a next word that starts with '-' as an option.
                    guard index < arguments.endIndex, !arguments[index].hasPrefix("-") else { return nil }
                    value = arguments[index]
                }
                guard let value else { return nil }
                if let list = repeated[word] {
                    parsed.lists[list, default: []].append(value)
                } else {
                    guard parsed.values[word] == nil else { return nil }
                    parsed.values[word] = value
                }
            } else {
                parsed.positionals.append(word)
            }
            index += 1
        }
        return parsed
    }
}
