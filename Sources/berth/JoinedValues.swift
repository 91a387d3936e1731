import ArgumentParser

/// `-eFOO=1`: a short option with a joined value that holds '=', as docker's users write it.
/// argument-parser reads a single-dash word with '=' as a name and a value (`-eFOO`, `1`)
/// and refuses it; docker's pflag reads it as `-e FOO=1`. pflag also reads `-p=8080:80` as
/// `-p 8080:80`, where argument-parser would take `=8080:80` as the value. Before parsing,
/// `run` and `exec` get such words split in two — only among their options: the scan stops
/// at '--' and at the first word that is not an option (run's command, exec's container),
/// so the container's command keeps its arguments as written. Commands whose positionals
/// are names (`attach -p=…` and `-pKEY=…`, `kill -s=…`, `stop`/`restart -t=…`, `logs -n=…`,
/// `network create -o…`) get theirs split up to '--'.
enum JoinedValues {
    /// The short options of `run` whose value may be joined (all of them take one).
    static let runShort: Set<Character> = ["p", "h", "e", "w", "u", "v", "m", "c"]
    static let execShort: Set<Character> = ["e", "w", "u"]

    /// Options that take their value as the next word (anything else is a flag, whose
    /// next word may already be the command).
    static let runValues: Set<String> = [
        "--network", "--net", "-p", "--publish", "--name", "--network-alias", "--alias", "-h", "--hostname", "--ip", "--ip6", "--mac-address",
        "--rootfs", "-e", "--env", "--env-file", "-w", "--workdir", "-u", "--user", "-v", "--volume", "--restart", "--stop-signal", "--stop-timeout",
        "-m", "--memory", "--memory-swap", "--cpus", "-c", "--cpu-shares", "--cpuset-cpus", "--cpuset-mems", "--pids-limit", "--cap-add", "--cap-drop",
        "--security-opt", "--state-dir",
    ]
    static let execValues: Set<String> = ["-e", "--env", "-w", "--workdir", "-u", "--user", "--state-dir"]
    /// The flags of `run` and `exec`, which pflag takes with a value too (`--rm=false`).
    static let runFlags: Set<String> = ["-d", "--detach", "--rm", "--read-only", "-i", "--interactive", "-t", "--tty", "--privileged", "--init"]
    static let execFlags: Set<String> = ["-i", "--interactive", "-t", "--tty", "--privileged"]
    /// The short options that take a value of the commands whose every other word is an
    /// option, its value or a name (which cannot begin with '-').
    static let namedShort: [String: Set<Character>] = ["attach": ["p"], "kill": ["s"], "stop": ["t"], "restart": ["t"], "logs": ["n"]]
    /// The commands of `namedShort` whose joined value may hold '=': attach's `-p` takes the
    /// long form (`-ppublished=8080,target=80`, as docker's `-p`, and as the lean `berth`
    /// reads it), and attach has no other short option a word of '=' could be.
    static let namedJoinedEquals: Set<String> = ["attach"]

    static func split(_ given: [String]) throws -> [String] {
        let arguments = try booleanValues(given)
        if arguments.count > 2, arguments[0] == "network", arguments[1] == "create" { return splitNetworkCreate(arguments) }
        if let command = arguments.first, let short = namedShort[command] {
            return splitNamed(arguments, short: short, joinedEquals: namedJoinedEquals.contains(command))
        }
        guard let command = arguments.first, command == "run" || command == "exec" else { return arguments }
        let short = command == "run" ? runShort : execShort
        let values = command == "run" ? runValues : execValues
        let flags = command == "run" ? runFlags : execFlags
        var result = [command]
        var index = 1
        while index < arguments.count {
            let word = arguments[index]
            guard word != "--", word.hasPrefix("-"), word.count > 1 else { break }
            if values.contains(word) {
                result.append(word)
                if index + 1 < arguments.count { result.append(arguments[index + 1]) }
                index = min(index + 2, arguments.count)
                continue
            }
            if let flag = try booleanFlag(word, flags: flags) {
                result += flag
            } else if let pair = pflagPair(word, short: short, joinedEquals: true) {
                result += pair
            } else {
                result.append(word)
            }
            index += 1
        }
        return result + arguments[index...]
    }

    /// The flags of `network`'s commands, which docker's (pflag's) take with a value too.
    static let networkFlags: [String: Set<String>] = [
        "create": ["--ipv6", "--internal", "--bridge-existing"],
        "rm": ["-f", "--force"], "remove": ["-f", "--force"], "del": ["-f", "--force"], "prune": ["-f", "--force"],
        "ls": ["-q", "--quiet", "--json"], "list": ["-q", "--quiet", "--json"], "inspect": ["--json"],
    ]

    /// `network create --internal=true`, `network rm --force=false`: pflag takes a boolean
    /// flag's value joined by '=' (Go's ParseBool: true, false, 1, 0, t, f, …); argument-parser
    /// refuses any value of a flag but an empty one, which it takes as the flag. Such a word
    /// becomes the flag when true and goes when false (`booleanFlag`).
    static func booleanValues(_ arguments: [String]) throws -> [String] {
        guard arguments.count > 2, arguments[0] == "network", let flags = networkFlags[arguments[1]] else { return arguments }
        var result = Array(arguments.prefix(2))
        for (index, word) in arguments.enumerated().dropFirst(2) {
            if word == "--" { return result + arguments[index...] }
            let flag = try booleanFlag(word, flags: flags)
            // `--ipv6=false` is said, not dropped: with an IPv6 --subnet it is a contradiction
            // `network create` refuses (its hidden `--no-ipv6`), not a dual-stack network.
            if flag == [], arguments[1] == "create", word.hasPrefix("--ipv6=") {
                result.append(NetworkCommand.Create.ipv6Off)
                continue
            }
            result += flag ?? [word]
        }
        return result
    }

    /// `FLAG=VALUE` of one of `flags`: `[FLAG]` for a true value, `[]` for a false one; nil
    /// for any other word. Any other value, the empty one too (`--rm=`, which argument-parser
    /// would take as the flag), is refused as pflag refuses it.
    static func booleanFlag(_ word: String, flags: Set<String>) throws -> [String]? {
        guard let equals = word.firstIndex(of: "="), flags.contains(String(word[..<equals])) else { return nil }
        let flag = String(word[..<equals])
        let text = String(word[word.index(after: equals)...])
        guard let value = NetworkDriverOptions.bool(text) else {
            throw ValidationError("the flag '\(flag)' takes true or false after '=', but '\(text)' was given (\(flag)=true, \(flag)=false, or \(flag) alone)")
        }
        return value ? [flag] : []
    }

    /// A single-dash word of a short option in `short` that argument-parser would misread:
    /// `-X=VALUE` (pflag's `-X VALUE`) and, with `joinedEquals`, `-XVALUE` whose value holds
    /// '='. Nil for anything else.
    private static func pflagPair(_ word: String, short: Set<Character>, joinedEquals: Bool) -> [String]? {
        guard !word.hasPrefix("--"), word.hasPrefix("-") else { return nil }
        let letters = Array(word.dropFirst())
        guard letters.count > 1, short.contains(letters[0]) else { return nil }
        if letters[1] == "=" { return [String(word.prefix(2)), String(letters.dropFirst(2))] }
        guard joinedEquals, letters.contains("=") else { return nil }
        return [String(word.prefix(2)), String(letters.dropFirst())]
    }

    /// `attach web -p=8080:80`, `kill -s=KILL web`, and with `joinedEquals`
    /// `attach web -ppublished=8080,target=80`: up to '--'.
    private static func splitNamed(_ arguments: [String], short: Set<Character>, joinedEquals: Bool) -> [String] {
        var result = [arguments[0]]
        for (index, word) in arguments.enumerated().dropFirst() {
            if word == "--" { return result + arguments[index...] }
            result += pflagPair(word, short: short, joinedEquals: joinedEquals) ?? [word]
        }
        return result
    }

    /// `network create -ocom.docker.network.bridge.name=br0`, `-o=KEY=VALUE`, `-d=bridge`: every
    /// `-o` value holds '=' (KEY=VALUE), and a network name cannot begin with '-', so any such
    /// word before `--` is the option.
    private static func splitNetworkCreate(_ arguments: [String]) -> [String] {
        var result: [String] = []
        for (index, word) in arguments.enumerated() {
            if word == "--" { return result + arguments[index...] }
            if index > 1, let pair = pflagPair(word, short: ["o", "d"], joinedEquals: false) {
                result += pair
            } else if index > 1, word.hasPrefix("-o"), word.count > 2, word.contains("=") {
                result += ["-o", String(word.dropFirst(2))]
            } else {
                result.append(word)
            }
        }
        return result
    }
}
