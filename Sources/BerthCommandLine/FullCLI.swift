#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthNamespace

/// The full CLI binary, `berth-cli`, that the lean `berth` hands every other command to.
package enum FullCLI {
    /// The binary's file name; it is installed beside `berth`.
    package static let name = "berth-cli"

    /// `berth-cli` in the directory of the running binary (`/proc/self/exe`, so a symlink to
    /// `berth` elsewhere still finds it), or nil when that cannot be read.
    package static func path() -> String? { sibling(name) }

    /// The file `name` in the directory of the running binary — its real path
    /// (`SealedExecutable.path()`), also when this process runs a read-only view of it — or
    /// nil when `/proc/self/exe` cannot be read.
    package static func sibling(_ name: String) -> String? { SealedExecutable.sibling(name) }

    /// Replaces this process with `berth-cli`, given `arguments` (argv, argv[0] included)
    /// unchanged. Returns only by ending the process with a message when that fails: 127 when
    /// the binary is missing, 126 when it cannot be run, as env(1) and shells do — except for
    /// `berth run` and `berth exec`, whose 126 and 127 mean the container's command cannot be
    /// invoked or is not found (docs/run.md): for them it is berth that failed, 125, as
    /// `docker run` exits when the docker CLI itself does.
    package static func exec(_ arguments: [String]) -> Never {
        let containerCommand = arguments.count > 1 && (arguments[1] == "run" || arguments[1] == "exec")
        let missing: Int32 = containerCommand ? 125 : 127
        let unrunnable: Int32 = containerCommand ? 125 : 126
        guard let path = path() else {
            Output.error("cannot find \(name): /proc/self/exe is unreadable (is /proc mounted?)")
            Output.terminate(status: missing)
        }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        Output.resetBrokenPipe()
        if containerCommand {
            // berth-cli will spawn the container: exec'd through a read-only view of its
            // binary right away, so that its own `SealedExecutable.ensure()` need not exec it
            // again. Should no view be possible, the plain exec lets berth-cli say why.
            _ = SealedExecutable.exec(path, arguments: arguments)
        }
        execv(path, argv)
        let err = errno
        let reason = String(cString: strerror(err))
        if err == ENOENT {
            Output.error("cannot run \(path): \(reason) (berth runs every command but attach and detach through \(name), "
                         + "installed beside it: install both from the same build)")
            Output.terminate(status: missing)
        }
        Output.error("cannot run \(path): \(reason) (check that it is an executable file)")
        Output.terminate(status: unrunnable)
    }
}
