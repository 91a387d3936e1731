import ArgumentParser
import Berth

/// `--state-dir DIR`: where Berth records networks and endpoints (else `BERTH_STATE_DIR`,
/// else /var/lib/berth).
struct StateOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Keep Berth's state in DIR (default: $BERTH_STATE_DIR or /var/lib/berth).", valueName: "DIR"))
    var stateDir: String?

    /// A manager over that state, working in berth's own network namespace (the host).
    func manager() throws(BerthError) -> NetworkManager {
        let manager = try NetworkManager(stateDirectory: stateDir)
        Trace.mark("state opened")
        return manager
    }
}
