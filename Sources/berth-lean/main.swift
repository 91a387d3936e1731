// berth: the binary runtimes run once per container start and stop.
//
// Lean on purpose: no argument-parser, no Foundation, so that its start-up is close to a
// plain Swift program's (docs/performance.md). It runs `attach`, `detach` and the detached
// supervisor's entry itself when their arguments are well-formed (`HotPath`), prints the
// version, and execs `berth-cli` — every command, parsed by argument-parser — with the same
// arguments for anything else: help, usage errors and every other command read exactly as
// they always have.

import BerthCore
import BerthCommandLine

// Before any output: a reader that went away makes a write fail, not the command.
Output.ignoreBrokenPipe()
let arguments = CommandLine.arguments
Trace.mark("main")
if arguments.count == 2, arguments[1] == "--version" {
    print(berthVersion)
    Output.terminate(status: 0)
}
do {
    if try HotPath.run(Array(arguments.dropFirst())) {
        Trace.mark("done")
        Output.terminate(status: 0)
    }
} catch {
    Output.error(CLIHints.message(for: error))
    Output.terminate(status: 1)
}
FullCLI.exec(arguments)
