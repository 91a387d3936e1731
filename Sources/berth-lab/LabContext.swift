#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import BerthCore
import BerthLab
import BerthLabFile
import BerthNetwork
import BerthRun

/// `--state-dir`, shared by every command.
struct StateOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Where Berth keeps its state (default: $BERTH_STATE_DIR or /var/lib/berth).", valueName: "DIR"))
    var stateDir: String?

    /// Labs over Berth's state, in this process's network namespace (the host). Run nodes'
    /// supervisors are `berth _supervise` from this program's directory: the lean binary
    /// that supervises `berth run -d` containers, not this one with its YAML parser.
    func manager() throws(BerthError) -> LabManager {
        let supervisor = Supervisor.Entry(executable: Self.directoryOfSelf() + "/berth", arguments: [Self.superviseCommand])
        return try LabManager(manager: NetworkManager(stateDirectory: stateDir), supervisor: supervisor)
    }

    /// berth's hidden entry into `Supervisor.main()` (its `RunCommand.superviseCommand`).
    static let superviseCommand = "_supervise"

    /// The directory of the running executable, from /proc/self/exe.
    static func directoryOfSelf() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return "." }
        let path = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// A lab named on the command line: a name, or the path of its file (anything with a '/' or
/// ending in .yaml/.yml, `LabFilePath.looksLikeFile`). Of a file that exists only its
/// `name:` is read, so that `down FILE` works after an edit that broke the rest of it; a
/// file that is gone, or whose name cannot be read, names the lab brought up from it (its
/// absolute path, as the record keeps it), from any directory.
enum LabArgument {
    static func name(_ argument: String, state: StateOptions) throws(BerthError) -> String {
        guard LabFilePath.looksLikeFile(argument) else { return argument }
        if access(argument, F_OK) == 0 {
            do {
                return try LabFileParser.name(path: argument)
            } catch {
                if let name = try? state.manager().lab(file: argument) { return name }
                throw error
            }
        }
        if let name = try state.manager().lab(file: argument) { return name }
        // A '/' is in no lab's name; `x.yaml` may be one (the manager says if there is none).
        guard !argument.contains("/") else {
            throw BerthError(.notFound, "there is no file \(argument), and no lab was brought up from \(LabFilePath.absolute(argument))",
                             object: .lab(argument), remedy: .listExisting(.lab))
        }
        return argument
    }

    static func isFile(_ argument: String) -> Bool {
        LabFilePath.looksLikeFile(argument) && access(argument, F_OK) == 0
    }
}

/// Prints a line on stdout.
func say(_ text: String) { print(text) }

/// Prints a line on stderr.
func printError(_ text: String) {
    let line = Array((text + "\n").utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

/// Ends the process with `status` (a free function: inside a command, `exit` names
/// argument-parser's).
func terminate(_ status: Int32) -> Never { exit(status) }
