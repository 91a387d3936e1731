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
    /// and a shell for a command. Its directory is this binary's, from `/proc/self/exe`:
    /// when that cannot be read, nothing else says where it is (never the current
    /// directory, whose `berth-lab` could be anyone's), so that is refused too.
    package static func exec(_ arguments: [String]) -> Never {
        guard let path = FullCLI.sibling(name) else {
            Output.error("cannot find \(name): /proc/self/exe is unreadable (mount /proc: berth runs \(name) from its own directory)")
            Output.terminate(status: 127)
        }
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
