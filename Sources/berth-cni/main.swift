// berth-cni: Berth as a CNI plugin (spec 0.3.0 to 1.1.0). The runtime runs it with the
// CNI_* environment and the network configuration on stdin; it prints the result or an
// error object on stdout and logs on stderr. Everything but the process edges lives in
// BerthCNI; this file reads the inputs, writes the output and exits.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCNI
import BerthNetwork

// All of the plugin in a function, not top-level code: Swift 6 makes top-level code the
// main actor's, and the executor checks of its closures linked Swift Concurrency and
// libdispatch into the binary, whose initializer (`libdispatch_init`) and relocations ran
// at every start (perf9, as for berth-oci-hook).
func runPlugin() -> Never {
    // A delegated IPAM plugin that exits without reading its stdin, or a runtime that stops
    // reading ours, must give EPIPE, not kill the plugin half-way through.
    signal(SIGPIPE, SIG_IGN)

    // `berth-cni _checkpoint DIR`: the WAL checkpoint an ADD or DEL deferred to a process of its
    // own (CheckpointLauncher). Runtimes run the plugin without arguments, so `argc` is looked
    // at first: `CommandLine.arguments` copies every argument into Swift strings.
    if CommandLine.argc > 1, let directory = CheckpointLauncher.directory(CommandLine.arguments.dropFirst()) {
        exit(CheckpointLauncher.run(directory: directory, program: "berth-cni"))
    }

    // Every invocation exits once its command is done: a DEL's veth deletion is handed to a
    // child the plugin does not wait for (init reaps it), as `berth detach` does. The child
    // closes every descriptor first, so the runtime reading our stdout is not held either.
    SystemKernel.processExitsAfterDetach()
    SystemKernel.processRunsOneCommand()

    // One command and the process exits: SQLite allocates from an arena (StateStore.allocateForOneCommand),
    // as `berth attach` and `detach` do.
    StateStore.allocateForOneCommand()

    // The `CNI_*` variables, read byte by byte from `environ` (see CNIVariables).
    let environment = CNIVariables.processEnvironment()

    var stdinError: CNIError?
    var stdin: [UInt8] = []
    do {
        stdin = try CNIInput.read(fd: 0)
    } catch {
        stdinError = error
    }

    let response = CNIPlugin.run(environment: environment, stdin: stdin, stdinError: stdinError, processExitsAfterwards: true)
    if !response.output.isEmpty {
        let bytes = Array((response.output + "\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { buffer in buffer.baseAddress.map { write(1, $0 + offset, buffer.count - offset) } ?? 0 }
            if written < 0, errno == EINTR { continue }
            if written <= 0 { break }
            offset += written
        }
    }
    SystemKernel.lingerPastExit()
    exit(response.exitCode)
}

runPlugin()
