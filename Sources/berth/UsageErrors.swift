import ArgumentParser
import Berth

/// Usage errors in berth's own form, `berth: <what> (<fix>)` on one line, as every other
/// error: `berth: unknown option '-q' (see 'berth ps --help')`, in place of
/// argument-parser's `Error: Unknown option '-q'` and its usage block.
enum UsageErrors {
    /// The line for argument-parser's `message`, the usage error of `arguments`.
    static func line(_ message: String, arguments: [String]) -> String {
        var text = message.first.map { $0.lowercased() + message.dropFirst() } ?? message
        let see = "see '\(path(of: arguments).joined(separator: " ")) --help'"
        if let rewritten = iproute2Spelling(arguments) {
            return text + " (write it as '\(rewritten)': berth spells iproute2's words as options; " + see + ")"
        }
        // A message that carries its own advice in parentheses gets the pointer inside them.
        if text.hasSuffix(")") {
            text.removeLast()
            return text + "; " + see + ")"
        }
        return text + " (" + see + ")"
    }

    /// An unknown subcommand of a command that has subcommands (`berth network creat x`),
    /// with the subcommands to choose from; nil when `arguments` name no such thing.
    static func unknownSubcommand(in arguments: [String]) -> String? {
        let path = path(of: arguments)
        guard let command = command(at: path), command.configuration.defaultSubcommand == nil,
              !command.configuration.subcommands.isEmpty, arguments.count >= path.count else { return nil }
        let word = arguments[path.count - 1]
        guard !word.hasPrefix("-"), word != "help" else { return nil }
        // `docker network connect NET CONTAINER`: berth joins a namespace with attach.
        if path == ["berth", "network"], word == "connect" {
            return "unknown subcommand 'connect': berth attaches endpoints with its own commands ('berth attach NETWORK --netns /proc/PID/ns/net "
                + "--ifname eth1' joins a running container's namespace to a network; see 'berth attach --help')"
        }
        if path == ["berth", "network"], word == "disconnect" {
            return "unknown subcommand 'disconnect': berth detaches endpoints with its own commands ('berth detach ID' detaches an endpoint "
                + "'berth attach' made; a container leaves its own network when it stops; see 'berth detach --help')"
        }
        let names = command.configuration.subcommands.filter { $0.configuration.shouldDisplay }.map { $0._commandName }
        let what = path.count == 1 ? "command" : "subcommand"
        let choices = path.count == 1 ? "" : "choose one of: \(names.joined(separator: ", ")); "
        return "unknown \(what) '\(word)' (\(choices)see '\(path.joined(separator: " ")) --help')"
    }

    /// `--format` (docker's Go templates) among a command's options, said with berth's way
    /// of getting the same: `--json` where the command has it, and `inspect`'s JSON, which
    /// it always prints. Checked before parsing, so a network or container name argument
    /// does not hide it. Nil for any other command line (run and exec, whose command's
    /// words are its own, never).
    static func formatOption(in arguments: [String]) -> String? {
        let path = path(of: arguments)
        guard !["run", "exec"].contains(path.dropFirst().first ?? ""),
              let word = arguments.dropFirst(path.count - 1).prefix(while: { $0 != "--" }).first(where: { $0 == "--format" || $0.hasPrefix("--format=") }),
              let command = command(at: path) else { return nil }
        let see = "see '\(path.joined(separator: " ")) --help'"
        let name = word == "--format" ? word : "--format"
        if path == ["berth", "inspect"] {
            return "unknown option '\(name)': berth has no Go templates; 'berth inspect' prints JSON, which a JSON tool picks from "
                + "(as jq -r '.[0].State.Pid'; \(see))"
        }
        guard command.helpMessage().contains("--json") else { return nil }
        return "unknown option '\(name)': berth has no Go templates; '\(path.joined(separator: " ")) --json' prints every field, "
            + "which a JSON tool picks from (as jq -r '.[].name'; \(see))"
    }

    /// iproute2's words in an `addr`, `route` or `link` command line (`berth route add default
    /// via 10.0.0.1 dev eth0`, as `ip route add` takes it), rewritten as berth's options
    /// (`--via 10.0.0.1 --dev eth0`); nil when there are none. For `link`, whose link is its
    /// argument, `dev NAME` and `name NAME` are that argument; `address` is `--mac`, and
    /// `netns NS` is `--netns` for `link add` (the link is made there) and `--move-to` for
    /// `link set`. After `link add`'s `peer`, the words are the peer's, as iproute2 reads
    /// them: `peer name v1` (or `peer v1`) is `--peer v1`, and `netns NS` `--peer-netns NS`.
    static func iproute2Spelling(_ arguments: [String]) -> String? {
        let path = path(of: arguments)
        guard path.count == 3, ["addr", "route", "link"].contains(path[1]) else { return nil }
        var options: [String: String] = [:]
        var flags: Set<String> = []
        var positional: Set<String> = []
        switch path[1] {
        case "addr": options = ["dev": "--dev"]
        case "route": options = ["dev": "--dev", "via": "--via", "metric": "--metric", "table": "--table"]
        default:
            options = ["type": "--type", "mtu": "--mtu", "master": "--master", "address": "--mac"]
            if path[2] == "set" {
                options["netns"] = "--move-to"
                options["alias"] = "--alias"
            } else {
                options["netns"] = "--netns"
            }
            flags = ["up", "down", "nomaster"]
            positional = ["dev", "name"]
        }
        let peerOptions = ["name": "--peer", "netns": "--peer-netns"]
        var words = Array(arguments.prefix(path.count - 1))
        var changed = false
        // After `peer` in `link add`: the peer's words, its name first.
        var inPeer = false
        var peerNamed = false
        var index = path.count - 1
        while index < arguments.count {
            let word = arguments[index]
            let hasValue = index + 1 < arguments.count
            if word == "--" {
                words += arguments[index...]
                break
            }
            if word.hasPrefix("-") {
                // An option of berth's own and its value, as they are.
                words.append(word)
                if word.hasPrefix("--"), !word.contains("="), !Self.iproute2CommandFlags.contains(word), hasValue,
                   !arguments[index + 1].hasPrefix("-") {
                    index += 1
                    words.append(arguments[index])
                }
            } else if path[1] == "link", path[2] == "add", word == "peer", !inPeer {
                inPeer = true
                changed = true
            } else if inPeer, let option = peerOptions[word], hasValue {
                words += [option, arguments[index + 1]]
                if option == "--peer" { peerNamed = true }
                index += 1
            } else if inPeer, !peerNamed, options[word] == nil, !flags.contains(word) {
                // `peer v1`: iproute2 takes a first word that is no keyword as the peer's name.
                words += ["--peer", word]
                peerNamed = true
            } else if inPeer {
                // The peer's other settings (`address`, `mtu`) have no option here: kept as written.
                words.append(word)
            } else if let option = options[word], hasValue {
                words += [option, arguments[index + 1]]
                index += 1
                changed = true
            } else if flags.contains(word) {
                words.append("--" + word)
                changed = true
            } else if positional.contains(word), hasValue {
                // `ip link set dev eth0 up`: the link is berth's argument.
                changed = true
            } else {
                words.append(word)
            }
            index += 1
        }
        return changed ? (["berth"] + words).joined(separator: " ") : nil
    }

    /// The flags (options without a value) of `addr`, `route` and `link`.
    private static let iproute2CommandFlags: Set<String> = ["--nodad", "--up", "--down", "--nomaster", "--force", "--json", "--help"]

    /// `berth` and the commands `arguments` name, as far as they name any.
    static func path(of arguments: [String]) -> [String] {
        var path = ["berth"]
        var command: ParsableCommand.Type = Berth.self
        for word in arguments {
            guard let next = subcommand(of: command, named: word) else { break }
            path.append(next._commandName)
            command = next
        }
        return path
    }

    private static func command(at path: [String]) -> ParsableCommand.Type? {
        var command: ParsableCommand.Type = Berth.self
        for word in path.dropFirst() {
            guard let next = subcommand(of: command, named: word) else { return nil }
            command = next
        }
        return command
    }

    private static func subcommand(of command: ParsableCommand.Type, named word: String) -> ParsableCommand.Type? {
        command.configuration.subcommands.first { $0._commandName == word || $0.configuration.aliases.contains(word) }
    }
}
