import Berth

/// `berth attach` and `berth detach` without argument-parser.
///
/// A runtime runs these once per container start and stop, and argument-parser's cold
/// start (reflecting on the command's properties) costs about 1.5 ms — as much as the
/// kernel work of an attach. This parser accepts exactly the well-formed spellings of those
/// two commands' options; anything else — help, an unknown or malformed option, `--` — is
/// left to argument-parser, so usage text and usage errors stay the same.
enum HotPath {
    /// Runs a hot command and returns true, or returns false to hand `arguments` on.
    static func run(_ arguments: [String]) throws(BerthError) -> Bool {
        guard let name = arguments.first else { return false }
        switch name {
        case "attach":
            let single: Set = ["--netns", "--id", "--ip", "--mac", "--ifname", "--state-dir"]
            guard let parsed = parse(arguments.dropFirst(), single: single, repeated: ["-p": "--publish", "--publish": "--publish"]),
                  parsed.positionals.count == 1, let netns = parsed.values["--netns"] else { return false }
            try AttachCommand.perform(network: parsed.positionals[0], netns: netns, id: parsed.values["--id"], ip: parsed.values["--ip"],
                                      mac: parsed.values["--mac"], ifname: parsed.values["--ifname"] ?? "eth0",
                                      publish: parsed.lists["--publish"] ?? [], stateDir: parsed.values["--state-dir"])
            return true
        case "detach":
            guard let parsed = parse(arguments.dropFirst(), single: ["--state-dir"], repeated: [:]), !parsed.positionals.isEmpty else { return false }
            try DetachCommand.perform(ids: parsed.positionals, stateDir: parsed.values["--state-dir"])
            return true
        default:
            return false
        }
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
            }
            if word.hasPrefix("-") {
                guard single.contains(word) || repeated[word] != nil else { return nil }
                if value == nil {
                    index += 1
                    guard index < arguments.endIndex else { return nil }
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
