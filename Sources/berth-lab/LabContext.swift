#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import BerthCore
import BerthLab
import BerthLabFile

/// `--state-dir`, shared by every command.
struct StateOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Where Berth keeps its state (default: $BERTH_STATE_DIR or /var/lib/berth).", valueName: "DIR"))
    var stateDir: String?

    func manager() throws(BerthError) -> LabManager {
        LabManager(store: try LabFileStore(stateDirectory: stateDir)) { text, source throws(BerthError) in
            try LabFileParser.parse(text, source: source)
        }
    }
}

/// A lab named on the command line: a name, or the path of its file (anything with a '/' or
/// ending in .yaml/.yml that exists).
enum LabArgument {
    static func name(_ argument: String) throws(BerthError) -> String {
        if isFile(argument) { return try LabFileParser.parse(path: argument).spec.name }
        return argument
    }

    static func isFile(_ argument: String) -> Bool {
        (argument.contains("/") || argument.hasSuffix(".yaml") || argument.hasSuffix(".yml")) && access(argument, F_OK) == 0
    }
}

/// Prints a line on stdout.
func say(_ text: String) { print(text) }
