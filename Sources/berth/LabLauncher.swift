#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser

/// `berth lab …` runs the `berth-lab` program that sits beside this binary: labs parse YAML
/// (Yams, Foundation), which must not load in the binary runtimes start per container.
enum LabLauncher {
    /// Replaces this process with `berth-lab ARGUMENTS`; prints an error and exits 1 when
    /// the program is missing.
    static func exec(_ arguments: [String]) -> Never {
        let path = directoryOfSelf() + "/berth-lab"
        var argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) }
        argv.append(nil)
        execv(path, &argv)
        let code = errno
        let reason = code == ENOENT ? "it is not there" : String(cString: strerror(code))
        Output.error("berth lab runs \(path), and \(reason); install berth-lab from the same build beside berth")
        Output.terminate(status: 1)
    }

    /// The directory of the running executable, from /proc/self/exe.
    private static func directoryOfSelf() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return "." }
        let path = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// `berth lab`: listed in `berth --help`; `HotPath.run` hands `berth lab …` to `LabLauncher`
/// before parsing, so this runs only when options come before `lab`.
struct LabCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab",
        abstract: "Declarative network labs from YAML files: up, down, ls, inspect, exec, graph, impair (runs berth-lab)."
    )
    @Argument(parsing: .allUnrecognized) var arguments: [String] = []

    func run() throws {
        LabLauncher.exec(arguments)
    }
}
