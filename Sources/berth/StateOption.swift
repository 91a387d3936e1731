#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import Berth

/// `--state-dir DIR`: where Berth records networks and endpoints (else `BERTH_STATE_DIR`,
/// else /var/lib/berth).
struct StateOption: ParsableArguments {
    @Option(name: .customLong("state-dir"), help: ArgumentHelp("Keep Berth's state in DIR (default: $BERTH_STATE_DIR or /var/lib/berth).", valueName: "DIR"))
    var given: String?

    /// `--state-dir` from the root (a relative one from the working directory), as it is
    /// handed on: a detached supervisor must find the same directory wherever it runs. An
    /// empty one is not given (`StateStore.resolveDirectory` reads it so): a script's
    /// `--state-dir "$STATE"` with STATE unset means the default, for every command alike.
    var stateDir: String? { given.flatMap { $0.isEmpty ? nil : StateStore.absolute($0) } }

    /// A manager over that state, working in berth's own network namespace (the host).
    /// Creates the state directory on first use.
    func manager() throws(BerthError) -> NetworkManager {
        let manager = try NetworkManager(stateDirectory: stateDir)
        Trace.mark("state opened")
        return manager
    }

    /// `manager()` for a command that only reads (`ps`, `inspect`, `network ls`): a
    /// `--state-dir` that does not exist is refused, not made, so a mistyped path is not
    /// shown as an empty world. (The default directory, missing on a fresh machine, is
    /// made as before: its empty lists are the truth there.)
    func existingManager() throws(BerthError) -> NetworkManager {
        if let directory = stateDir, let refusal = Self.missing(directory) { throw refusal }
        return try manager()
    }

    /// `existingManager()` for a command that lists, or nil when nothing was ever recorded:
    /// no `--state-dir` or `BERTH_STATE_DIR`, and the default directory does not exist (a
    /// fresh machine). The caller shows its empty list then, and nothing is made (a user who
    /// could not create /var/lib/berth sees the empty list too, not a refusal).
    func recordedManager() throws(BerthError) -> NetworkManager? {
        if Self.nothingRecorded(given: stateDir, resolved: StateStore.resolveDirectory(), default: StateStore.defaultDirectory) { return nil }
        return try existingManager()
    }

    /// Whether the state is the default one and its directory does not exist.
    static func nothingRecorded(given: String?, resolved: String, default directory: String) -> Bool {
        given == nil && resolved == directory && missing(directory) != nil
    }

    /// The refusal of a `--state-dir` that does not exist; nil when something is there
    /// (whatever it is, the store's own checks judge it).
    static func missing(_ directory: String) -> BerthError? {
        var info = stat()
        guard lstat(directory, &info) != 0, errno == ENOENT else { return nil }
        return BerthError(.notFound, "state directory \(directory) does not exist",
                          hint: "check the --state-dir path; a command that records something, such as 'berth network create' or 'berth run', creates it",
                          object: .state(directory), parameter: "stateDirectory")
    }
}
