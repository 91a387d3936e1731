#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BerthCore
import BerthNetwork
import BerthOCIHook

// berth-oci-hook STAGE [--state-dir DIR]: Berth as an OCI runtime hook.
//
// A runtime runs it synchronously in a container's start (createRuntime) and deletion
// (poststop), with the container's state on stdin, only the environment the hook entry
// lists (no PATH) and the bundle as working directory. So it parses its few arguments by
// hand (no argument-parser), links no Foundation, runs no program but its own `_checkpoint`
// child and (for a network with DNS on) berth-dns, and prints nothing on success. Called as `berth-oci-runtime` (a link), or under
// any other name with runc's arguments (HookRole), it is docker's runtime wrapper.

enum Usage {
    static let text = """
    usage: berth-oci-hook STAGE [--state-dir DIR]

    An OCI runtime hook: connects a container's network namespace to a Berth network.
    The runtime writes the container's state (JSON) to stdin.

      createRuntime, prestart   attach the container, as its annotations say:
                                berth.network (default: berth), berth.publish (-p specs,
                                comma-separated), berth.ip, berth.ip6, berth.mac,
                                berth.name, berth.aliases (DNS names, comma-separated)
      poststop                  detach it, by container id (kept, saying so, while a
                                namespace the container joined by path is in use, or
                                while another live container of that id holds it)
      createContainer, startContainer, poststart
                                nothing (the state is checked)

      --state-dir DIR           Berth's state, an absolute path (default: $BERTH_STATE_DIR,
                                else /var/lib/berth)

    Called as berth-oci-runtime, as berth-oci-hook _runtime RUNC-ARGS..., or under any other
    name with runc's arguments, it is a runc wrapper for docker that adds these hooks.
    See docs/oci-hook.md.

    """
}

/// Writes to fd 1 or 2 with write(2): unbuffered, and no shared FILE* for strict concurrency.
func emit(_ text: String, to descriptor: Int32) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
}

func fail(_ message: String, status: Int32) -> Never {
    emit(message + "\n", to: 2)
    exit(status)
}

// All of the hook in a function, not top-level code: Swift 6 makes top-level code the main
// actor's, and its closures' executor checks linked Swift Concurrency and libdispatch into
// the binary, whose initializer (`libdispatch_init`: sysconf, two reads of
// /sys/devices/system/cpu/possible, sched_getaffinity) and relocations ran at every start
// (perf9).
func runHook() -> Never {
    Trace.mark("main")
    // The hook exits once its stage is done: a poststop's veth deletion (when the namespace
    // still exists) is handed to a child it does not wait for, as `berth detach` does; the
    // child closes every descriptor first, so the runtime reading our output is not held.
    SystemKernel.processExitsAfterDetach()
    SystemKernel.processRunsOneCommand()
    // The arguments straight from argv, and the program's name compared as C strings:
    // `CommandLine.arguments` and a `split` of argv[0] cost ~64,000 instructions in a call that
    // reads one word, this ~33,000 (the first `[String]`'s growth; perf8).
    var arguments: [String] = []
    arguments.reserveCapacity(Int(CommandLine.argc))
    for position in 1..<max(1, Int(CommandLine.argc)) {
        if let word = CommandLine.unsafeArgv[position] { arguments.append(String(cString: word)) }
    }
    let name: String = {
        guard CommandLine.argc > 0, let path = CommandLine.unsafeArgv[0] else { return HookRole.hookName }
        return String(cString: strrchr(path, 0x2F).map { $0 + 1 } ?? path) // after the last '/'
    }()

    // The wrapper by name (a link named berth-oci-runtime), by its first argument (the script
    // `berth hook install` writes when Berth's state is not in /var/lib/berth), or, under any
    // name but the hook's own, by arguments that are no hook's (a link named berth-runc).
    // No argument at all is the hook's unless stdin is a terminal (HookRole): an entry
    // whose args left out the program's name must fail, not run runc without the hooks.
    if case .wrapper(let runcArguments) = HookRole(name: name, arguments: arguments, standardInputIsTerminal: BoundedInput.isTerminal(0)) {
        let error = RuntimeWrapper.run(arguments: runcArguments)
        fail("berth-oci-runtime: \(error.description)", status: 1)
    }

    // The hook registered as docker's runtime by its own name: runc's arguments get advice,
    // not "unknown option --root".
    if let message = HookRole.runtimeMisregistered(arguments, program: CommandLine.argc > 0 ? CommandLine.unsafeArgv[0].map { String(cString: $0) } ?? "" : "") {
        fail(message, status: 2)
    }

    // `berth-oci-hook _checkpoint DIR`: the WAL checkpoint a stage deferred to a process of its
    // own (CheckpointLauncher). Runtimes call the hook with a stage name.
    if let directory = CheckpointLauncher.directory(arguments[...]) {
        exit(CheckpointLauncher.run(directory: directory, program: "berth-oci-hook"))
    }

    // One command and the process exits: SQLite allocates from an arena (StateStore.allocateForOneCommand),
    // as `berth attach` and `detach` do.
    StateStore.allocateForOneCommand()

    var stageName: String?
    var stateDirectory: String?
    var index = 0
    while index < arguments.count {
        let word = arguments[index]
        switch word {
        case "-h", "--help":
            emit(Usage.text, to: 1)
            exit(0)
        case "--state-dir":
            guard index + 1 < arguments.count else { fail("berth-oci-hook: --state-dir needs a directory\n\n" + Usage.text, status: 2) }
            stateDirectory = arguments[index + 1]
            index += 1
        case _ where word.hasPrefix("--state-dir="):
            stateDirectory = String(word.dropFirst("--state-dir=".count))
        case _ where word.hasPrefix("-"):
            fail("berth-oci-hook: unknown option \(word)\n\n" + Usage.text, status: 2)
        default:
            guard stageName == nil else { fail("berth-oci-hook: unexpected argument \(word)\n\n" + Usage.text, status: 2) }
            stageName = word
        }
        index += 1
    }

    guard let stageName else {
        // A hook entry written `"args": ["createRuntime"]` runs us as `createRuntime`.
        if let message = HookRole.stageAsProgramName(name) { fail(message, status: 2) }
        fail("berth-oci-hook: no stage given (in a hook entry \"args\"[0] is the program's name: \"args\": [\"berth-oci-hook\", \"createRuntime\"])\n\n"
             + Usage.text, status: 2)
    }
    let stage: HookStage
    do {
        stage = try HookStage(parsing: stageName)
    } catch {
        fail(HookMessages.describe(error, stage: nil), status: 2)
    }
    // A runtime runs hooks in the container's bundle: a relative state directory would be a
    // new, empty state in each bundle, and every container would get the same address.
    if let stateDirectory, !stateDirectory.isEmpty, !stateDirectory.hasPrefix("/") {
        fail("berth-oci-hook: \(stage): --state-dir \(stateDirectory) is not an absolute path: a runtime runs hooks in the container's bundle, so it would be a new state in each bundle (give --state-dir an absolute path, or leave it out for $BERTH_STATE_DIR, else /var/lib/berth)",
             status: 2)
    }
    if stateDirectory?.isEmpty ?? true, let value = getenv(StateStore.directoryEnvironmentVariable), value.pointee != 0, value.pointee != 0x2F {
        fail("berth-oci-hook: \(stage): \(StateStore.directoryEnvironmentVariable)=\(String(cString: value)) is not an absolute path: a runtime runs hooks in the container's bundle, so it would be a new state in each bundle (set \(StateStore.directoryEnvironmentVariable) to an absolute path in the hook's env, or leave it out for /var/lib/berth)",
             status: 2)
    }
    if BoundedInput.isTerminal(0) {
        fail("berth-oci-hook: \(stage): stdin is a terminal (a runtime writes the container's state there: run it from a runtime's hooks)", status: 2)
    }

    var containerID: String?
    do {
        let bytes = try BoundedInput.read(descriptor: 0, limit: OCIState.maxSize, what: "the container state (stdin)")
        Trace.mark("hook: state read")
        let state = try OCIState(parsing: bytes)
        containerID = state.id
        let outcome = try OCIHook(stateDirectory: stateDirectory, processExitsAfterwards: true).run(stage, state: state)
        Trace.mark("done")
        switch outcome {
        case .kept(let endpoint): emit(HookMessages.kept(endpoint) + "\n", to: 2)
        case .held(let endpoint): emit(HookMessages.held(endpoint) + "\n", to: 2)
        default: break
        }
    } catch {
        fail(HookMessages.describe(error, stage: stage, container: containerID), status: 1)
    }
    SystemKernel.lingerPastExit()
    exit(0)
}

runHook()
