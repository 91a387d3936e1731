#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `berth lab …` runs the `berth-lab` program that sits beside this binary: labs parse YAML
/// (Yams, Foundation), which must not load in the binaries runtimes start per container.
/// Both `berth` (through `HotPath`) and `berth-cli` (its `lab` command) hand over here.
package enum LabLauncher {
    /// The lab program's file name; it is installed beside `berth`.
    package static let name = "berth-lab"

    /// Replaces this process with `berth-lab ARGUMENTS`; prints an error and exits 127 when
    /// the program is missing (126 when it cannot be run), as `berth` does for `berth-cli`
    /// and a shell for a command.
    package static func exec(_ arguments: [String]) -> Never {
        let path = FullCLI.sibling(name) ?? "./\(name)"
        var argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) }
        argv.append(nil)
        Output.resetBrokenPipe()
        execv(path, &argv)
        let code = errno
        let reason = code == ENOENT ? "it is not there" : String(cString: strerror(code))
        Output.error("berth lab runs \(path), and \(reason); install berth-lab from the same build beside berth")
        Output.terminate(status: code == ENOENT ? 127 : 126)
    }
}
