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
        let names = command.configuration.subcommands.filter { $0.configuration.shouldDisplay }.map { $0._commandName }
        let what = path.count == 1 ? "command" : "subcommand"
        let choices = path.count == 1 ? "" : "choose one of: \(names.joined(separator: ", ")); "
        return "unknown \(what) '\(word)' (\(choices)see '\(path.joined(separator: " ")) --help')"
    }

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
